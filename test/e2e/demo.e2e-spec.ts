// The reduced demo (`npm run demo -- --quick`) end to end: chain, coordinator and three silos as separate processes,
// three owners, a licensed buyer whose federated job completes and whose pulled model beats chance by far, and an
// unlicensed buyer refused before signing, with the reason and `licence buy`. Afterwards no process the demo started
// may be alive.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

interface DemoSummary {
  ok: boolean;
  failedStep?: string;
  error?: string;
  pids: number[];
  rounds: { round: number; accuracy: number; baselineAccuracy: number | null }[];
  evaluation: { accuracy: number; count: number };
  refusal: { exitCode: number; code: string; message: string };
  otherBuyerPull: { exitCode: number; code: string; message: string };
  model: { files: string[]; provenance: { datasets: string[]; rounds: number } };
  owners: { datasetId: string }[];
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

describe('npm run demo -- --quick', () => {
  let dir: string;
  let exitCode: number | null;
  let output = '';
  let summary: DemoSummary;
  let child: ReturnType<typeof spawn> | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-demo-'));
    child = spawn(
      process.execPath,
      // The demo compiles dist/ itself when a source is newer than its last build.
      [join(ROOT, 'scripts/demo.mjs'), '--quick', '--dir', join(dir, 'demo')],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const demo = child;
    demo.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    demo.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    exitCode = await new Promise<number | null>((resolve) => demo.once('close', (code) => resolve(code)));
    summary = JSON.parse(await readFile(join(dir, 'demo', 'summary.json'), 'utf8')) as DemoSummary;
  }, 900_000);

  afterAll(async () => {
    // A demo still running (the hook timed out) is stopped: it stops its own children on SIGTERM.
    if (child && child.exitCode === null && child.signalCode === null) {
      const closed = new Promise((resolve) => child!.once('close', resolve));
      child.kill('SIGTERM');
      await closed;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('completes and exits 0', () => {
    if (exitCode !== 0) throw new Error(`demo exited ${exitCode}:\n${output.slice(-4000)}`);
    expect(summary.ok).toBe(true);
  });

  it('trains a model far above chance that the buyer can load and evaluate', () => {
    expect(summary.rounds.map((r) => r.round)).toEqual([1, 2]);
    for (const r of summary.rounds) expect(r.accuracy).toBeGreaterThan(0.3);
    // 10 classes: chance is 0.1.
    expect(summary.evaluation.count).toBe(500);
    expect(summary.evaluation.accuracy).toBeGreaterThan(0.5);
    expect(summary.model.files).toEqual(expect.arrayContaining(['model.json', 'weights.bin']));
    expect(summary.model.provenance.rounds).toBe(2);
    expect([...summary.model.provenance.datasets].sort()).toEqual(summary.owners.map((o) => o.datasetId).sort());
  });

  it('refuses the buyer without licences before signing, naming `licence buy`', () => {
    expect(summary.refusal.exitCode).toBe(1);
    expect(summary.refusal.code).toBe('NO_LICENCE');
    expect(summary.refusal.message).toMatch(/no valid licence for datasets? .*`sealfold licence buy \d+`/);
  });

  it("trains on silos started from encrypted keystores: no plaintext key under any owner's home", async () => {
    const owners = (await readdir(join(dir, 'demo'))).filter((name) => name.startsWith('owner-'));
    expect(owners).toHaveLength(3);
    for (const owner of owners) {
      const files = (await readdir(join(dir, 'demo', owner), { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name));
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const text = (await readFile(file)).toString('latin1');
        expect({ file, ageSecret: /AGE-SECRET-KEY/i.test(text) }).toEqual({ file, ageSecret: false });
        // A wallet key in the clear is 32 bytes of hex after `privateKey`; the encrypted keystore has none.
        expect({ file, walletKey: /"privateKey"\s*:/.test(text) }).toEqual({ file, walletKey: false });
      }
    }
  });

  it("refuses the model to another wallet: the coordinator does not even say another buyer's model exists", () => {
    expect(summary.otherBuyerPull).toMatchObject({ exitCode: 1, code: 'MODEL_NOT_FOUND' });
    expect(summary.otherBuyerPull.message).toMatch(/no model for job [0-9a-f]{64} \(yet\)/);
  });

  it('leaves no process behind', () => {
    expect(summary.pids.length).toBeGreaterThanOrEqual(5);
    expect(summary.pids.filter(alive)).toEqual([]);
  });
});
