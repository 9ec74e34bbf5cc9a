import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';

const script = new URL('./check-deps.mjs', import.meta.url).pathname;
let root: string | undefined;

function tree(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'sealfold-deps-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function check(dir: string): { code: number; output: string } {
  try {
    return { code: 0, output: execFileSync(process.execPath, [script, dir], { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (error) {
    const e = error as { status: number; stderr: string };
    return { code: e.status, output: e.stderr };
  }
}

afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

describe('dependency check', () => {
  it('passes the project itself', () => {
    expect(check(new URL('..', import.meta.url).pathname)).toMatchObject({ code: 0 });
  });

  it('fails when a pure lib imports @nestjs/core', () => {
    const result = check(tree({ 'libs/secagg/src/index.ts': "import { NestFactory } from '@nestjs/core';\n" }));
    expect(result.code).toBe(1);
    expect(result.output).toContain('libs/secagg must not import @nestjs/core');
  });

  it('allows Nest in a lib that is not pure, and ignores imports inside comments', () => {
    const result = check(
      tree({
        'libs/storage/src/index.ts': "import { Injectable } from '@nestjs/common';\n",
        'libs/crypto/src/index.ts': "// import { NestFactory } from '@nestjs/core';\nexport const x = 1;\n",
      }),
    );
    expect(result.code).toBe(0);
  });

  it('fails when a lib imports an app', () => {
    const result = check(tree({ 'libs/crypto/src/index.ts': "import { x } from '../../../apps/cli/src/main.js';\n" }));
    expect(result).toMatchObject({ code: 1, output: expect.stringContaining('libs must not import apps') });
  });

  it('fails on an import cycle between libs, naming the path', () => {
    const result = check(
      tree({
        'libs/crypto/src/index.ts': "import { a } from '@sealfold/dataset';\n",
        'libs/dataset/src/index.ts': "export { b } from '@sealfold/storage';\n",
        'libs/storage/src/index.ts': "const m = await import('@sealfold/crypto');\n",
      }),
    );
    expect(result.code).toBe(1);
    expect(result.output).toContain('import cycle between libs: crypto -> dataset -> storage -> crypto');
  });

  it('fails on a relative import across libs', () => {
    const result = check(
      tree({
        'libs/crypto/src/index.ts': 'export {};\n',
        'libs/dataset/src/index.ts': "import { x } from '../../crypto/src/index.js';\n",
      }),
    );
    expect(result.output).toContain('import libs/crypto as @sealfold/crypto');
  });
});
