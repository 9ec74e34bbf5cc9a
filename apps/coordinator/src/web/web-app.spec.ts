import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultWebDir } from './web-app.js';

describe('defaultWebDir', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'sealfold-webdir-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("finds dist/web under Sealfold's package.json, also in the container layout (dist/ only, no apps/)", () => {
    // The image: /app/package.json and /app/dist/apps/coordinator/src/web/web-app.js, no sources.
    const image = join(root, 'app');
    const compiled = join(image, 'dist', 'apps', 'coordinator', 'src', 'web');
    mkdirSync(compiled, { recursive: true });
    writeFileSync(join(image, 'package.json'), JSON.stringify({ name: 'sealfold' }));
    // Another package's package.json in between (a dependency, a workspace) is not the root.
    writeFileSync(join(image, 'dist', 'package.json'), JSON.stringify({ name: 'other' }));
    expect(defaultWebDir(compiled)).toBe(join(image, 'dist', 'web'));
  });

  it('is null when no Sealfold package.json is above', () => {
    const lone = join(root, 'lone', 'dist', 'apps');
    mkdirSync(lone, { recursive: true });
    writeFileSync(join(root, 'package.json'), '{ not json');
    expect(defaultWebDir(lone)).toBeNull();
  });
});
