// The federated simulation harness at small size (bench/fl.ts at full size): 3 silos, each a real SiloJobRunner
// admitting a buyer-signed job on the embedded chain and training on its sealed MNIST shard, 3 rounds of FedAvg with
// real SecAgg+ clients (input = runner.trainRound) and server, federated evaluation through runner.evaluate.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { initBackend } from '@sealfold/fl';
import { SPEC, partition } from '../../bench/fl.js';
import { FlHarness, type JobRunResult } from '../../bench/lib/fl-harness.js';
import { loadMnist } from '../../libs/fl/test/datasets.js';

const TRAINING = { epochs: 3, batchSize: 16, optimizer: 'sgd' as const, learningRate: 0.1 };

describe('federated harness on real silo job runners (MNIST, SecAgg+, embedded chain)', () => {
  let harness: FlHarness;
  let datasets: bigint[];
  let secure: JobRunResult;
  let plain: JobRunResult;

  beforeAll(async () => {
    await initBackend();
    harness = await FlHarness.start({ owners: 3, validationFraction: 0.2 });
    datasets = await harness.addDatasets(partition(loadMnist(60, 0, 1), 3, true, 1), 'mnist-iid');
    const job = { datasets, spec: SPEC, training: TRAINING, rounds: 3 };
    secure = await harness.runJob({ ...job, aggregation: 'secagg' });
    plain = await harness.runJob({ ...job, aggregation: 'plain' });
  }, 120_000);

  afterAll(async () => {
    await harness?.close();
  });

  it('the federated model beats chance (10 %) by a wide margin on the silos’ held-out splits', () => {
    const last = secure.rounds[secure.rounds.length - 1];
    expect(last.evalCount).toBe(secure.pooledValidation.labels.length);
    expect(last.evalCount).toBeGreaterThanOrEqual(100);
    expect(last.accuracy).toBeGreaterThan(0.6);
    expect(last.loss).toBeLessThan(secure.rounds[0].loss);
    expect(plain.rounds[plain.rounds.length - 1].accuracy).toBeGreaterThan(0.6);
  });

  it('every SecAgg+ sum equals the plain sum of the same runner contributions within the quantiser step', () => {
    for (const r of secure.rounds) {
      expect(r.contributors).toBe(3);
      // No coordinate reached the quantiser's clipping range, so the only error is stochastic rounding (≤ 1 step).
      expect(r.maxAbsUpdate).toBeLessThan(secure.params!.clip);
      expect(r.sumError).not.toBeNull();
      expect(r.sumError!).toBeLessThanOrEqual(r.quantStep!);
      expect(r.sumError!).toBeGreaterThan(0); // the masks cancelled, the rounding did not vanish: a real sum
    }
  });

  it('the SecAgg+ run and the plain-sum run reach the same accuracy (same data, same runners)', () => {
    const a = secure.rounds[secure.rounds.length - 1].accuracy;
    const b = plain.rounds[plain.rounds.length - 1].accuracy;
    expect(Math.abs(a - b)).toBeLessThan(0.1);
  });

  it('each silo charged its ε ledger for every released round of both noiseless jobs (ε = ∞)', () => {
    for (const run of [secure, plain])
      for (let k = 0; k < 3; k++)
        expect(harness.ledgerOf(k).entry(run.licences[k], run.jobId)).toMatchObject({ rounds: 3, epsilon: Infinity });
  });
});
