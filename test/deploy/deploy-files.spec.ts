// Static checks of the deployment files (Dockerfile, compose.yaml): this repository's machines have no Docker engine,
// so nothing here builds or runs them. What can be checked without one is checked: every SEALFOLD_* they set is a
// variable the coordinator's configuration declares (apps/coordinator/src/config) and the README documents, the values
// the coordinators get pass that configuration's validation, and the structure the operator section promises holds
// (multi-stage build, non-root runtime, health check, two coordinators on one database, no secret in clear).
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORE_SCHEMA, load, mergeTag } from 'js-yaml';
import { CONFIG_VARIABLES, describeConfig, loadConfig } from '../../apps/coordinator/src/config/config.js';

const ROOT = join(import.meta.dirname, '..', '..');
// A plain .mjs script without type declarations: imported by URL, its one export typed here.
const { MALLOC_TUNABLES } = (await import(new URL('../../scripts/malloc-tuning.mjs', import.meta.url).href)) as {
  MALLOC_TUNABLES: string;
};
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const README = read('README.md');
const CONFIG_NAMES = new Set<string>(Object.values(CONFIG_VARIABLES).map((v) => v.name));
/** SEALFOLD_* variables of the CLI launcher (bin/sealfold.mjs), not the coordinator's; the README documents them. */
const CLI_NAMES = new Set(['SEALFOLD_CLI_NO_BUILD']);

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** Dockerfile instructions: continuation lines joined, comment lines dropped (Dockerfile reference, "Format"). */
function parseDockerfile(text: string): Instruction[][] {
  const logical: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) current += line.slice(0, -1) + ' ';
    else {
      current += line;
      if (current.trim() !== '') logical.push(current.trim());
      current = '';
    }
  }
  const stages: Instruction[][] = [];
  for (const l of logical) {
    const [, keyword, args] = /^(\S+)\s*(.*)$/s.exec(l)!;
    const instruction = { keyword: keyword.toUpperCase(), args };
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

/** The `KEY=value` pairs of an ENV instruction (values here have no spaces). */
function envPairs(args: string): Record<string, string> {
  return Object.fromEntries(args.split(/\s+/).map((p) => p.split(/=(.*)/s).slice(0, 2) as [string, string]));
}

type Service = {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  volumes?: string[];
  ports?: string[];
  healthcheck?: unknown;
};
type Compose = { services: Record<string, Service>; secrets?: Record<string, { file?: string }> };

const dockerfile = read('Dockerfile');
const stages = parseDockerfile(dockerfile);
const finalStage = stages.at(-1)!;
// Compose files may use YAML merge keys (`<<: *anchor`); js-yaml 5's default schema leaves them out.
const compose = load(read('compose.yaml'), { schema: CORE_SCHEMA.withTags(mergeTag) }) as Compose;
const coordinators = Object.entries(compose.services).filter(([name]) => /^coordinator-\d+$/.test(name));
/** `${NAME:?message}` → a stand-in value, as `docker compose` would interpolate it from .env. */
const interpolate = (value: string) => value.replace(/\$\{[A-Z_]+(?::?[?-][^}]*)?\}/g, 'placeholder');

describe('deployment files and the configuration table', () => {
  it('the README configuration table is the one the config module renders', () => {
    expect(README).toContain(describeConfig());
  });

  it('every SEALFOLD_* variable in the Dockerfile and compose.yaml is declared in the config or a documented CLI one', () => {
    const used = new Set(
      [...`${dockerfile}\n${read('compose.yaml')}`.matchAll(/\bSEALFOLD_[A-Z0-9_]+/g)].map((m) => m[0]),
    );
    expect(used.size).toBeGreaterThan(5);
    const unknown = [...used].filter((name) => !CONFIG_NAMES.has(name) && !CLI_NAMES.has(name));
    expect(unknown).toEqual([]);
    for (const name of CLI_NAMES) expect(README).toContain(`\`${name}`);
  });

  it('each coordinator service gets a configuration the coordinator accepts, with the image defaults under it', () => {
    const imageEnv = Object.assign({}, ...finalStage.filter((i) => i.keyword === 'ENV').map((i) => envPairs(i.args)));
    for (const [, service] of coordinators) {
      const env = Object.fromEntries(
        Object.entries({ ...imageEnv, ...service.environment }).map(([k, v]) => [k, interpolate(String(v))]),
      );
      const config = loadConfig(env);
      expect(config.databaseUrl).toMatch(/^postgres:\/\//);
      expect(config.host).toBe('0.0.0.0');
      // The published port maps onto the port the coordinator listens on.
      expect(service.ports?.every((p) => p.endsWith(`:${config.port}`))).toBe(true);
    }
  });
});

describe('Dockerfile', () => {
  it('is multi-stage: the runtime stage copies the build from an earlier stage and installs nothing itself', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const buildName = /\bAS\s+(\S+)/i.exec(stages[0][0].args)?.[1];
    expect(buildName).toBeDefined();
    expect(finalStage.some((i) => i.keyword === 'COPY' && i.args.includes(`--from=${buildName}`))).toBe(true);
    const build = stages[0].filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(build.some((r) => /npm ci\b/.test(r))).toBe(true);
    expect(build.some((r) => /npm run build\b/.test(r))).toBe(true);
    // Dev dependencies are pruned before node_modules is copied into the runtime stage.
    expect(build.some((r) => /npm prune --omit=dev\b/.test(r))).toBe(true);
    expect(finalStage.filter((i) => i.keyword === 'RUN').some((i) => /npm (ci|install)\b/.test(i.args))).toBe(false);
  });

  it('runs as a non-root user in the final stage', () => {
    const users = finalStage.filter((i) => i.keyword === 'USER').map((i) => i.args.split(':')[0]);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0']).not.toContain(users.at(-1));
  });

  it('health-checks the coordinator on its /health route, and that route exists', () => {
    const health = finalStage.find((i) => i.keyword === 'HEALTHCHECK');
    expect(health?.args).toMatch(/\/health\b/);
    expect(read('apps/coordinator/src/health/health.controller.ts')).toContain("@Controller('health')");
  });

  it('sets the malloc settings the servers would otherwise restart themselves for (scripts/malloc-tuning.mjs)', () => {
    const env = Object.assign({}, ...finalStage.filter((i) => i.keyword === 'ENV').map((i) => envPairs(i.args)));
    expect(env.GLIBC_TUNABLES).toBe(MALLOC_TUNABLES);
  });

  it('copies only files that exist, and runs entry points that exist', () => {
    for (const stage of stages)
      for (const i of stage.filter((x) => x.keyword === 'COPY' && !x.args.includes('--from=')))
        for (const src of i.args.split(/\s+/).slice(0, -1)) expect(existsSync(join(ROOT, src))).toBe(true);
    const cmd = JSON.parse(finalStage.find((i) => i.keyword === 'CMD')!.args) as string[];
    expect(existsSync(join(ROOT, cmd[1]))).toBe(true);
  });

  it('the runtime stage has every script its entry points import (the CLI launcher and the coordinator start)', () => {
    // The runtime stage copies scripts/ file by file: a script a launcher starts importing must be added there too,
    // or the image's `sealfold` fails at its first command (no test here can run the image).
    const copied = new Set(
      finalStage
        .filter((i) => i.keyword === 'COPY')
        .flatMap((i) =>
          i.args
            .split(/\s+/)
            .filter((a) => !a.startsWith('--'))
            .slice(0, -1),
        )
        .map((src) => src.replace(/^\/app\//, '')),
    );
    const needed = new Set<string>();
    const visit = (file: string) => {
      if (needed.has(file)) return;
      needed.add(file);
      for (const [, spec] of read(file).matchAll(/(?:import\(|from\s+|register\()\s*'(\.{1,2}\/[^']+\.mjs)'/g))
        visit(join(file, '..', spec));
    };
    visit('bin/sealfold.mjs');
    visit('scripts/start-coordinator.mjs');
    expect(needed.size).toBeGreaterThan(3);
    for (const file of needed)
      if (file.startsWith('scripts/')) expect({ file, copied: copied.has(file) }).toEqual({ file, copied: true });
  });
});

describe('compose.yaml', () => {
  it('has PostgreSQL, a Kubo node, an EVM node and at least two coordinators', () => {
    const images = Object.values(compose.services).map((s) => s.image ?? '');
    expect(images.some((i) => i.startsWith('postgres:'))).toBe(true);
    expect(images.some((i) => i.startsWith('ipfs/kubo:'))).toBe(true);
    expect(images.some((i) => i.startsWith('ghcr.io/foundry-rs/foundry:'))).toBe(true);
    expect(coordinators.length).toBeGreaterThanOrEqual(2);
  });

  it('the coordinators share one database, wallet, chain, deployment and content store, and nothing else', () => {
    const shared = [
      'SEALFOLD_DATABASE_URL',
      'SEALFOLD_COORDINATOR_KEY_FILE',
      'SEALFOLD_CHAIN_RPC',
      'SEALFOLD_CONTRACTS',
      'SEALFOLD_IPFS_API',
    ];
    for (const name of shared) {
      const values = new Set(coordinators.map(([, s]) => s.environment?.[name]));
      expect([name, values.size]).toEqual([name, 1]);
      expect([name, [...values][0]]).not.toEqual([name, undefined]);
    }
    const url = new URL(interpolate(coordinators[0][1].environment!.SEALFOLD_DATABASE_URL));
    expect(compose.services[url.hostname]?.image).toMatch(/^postgres:/);
    // Each coordinator has its own data volume (logs of its own, no SQLite shared by accident).
    const dataVolumes = coordinators.map(([, s]) => s.volumes?.find((v) => v.endsWith(':/var/lib/sealfold')));
    expect(new Set(dataVolumes).size).toBe(coordinators.length);
  });

  it('commits no secret in clear: passwords come from .env, keys from secret files that git ignores', () => {
    const text = read('compose.yaml');
    expect(text).not.toMatch(/0x[0-9a-fA-F]{64}/); // no private key
    for (const [name, service] of Object.entries(compose.services))
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        const v = String(value);
        if (/PASSWORD$|SECRET$|TOKEN$|_KEY$/.test(key))
          expect([name, key, v]).toEqual([name, key, expect.stringMatching(/^\$\{/)]);
        const userinfo = /^[a-z]+:\/\/[^/@:]+:([^@]*)@/.exec(v);
        if (userinfo) expect([name, key, userinfo[1]]).toEqual([name, key, expect.stringMatching(/^\$\{[A-Z_]+/)]);
      }
    const ignored = read('.gitignore').split('\n');
    expect(ignored).toContain('.env');
    for (const secret of Object.values(compose.secrets ?? {})) {
      const dir = secret.file!.replace(/^\.\//, '').split('/').slice(0, -1).join('/') + '/';
      expect(ignored).toContain(dir);
    }
    expect(read('deploy/.env.example')).toMatch(/^POSTGRES_PASSWORD=$/m);
  });
});
