import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { callCoordinator, coordinatorUrl, DEFAULT_COORDINATOR_URL, parseJobId } from './coordinator-api.js';
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
