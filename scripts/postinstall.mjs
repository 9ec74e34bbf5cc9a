// Completes what npm leaves out of this install: a native platform package and a peer dependency.
// (`npm install <pkg>` prunes both and does not run this script: run `npm run postinstall` after it.)
//
// npm decides optional dependencies with the Node it runs on. On machines whose system Node is 20, npm skips
// EDR's platform binary (its engines say Node >= 22) although every npm script of this project runs on the Node 22
// brought by the `node` devDependency. This script runs under that Node 22, finds the platform package EDR expects,
// fetches its tarball from the registry with `npm pack`, checks it against the integrity recorded in
// package-lock.json, and unpacks it. It does nothing when the binary is already present.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync, renameSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(join(root, 'package.json'));

function platformSuffix() {
  const { platform, arch } = process;
  if (platform === 'linux') {
    const glibc = process.report?.getReport()?.header?.glibcVersionRuntime;
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`;
  }
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

function completeNative(parent) {
  const parentDir = join(root, 'node_modules', parent);
  if (!existsSync(parentDir)) return;
  const { version } = JSON.parse(readFileSync(join(parentDir, 'package.json'), 'utf8'));
  const name = `${parent}-${platformSuffix()}`;
  const target = join(root, 'node_modules', name);
  if (existsSync(join(target, 'package.json'))) return;
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const entry = lock.packages?.[`node_modules/${name}`];
  if (!entry || entry.version !== version) {
    console.warn(`postinstall: ${name}@${version} is not in package-lock.json; skipping`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'sealfold-native-'));
  try {
    const out = execFileSync('npm', ['pack', `${name}@${version}`, '--pack-destination', work, '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [{ filename }] = JSON.parse(out);
    const tarball = join(work, filename.replace(/^@[^/]+\//, '').replace('/', '-'));
    const file = existsSync(tarball) ? tarball : join(work, filename);
    const [algo, expected] = entry.integrity.split(/-(.*)/s);
    const actual = createHash(algo).update(readFileSync(file)).digest('base64');
    if (actual !== expected) throw new Error(`integrity mismatch for ${name}@${version}`);
    execFileSync('tar', ['-xzf', file, '-C', work]);
    mkdirSync(join(root, 'node_modules', parent.split('/')[0]), { recursive: true });
    renameSync(join(work, 'package'), target);
    console.log(`postinstall: added ${name}@${version} (npm had skipped it)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// @nomicfoundation/hardhat-zod-utils needs zod 3 as a peer; with legacy-peer-deps (see .npmrc) npm does not install
// it, so it would resolve the project's zod 4 and Hardhat would crash validating its config. Point it at the zod 3
// that hardhat itself depends on.
function linkHardhatZod() {
  const utils = join(root, 'node_modules/@nomicfoundation/hardhat-zod-utils');
  const zod3 = join(root, 'node_modules/hardhat/node_modules/zod');
  const link = join(utils, 'node_modules/zod');
  if (!existsSync(utils) || !existsSync(zod3) || existsSync(link)) return;
  mkdirSync(join(utils, 'node_modules'), { recursive: true });
  symlinkSync('../../../hardhat/node_modules/zod', link, 'dir');
  console.log('postinstall: linked zod 3 for @nomicfoundation/hardhat-zod-utils');
}

completeNative('@nomicfoundation/edr');
linkHardhatZod();
// Fail the install early if the binding still does not load: every chain test depends on it.
require('@nomicfoundation/edr');
