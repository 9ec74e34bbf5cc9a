import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import {
  callCoordinator,
  coordinatorUrl,
  coordinatorUrls,
  DEFAULT_COORDINATOR_URL,
  parseJobId,
} from './coordinator-api.js';
import { CliError } from './errors.js';

describe('coordinatorUrl', () => {
  it('prefers the option, then SEALFOLD_COORDINATOR_URL, then the default', () => {
    expect(coordinatorUrl('http://a:1/', { SEALFOLD_COORDINATOR_URL: 'http://b:2' })).toBe('http://a:1');
    expect(coordinatorUrl(undefined, { SEALFOLD_COORDINATOR_URL: 'https://b:2/' })).toBe('https://b:2');
    expect(coordinatorUrl(undefined, {})).toBe(DEFAULT_COORDINATOR_URL);
  });

  it('refuses what is not an http(s) URL', () => {
    expect(() => coordinatorUrl('not a url', {})).toThrow(/not a URL/);
    expect(() => coordinatorUrl('ws://host:1', {})).toThrow(/must be http\(s\)/);
  });
});

describe('coordinatorUrls (silo start: every coordinator of a deployment)', () => {
  it('takes --coordinator repeated or comma-separated, else the variable (a list too), else the default', () => {
    expect(coordinatorUrls(['http://a:1/', 'http://b:2, http://c:3'], {})).toEqual([
      'http://a:1',
      'http://b:2',
      'http://c:3',
    ]);
    expect(coordinatorUrls(undefined, { SEALFOLD_COORDINATOR_URL: 'http://a:1,http://a:1/,https://b:2' })).toEqual([
      'http://a:1',
      'https://b:2',
    ]);
    expect(coordinatorUrls(undefined, {})).toEqual([DEFAULT_COORDINATOR_URL]);
  });

  it('refuses a bad entry and an empty list', () => {
    expect(() => coordinatorUrls(['http://a:1,ws://b:2'], {})).toThrow(/must be http\(s\)/);
    expect(() => coordinatorUrls([' , '], {})).toThrow(/names no URL/);
  });
});

describe('parseJobId', () => {
  const id = 'ab'.repeat(32);
  it('accepts 64 hex digits, with or without 0x, in any case', () => {
    expect(parseJobId(id)).toBe(id);
    expect(parseJobId(`0x${id.toUpperCase()}`)).toBe(id);
  });
  it('refuses anything else', () => {
    for (const bad of ['', 'ab', `${id}0`, 'zz'.repeat(32)]) expect(() => parseJobId(bad)).toThrow(CliError);
  });
});

describe('callCoordinator', () => {
  it('reports an unreachable coordinator as a user error naming the URL', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const base = `http://127.0.0.1:${port}`;
    const error = await callCoordinator(base, 'GET', '/jobs').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).code).toBe('COORDINATOR_UNREACHABLE');
    expect((error as CliError).exitCode).toBe(1);
    expect((error as CliError).message).toContain(base);
  });
});
