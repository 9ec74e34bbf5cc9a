// One federated round with SecAgg+ against the same round without it, over the REAL transport: the embedded chain,
// an embedded content store with sealed MNIST shards, the coordinator (NestJS, WebSocket gateway, port 0) and 10 real
// silos (apps/silo startSilo: SiloClient over ws, SiloJobRunner checking licences on chain, tfjs training), all in
// this process. Model 784→128→10 dense (d = 101 770), 1 local epoch. Two shard sizes, each a job per mode:
//  - the target figure: 800 images per silo (`--per-digit 80`), a shard like the demo's (each owner seals 1000 rows;
//    80 per digit is near what MNIST's 10 000 images allow for 10 silos);
//  - SecAgg+'s fixed cost: 30 images per silo (`--small-per-digit 3`), where local training is a single batch and
//    the round is almost nothing but the protocol. Printed without a target, beside the absolute overhead per silo.
// The figures are the median round time of rounds 2..R (round 1 also carries the offers, the admission checks and
// the once-per-job certificate checks), bytes per silo per round from the coordinator's wire counters, and the CPU
// time of the whole process (coordinator + 10 silos) per round. All 10 silos share this process's one event loop, so
// their SecAgg+ work adds up here; across 10 machines it would run side by side.
//
//   npm run bench -- round [--json] [--rounds R] [--repeats K] [--silos N] [--per-digit K] [--small-per-digit K]
//                          [--owner-cache]
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { connectChain, sealfoldDomain, signJobRequest, startEmbeddedChain, type SealfoldChain } from '@sealfold/chain';
import { X25519Identity } from '@sealfold/crypto';
import { initialWeights, modelSpecHash } from '@sealfold/fl';
import {
  dpParamsFromFloats,
  jobRequestToJson,
  jobSchemaHash,
  jobTraining,
  type JobRequest,
  NO_ESCROW,
} from '@sealfold/protocol';
import { EmbeddedIpfsStore } from '@sealfold/storage';
import { Wallet } from 'ethers';
import { pino } from 'pino';
import { startCoordinator, type RunningCoordinator } from '../apps/coordinator/src/bootstrap.js';
import { loadOrCreateKey } from '../apps/coordinator/src/chain/chain.adapter.js';
import { loadConfig } from '../apps/coordinator/src/config/config.js';
import { RoundsRepository } from '../apps/coordinator/src/rounds/rounds.repository.js';
import { startSilo, type RunningSilo } from '../apps/silo/src/bootstrap.js';
import { sealAndRegisterShard, shardJobSchema, shardSchema } from '../test/e2e/helpers/sealed-shard.js';
import { authed, signIn } from '../test/e2e/helpers/session.js';
import { loadMnist } from '../libs/fl/test/datasets.js';
import { figure, median, report, wantsJson } from './lib/report.js';
import { positiveIntegerArg } from './lib/args.js';

const SILOS = positiveIntegerArg('silos', 10);
const ROUNDS = positiveIntegerArg('rounds', 4);
const REPEATS = positiveIntegerArg('repeats', 3);
/** `--per-digit K` (default 80): images per digit in each silo's shard for the target figure. */
const PER_DIGIT = positiveIntegerArg('per-digit', 80);
/** `--small-per-digit K` (default 3): the same for the fixed-cost figure, where training is nearly empty. */
const SMALL_PER_DIGIT = positiveIntegerArg('small-per-digit', 3);
/** Images of the rarest digit in the mnist package (863 fives): each silo takes its own slice of every digit. */
const MNIST_RAREST_DIGIT = 863;
if (SILOS * PER_DIGIT > MNIST_RAREST_DIGIT)
  throw new RangeError(
    `--silos × --per-digit must be ≤ ${MNIST_RAREST_DIGIT} (MNIST's fives): got ${SILOS * PER_DIGIT}`,
  );
if (SMALL_PER_DIGIT > PER_DIGIT) throw new RangeError('--small-per-digit must be ≤ --per-digit');
/**
 * `--owner-cache`: each silo memoises `chain.ownerOf` (what SiloClient.onRoster asks per roster member, in
 * parallel). Since the coordinator sends a roster only when it changes this matters for round 1 only (excluded from
 * the medians); it shows what caching owners in apps/silo would save there. Off by default.
 */
const OWNER_CACHE = process.argv.includes('--owner-cache');
const SPEC = {
  inputShape: [784],
  layers: [
    { type: 'dense', units: 128, activation: 'relu' },
    { type: 'dense', units: 10, activation: 'softmax' },
  ],
};
const TRAINING = { localEpochs: 1, batchSize: 32, learningRate: 0.1, updateClip: 1, maxWeight: 10_000 };
const say = (s: string) => {
  if (!wantsJson()) console.log(s);
};

const SCHEMA = shardSchema(784, 10);
const JOB_SCHEMA = shardJobSchema(784, 10);

/** Sums of a counter or histogram-sum line of the Prometheus text, by one label value. */
function metric(text: string, name: string, label: string, value: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(`${label}="${value}"`)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** The chain client with `ownerOf` memoised (every other call goes to the real client). */
function withOwnerCache(chain: SealfoldChain): SealfoldChain {
  const cache = new Map<string, ReturnType<SealfoldChain['ownerOf']>>();
  return new Proxy(chain, {
    get(target, key) {
      if (key === 'ownerOf')
        return (id: bigint) => {
          let hit = cache.get(String(id));
          if (!hit) cache.set(String(id), (hit = target.ownerOf(id)));
          return hit;
        };
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A shard size: the datasets its owners registered. */
interface Workload {
  readonly perDigit: number;
  readonly datasets: bigint[];
}

interface JobFigures {
  roundMs: number[];
  /** Non-evaluation stages per round (training inside them included), seconds. */
  aggregateS: number;
  /** Mean seconds per round of each stage (evaluation included). */
  stageS: Record<string, number>;
  bytesInPerSilo: number;
  bytesOutPerSilo: number;
  cpuMsPerRound: number;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sealfold-bench-round-'));
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const coordinatorKey = loadOrCreateKey(join(dir, 'coordinator', 'coordinator.key'));
    const coordinatorAddress = new Wallet(coordinatorKey).address;
    const chain = await startEmbeddedChain({
      dataDir: join(dir, 'chain-data'),
      accountCount: SILOS + 2,
      recorders: [coordinatorAddress],
    });
    closers.push(() => chain.close());
    const clients: SealfoldChain[] = [];
    const client = async (k: number) => {
      const c = await connectChain({ embedded: chain, signer: chain.accounts[k].privateKey });
      clients.push(c);
      return c;
    };
    closers.push(async () => clients.forEach((c) => c.close()));
    const funder = new Wallet(chain.accounts[0].privateKey, (await client(0)).provider);
    await (await funder.sendTransaction({ to: coordinatorAddress, value: 10n ** 18n })).wait();
    const store = await EmbeddedIpfsStore.open(join(dir, 'ipfs'));
    closers.push(() => store.close());
    const buyerKey = chain.accounts[SILOS + 1].privateKey;
    const buyer = { wallet: new Wallet(buyerKey), chain: await client(SILOS + 1) };
    const domain = sealfoldDomain(chain.chainId, buyer.chain.addresses!.datasetLicence);

    // Each owner seals two shards (age to its own key): a slice of every digit, and the first images of that slice.
    const owners: { wallet: Wallet; chain: SealfoldChain; identity: X25519Identity }[] = [];
    const main: Workload = { perDigit: PER_DIGIT, datasets: [] };
    const small: Workload = { perDigit: SMALL_PER_DIGIT, datasets: [] };
    for (let k = 1; k <= SILOS; k++) {
      const identity = X25519Identity.generate();
      const wallet = new Wallet(chain.accounts[k].privateKey);
      const ownerChain = await client(k);
      for (const workload of [main, small]) {
        const { datasetId } = await sealAndRegisterShard({
          data: loadMnist(workload.perDigit, (k - 1) * PER_DIGIT, k),
          // The small workload has fewer than 10 images per digit: its owner publishes the digit classes at k = 1.
          schema: workload.perDigit < 10 ? { ...SCHEMA, k: 1 } : SCHEMA,
          name: `mnist-${k}-${workload.perDigit * 10}`,
          description: `MNIST shard ${k} of ${SILOS}, ${workload.perDigit * 10} images`,
          owner: { address: wallet.address, identity, chain: ownerChain },
          store,
          maxJobs: 100,
        });
        workload.datasets.push(datasetId);
      }
      owners.push({ wallet, chain: ownerChain, identity });
    }

    const coordinator: RunningCoordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: chain.rpcUrl,
        SEALFOLD_CONTRACTS: join(dir, 'chain-data', 'chain', 'deployment.json'),
        SEALFOLD_STAGE_TIMEOUT_MS: '60000',
        SEALFOLD_TRAIN_TIMEOUT_MS: '120000',
        SEALFOLD_MIN_SILOS: String(SILOS),
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      { logDestination: new PassThrough() },
    );
    closers.push(() => coordinator.close());
    // Job reads need the buyer's read session (EIP-4361 sign-in).
    const readAsBuyer = authed(await signIn(coordinator.url, buyer.wallet));

    const silos: RunningSilo[] = [];
    closers.push(async () => {
      for (const s of silos) await s.close();
    });
    for (const [k, o] of owners.entries()) {
      const stateDir = join(dir, `silo-${k + 1}`);
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      silos.push(
        await startSilo({
          coordinatorUrl: coordinator.url,
          wallet: o.wallet,
          identities: [o.identity],
          chain: OWNER_CACHE ? withOwnerCache(o.chain) : o.chain,
          store,
          datasets: [main.datasets[k], small.datasets[k]],
          stateDir,
          logger: pino({ level: 'silent' }),
          // The owner allows plain aggregation: the baseline needs it (a default silo refuses with secagg-required).
          allowPlainAggregation: true,
        }),
      );
    }
    await Promise.all(silos.map((s) => s.client.ready(60_000)));
    const d = initialWeights(SPEC, 'bench').length;
    say(
      `${SILOS} real silos over WebSocket, model 784-128-10 (d = ${d}), ${PER_DIGIT * 10} and ${SMALL_PER_DIGIT * 10} ` +
        `MNIST images per silo (90 % trained, 1 epoch), ${ROUNDS} rounds per job, ${REPEATS} job(s) per mode and ` +
        `shard size, medians of rounds 2..${ROUNDS}` +
        (OWNER_CACHE ? '; silos cache on-chain dataset owners (--owner-cache)' : ''),
    );

    let nonce = 0n;
    const roundsRepo = coordinator.app.get(RoundsRepository);
    const runJob = async (workload: Workload, secureAggregation: boolean): Promise<JobFigures> => {
      const licences: bigint[] = [];
      for (const id of workload.datasets) licences.push((await buyer.chain.purchaseLicence(id)).licenceId);
      const request: JobRequest = {
        buyer: buyer.wallet.address,
        coordinator: coordinatorAddress,
        datasets: workload.datasets,
        licences,
        modelSpecHash: modelSpecHash(SPEC),
        jobSchemaHash: jobSchemaHash(JOB_SCHEMA),
        recipient: X25519Identity.generate().recipient.toString(),
        strategy: 'fedavg',
        rounds: ROUNDS,
        // Adam (jobTraining's default): the optimizer the silos used before it was signed.
        training: jobTraining(TRAINING),
        dp: dpParamsFromFloats({ noiseMultiplier: 0, clipNorm: 0, delta: 0 }),
        secagg: { enabled: secureAggregation, minContributors: 3 },
        escrow: NO_ESCROW,
        nonce: nonce++,
        deadline: BigInt(Math.floor(Date.now() / 1000) + 3600),
        chainId: chain.chainId,
      };
      const signature = await signJobRequest(buyer.wallet, domain, request);
      const before = await (await fetch(`${coordinator.url}/metrics`)).text();
      const cpu = process.cpuUsage();
      const res = await fetch(`${coordinator.url}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request: jobRequestToJson(request), signature, modelSpec: SPEC, jobSchema: JOB_SCHEMA }),
      });
      if (res.status !== 201) throw new Error(`POST /jobs: ${res.status} ${await res.text()}`);
      const { id } = (await res.json()) as { id: string };
      for (;;) {
        const job = (await (await readAsBuyer(`${coordinator.url}/jobs/${id}`)).json()) as {
          status: string;
          reason: string | null;
        };
        if (job.status === 'completed') break;
        if (job.status === 'failed' || job.status === 'cancelled')
          throw new Error(`job ${id} ${job.status}: ${job.reason}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const used = process.cpuUsage(cpu);
      const after = await (await fetch(`${coordinator.url}/metrics`)).text();
      const rounds = await roundsRepo.rounds(id);
      if (rounds.length !== ROUNDS || rounds.some((r) => r.participants !== SILOS))
        throw new Error(`job ${id}: ${JSON.stringify(rounds)}`);
      const delta = (name: string, label: string, value: string) =>
        metric(after, name, label, value) - metric(before, name, label, value);
      const stages = secureAggregation
        ? ['advertise-keys', 'share-keys', 'masked-input', 'consistency-signature', 'unmask-shares']
        : ['plain-update'];
      const aggregateS =
        stages.reduce((a, s) => a + delta('sealfold_round_stage_duration_seconds_sum', 'stage', s), 0) / ROUNDS;
      const stageS = Object.fromEntries(
        [...stages, 'evaluate'].map((s) => [
          s,
          delta('sealfold_round_stage_duration_seconds_sum', 'stage', s) / ROUNDS,
        ]),
      );
      return {
        stageS,
        roundMs: rounds.slice(1).map((r) => r.finishedAt - r.startedAt),
        aggregateS,
        bytesInPerSilo: delta('sealfold_wire_bytes_total', 'direction', 'in') / ROUNDS / SILOS,
        bytesOutPerSilo: delta('sealfold_wire_bytes_total', 'direction', 'out') / ROUNDS / SILOS,
        cpuMsPerRound: (used.user + used.system) / 1000 / ROUNDS,
      };
    };

    const measure = async (workload: Workload) => {
      const secure: JobFigures[] = [];
      const plain: JobFigures[] = [];
      for (let r = 0; r < REPEATS; r++) {
        // Alternate the modes, and which goes first, so that load from other processes falls on both.
        const pair = [
          [true, secure],
          [false, plain],
        ] as const;
        for (const [mode, jobs] of r % 2 === 0 ? pair : [...pair].reverse()) {
          jobs.push(await runJob(workload, mode));
          const rounds = jobs.at(-1)!.roundMs.map((x) => x.toFixed(0));
          say(
            `  ${workload.perDigit * 10} images, ${mode ? 'SecAgg+' : 'plain  '} job ${r + 1}: rounds ${rounds.join(', ')} ms`,
          );
        }
      }
      const stageLine = (xs: JobFigures[]) =>
        Object.keys(xs[0].stageS)
          .map((s) => `${s} ${median(xs.map((j) => j.stageS[s] * 1000)).toFixed(0)}`)
          .join(', ');
      say(`  stages (ms per round, all rounds): SecAgg+ ${stageLine(secure)}; plain ${stageLine(plain)}`);
      return { secure, plain };
    };
    // Warm-up, not measured: one job per mode, so that neither pays for the process's first JIT and tfjs kernels.
    for (const mode of [true, false]) await runJob(small, mode);
    const big = await measure(main);
    const tiny = await measure(small);
    const med = (xs: JobFigures[], f: (j: JobFigures) => number[]) => median(xs.flatMap(f));
    const roundMs = (xs: JobFigures[]) => med(xs, (j) => j.roundMs);
    const overheadPerSilo = (w: typeof big) => (roundMs(w.secure) - roundMs(w.plain)) / SILOS;
    report('round', [
      figure(
        `round, ${SILOS} silos × ${PER_DIGIT * 10} images, d=${d}, SecAgg+ vs plain (median wall)`,
        roundMs(big.secure),
        'ms',
        roundMs(big.plain),
        { op: '<=', of: 'ratio', value: 1.25 },
      ),
      figure(
        `round, ${SILOS} silos × ${SMALL_PER_DIGIT * 10} images (training ≈ one batch): SecAgg+ fixed cost`,
        roundMs(tiny.secure),
        'ms',
        roundMs(tiny.plain),
      ),
      figure(
        `SecAgg+ wall time added per silo per round, ${PER_DIGIT * 10} vs ${SMALL_PER_DIGIT * 10} images (shared loop)`,
        overheadPerSilo(big),
        'ms',
        overheadPerSilo(tiny),
      ),
      figure(
        'aggregation stages incl. local training, mean over rounds 1..R (wall)',
        med(big.secure, (j) => [j.aggregateS * 1000]),
        'ms',
        med(big.plain, (j) => [j.aggregateS * 1000]),
      ),
      figure(
        `CPU time per round, whole process (coordinator + ${SILOS} silos)`,
        med(big.secure, (j) => [j.cpuMsPerRound]),
        'ms',
        med(big.plain, (j) => [j.cpuMsPerRound]),
      ),
      figure(
        'bytes per silo per round, silo → coordinator',
        med(big.secure, (j) => [j.bytesInPerSilo]),
        'B',
        med(big.plain, (j) => [j.bytesInPerSilo]),
      ),
      figure(
        'bytes per silo per round, coordinator → silo',
        med(big.secure, (j) => [j.bytesOutPerSilo]),
        'B',
        med(big.plain, (j) => [j.bytesOutPerSilo]),
      ),
    ]);
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
