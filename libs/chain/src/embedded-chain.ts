// The embedded development chain: EDR (Hardhat's Rust EVM) in process, served as JSON-RPC over HTTP on 127.0.0.1.
//
// EDR cannot dump or load state, so the chain's state is its history: every accepted state-changing request
// (eth_sendRawTransaction, evm_mine, evm_increaseTime) is journaled with the timestamp of the block it produced
// (journal.ts), and a restart replays the journal block by block with the same timestamps, checking that every replayed
// transaction and block hash equals the recorded one. The block hash commits to the state and receipts roots, so a
// matching hash proves the replayed state is the recorded one.
//
// Only signed raw transactions change state from outside: eth_sendTransaction/eth_sign* are refused (no unlocked
// accounts), as are hardhat_* state overrides and evm_snapshot/evm_revert, which a journal cannot express.
import { mkdirSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { HDNodeWallet, Mnemonic, Transaction, getAddress, getBytes } from 'ethers';
import type * as Edr from '@nomicfoundation/edr';
import { readDeploymentFile } from './client.js';
import { ChainError, InvalidArgumentError, ReplayMismatchError } from './errors.js';
import { JournalWriter, readJournal } from './journal.js';
import { writeFileAtomic } from './fs-atomic.js';

/** Hardhat's well-known development mnemonic: its keys are public, never use them on a real network. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const DEFAULT_CHAIN_ID = 31337n;
export const DEFAULT_BLOCK_GAS_LIMIT = 30_000_000n;
const DEFAULT_ACCOUNTS = 10;
const DEV_BALANCE = 10_000n * 10n ** 18n;
const HARDFORK = 'prague';
const INITIAL_BASE_FEE = 1_000_000_000n;
const COINBASE = '0xc014ba5ec014ba5ec014ba5ec014ba5ec014ba5e';
const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** An RPC socket with no traffic this long is closed (its request timeouts are off: see the server below). */
const SOCKET_IDLE_MS = 300_000;
const META_VERSION = 1;

export interface DevAccount {
  address: string;
  /** Derived from the (public) dev mnemonic; for local development only. */
  privateKey: string;
}

export interface EmbeddedChainOptions {
  /** Root data directory; the chain keeps `<dataDir>/chain/{chain.json,journal.bin,deployment.json}`. */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  chainId?: bigint | number;
  mnemonic?: string;
  accountCount?: number;
  blockGasLimit?: bigint;
  /**
   * Called once on a fresh chain (no deployment.json yet) with the running chain; returns the addresses to save in
   * `<dataDir>/chain/deployment.json`. `startEmbeddedChain` in index.ts passes the Sealfold deployer.
   */
  deploy?: (chain: RunningChainCore) => Promise<{ contracts: Record<string, string>; deployBlock?: bigint }>;
  /**
   * Digest of the contracts `deploy` deploys (their creation bytecode), written into deployment.json. A later start
   * with another digest is refused (STALE_DEPLOYMENT): the client's ABIs would not match the contracts on this chain,
   * and calls would fail later with undecodable answers.
   */
  contractsDigest?: string;
}

/** What the deploy hook may use: the chain before its deployment exists. */
export interface RunningChainCore {
  rpcUrl: string;
  chainId: bigint;
  accounts: readonly DevAccount[];
  /** In-process JSON-RPC (same rules and journaling as the HTTP endpoint). */
  request(method: string, params?: unknown[]): Promise<unknown>;
}

export interface Deployment {
  chainId: string;
  deployedAt: string;
  /** Block of the first deployment transaction (decimal string): where log scans start. */
  deployBlock?: string;
  /** Contract name → address, e.g. { DatasetNFT, DatasetLicence, ModelRegistry }. */
  contracts: Record<string, string>;
  /** `EmbeddedChainOptions.contractsDigest` at deployment. */
  contractsDigest?: string;
}

export interface EmbeddedChain extends RunningChainCore {
  port: number;
  dataDir: string;
  /** Contract addresses from `<dataDir>/chain/deployment.json`, or undefined when no deployer ran. */
  deployment: Deployment | undefined;
  /** Number of journal records replayed at start, and bytes of a torn tail dropped. */
  replayed: { records: number; droppedBytes: number };
  close(): Promise<void>;
}

interface ChainMeta {
  version: number;
  chainId: string;
  genesisTime: string;
  hardfork: string;
  blockGasLimit: string;
  accounts: string[];
}

/** chain.json, checked field by field: a damaged or foreign file is a ChainError CONFIG, not a crash later. */
function readChainMeta(path: string): ChainMeta {
  const bad = (what: string, cause?: unknown) => new ChainError('CONFIG', `${path}: ${what}`, { cause });
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw bad((cause as Error).message, cause);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad('not a JSON object');
  const m = v as Record<string, unknown>;
  const str = (k: string): string => {
    if (typeof m[k] !== 'string') throw bad(`${k} must be a string`);
    return m[k];
  };
  if (typeof m.version !== 'number') throw bad('version must be a number');
  if (!Array.isArray(m.accounts) || m.accounts.some((a) => typeof a !== 'string'))
    throw bad('accounts must be a list of addresses');
  return {
    version: m.version,
    chainId: str('chainId'),
    genesisTime: str('genesisTime'),
    hardfork: str('hardfork'),
    blockGasLimit: str('blockGasLimit'),
    accounts: m.accounts as string[],
  };
}

type JournalRecord =
  | { t: 'tx'; raw: string; hash: string; block: number; blockHash: string; ts: number; offset: string }
  | { t: 'mine'; block: number; blockHash: string; ts: number; offset: string }
  | { t: 'time'; offset: string };

const HEX = /^0x[0-9a-fA-F]*$/;
/** A journal record of one of the three shapes this code writes (fields checked, not cast). */
function isJournalRecord(v: unknown): v is JournalRecord {
  if (v === null || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  const str = (k: string, re: RegExp) => typeof r[k] === 'string' && re.test(r[k]);
  const int = (k: string) => Number.isSafeInteger(r[k]) && (r[k] as number) >= 0;
  if (!str('offset', /^-?[0-9]+$/)) return false;
  if (r.t === 'time') return true;
  if (r.t === 'mine') return int('block') && int('ts') && str('blockHash', HEX);
  if (r.t === 'tx') return int('block') && int('ts') && str('blockHash', HEX) && str('raw', HEX) && str('hash', HEX);
  return false;
}

interface RpcRequest {
  jsonrpc?: string;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}
interface RpcErrorBody {
  code: number;
  message: string;
  data?: unknown;
}
type RpcResult = { result: unknown } | { error: RpcErrorBody };

// One EdrContext per process (EDR: "should only be called once"). Kept on globalThis so jest's per-file module
// registries in one worker share it.
const CONTEXT_KEY = Symbol.for('sealfold.chain.edrContext');
type EdrModule = typeof Edr;

function loadEdr(): EdrModule {
  // EDR is a CommonJS native addon; require it directly so jest's ESM linker never sees it.
  const require = createRequire(import.meta.url);
  return require('@nomicfoundation/edr') as EdrModule;
}

async function edrContext(edr: EdrModule): Promise<Edr.EdrContext> {
  const g = globalThis as unknown as Record<symbol, Promise<Edr.EdrContext> | undefined>;
  let ctx = g[CONTEXT_KEY];
  if (ctx === undefined) {
    ctx = (async () => {
      const c = new edr.EdrContext();
      await c.registerProviderFactory(edr.L1_CHAIN_TYPE, edr.l1ProviderFactory());
      return c;
    })();
    g[CONTEXT_KEY] = ctx;
  }
  return ctx;
}

export function deriveDevAccounts(mnemonic: string, count: number): DevAccount[] {
  let phrase: Mnemonic;
  try {
    phrase = Mnemonic.fromPhrase(mnemonic);
  } catch (cause) {
    throw new InvalidArgumentError('invalid mnemonic', { cause });
  }
  const accounts: DevAccount[] = [];
  for (let i = 0; i < count; i++) {
    const w = HDNodeWallet.fromMnemonic(phrase, `m/44'/60'/0'/0/${i}`);
    accounts.push({ address: w.address, privateKey: w.privateKey });
  }
  return accounts;
}

/** EDR nests revert data as `data: { data: '0x…' }`; clients expect geth's form: code 3, `data: '0x…'`. */
function normaliseError(error: RpcErrorBody): RpcErrorBody {
  const nested = (error.data as { data?: unknown } | null | undefined)?.data;
  if (typeof nested === 'string' && /^0x[0-9a-fA-F]*$/.test(nested))
    return { code: 3, message: error.message, data: nested };
  return error;
}

class RpcFailure extends Error {
  constructor(readonly body: RpcErrorBody) {
    super(body.message);
  }
}

const STATE_METHODS = new Set(['eth_sendRawTransaction', 'evm_mine', 'evm_increaseTime', 'evm_setNextBlockTimestamp']);
const REFUSED = new Set([
  'eth_sendTransaction',
  'eth_sign',
  'eth_signTransaction',
  'eth_signTypedData',
  'eth_signTypedData_v3',
  'eth_signTypedData_v4',
  'personal_sign',
  'eth_subscribe',
  'eth_unsubscribe',
]);
const READ_ONLY_EXTRA = new Set(['hardhat_metadata', 'debug_traceTransaction', 'debug_traceCall']);

function isServed(method: string): boolean {
  if (REFUSED.has(method)) return false;
  if (STATE_METHODS.has(method) || READ_ONLY_EXTRA.has(method)) return true;
  return method.startsWith('eth_') || method.startsWith('net_') || method.startsWith('web3_');
}

function validateOptions(o: EmbeddedChainOptions): { chainId: bigint; port: number; accountCount: number } {
  if (typeof o.dataDir !== 'string' || o.dataDir.length === 0) throw new InvalidArgumentError('dataDir is required');
  const port = o.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`invalid port ${port}`);
  const chainId = BigInt(o.chainId ?? DEFAULT_CHAIN_ID);
  if (chainId <= 0n || chainId >= 2n ** 53n) throw new InvalidArgumentError(`invalid chain id ${chainId}`);
  const accountCount = o.accountCount ?? DEFAULT_ACCOUNTS;
  if (!Number.isInteger(accountCount) || accountCount < 1 || accountCount > 1000)
    throw new InvalidArgumentError(`invalid account count ${accountCount}`);
  if (o.blockGasLimit !== undefined && o.blockGasLimit < 1_000_000n)
    throw new InvalidArgumentError('blockGasLimit below 1,000,000');
  return { chainId, port, accountCount };
}

/**
 * Starts (or resumes) the embedded chain in `<dataDir>/chain`. A fresh directory gets a new genesis; an existing one
 * is rebuilt by replaying its journal, and its chain id, accounts and gas limit must match the options.
 */
export async function startEmbeddedChainCore(options: EmbeddedChainOptions): Promise<EmbeddedChain> {
  const { chainId, port, accountCount } = validateOptions(options);
  const blockGasLimit = options.blockGasLimit ?? DEFAULT_BLOCK_GAS_LIMIT;
  const accounts = deriveDevAccounts(options.mnemonic ?? DEV_MNEMONIC, accountCount);
  const chainDir = join(options.dataDir, 'chain');
  mkdirSync(chainDir, { recursive: true });
  const metaPath = join(chainDir, 'chain.json');
  const journalPath = join(chainDir, 'journal.bin');
  const deploymentPath = join(chainDir, 'deployment.json');

  let meta: ChainMeta;
  if (existsSync(metaPath)) {
    meta = readChainMeta(metaPath);
    const mismatch = (what: string, saved: string, now: string) =>
      new ChainError('CONFIG', `${chainDir} holds a chain with ${what} ${saved}, but ${now} was requested`);
    if (meta.version !== META_VERSION) throw new ChainError('CONFIG', `${metaPath}: unknown version ${meta.version}`);
    if (meta.chainId !== chainId.toString()) throw mismatch('chain id', meta.chainId, chainId.toString());
    if (meta.blockGasLimit !== blockGasLimit.toString())
      throw mismatch('block gas limit', meta.blockGasLimit, blockGasLimit.toString());
    const addrs = accounts.map((a) => a.address);
    if (meta.accounts.length !== addrs.length || meta.accounts.some((a, i) => a !== addrs[i]))
      throw new ChainError('CONFIG', `${chainDir} was created with other dev accounts (mnemonic or account count)`);
  } else {
    meta = {
      version: META_VERSION,
      chainId: chainId.toString(),
      genesisTime: Math.floor(Date.now() / 1000).toString(),
      hardfork: HARDFORK,
      blockGasLimit: blockGasLimit.toString(),
      accounts: accounts.map((a) => a.address),
    };
    writeFileAtomic(metaPath, JSON.stringify(meta, null, 2) + '\n');
  }

  const edr = loadEdr();
  const ctx = await edrContext(edr);
  const config: Edr.ProviderConfig = {
    allowBlocksWithSameTimestamp: false,
    allowUnlimitedContractSize: false,
    bailOnCallFailure: true, // a reverting eth_call is an error (as in geth), not revert bytes as a result
    bailOnTransactionFailure: false,
    chainId,
    coinbase: getBytes(COINBASE),
    defaultTransactionGasLimit: blockGasLimit < 16_000_000n ? blockGasLimit : 16_000_000n,
    genesisState: [
      ...accounts.map((a) => ({ address: getBytes(a.address), balance: DEV_BALANCE, code: new Uint8Array() })),
      ...edr.l1GenesisState(edr.l1HardforkFromString(meta.hardfork)),
    ],
    hardfork: meta.hardfork,
    initialBaseFeePerGas: INITIAL_BASE_FEE,
    minGasPrice: 0n,
    mining: { autoMine: true, blockGasLimit, memPool: { order: edr.MineOrdering.Priority } },
    network: { genesisBlockGasLimit: blockGasLimit, genesisBlockTime: BigInt(meta.genesisTime) },
    networkId: chainId,
    observability: {},
    ownedAccounts: [],
    precompileOverrides: [],
  };
  const provider = await ctx.createProvider(
    edr.L1_CHAIN_TYPE,
    config,
    { enable: false, decodeConsoleLogInputsCallback: () => [], printLineCallback: () => {} },
    { subscriptionCallback: () => {} },
    new edr.ContractDecoder(),
  );

  let nextId = 1;
  const raw = async (method: string, params: unknown[] = []): Promise<unknown> => {
    const res = await provider.handleRequest(JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }));
    const data = (typeof res.data === 'string' ? JSON.parse(res.data) : res.data) as {
      result?: unknown;
      error?: RpcErrorBody;
    };
    if (data.error !== undefined) throw new RpcFailure(normaliseError(data.error));
    return data.result;
  };
  const latestBlock = async () => {
    const b = (await raw('eth_getBlockByNumber', ['latest', false])) as {
      number: string;
      hash: string;
      timestamp: string;
    };
    return { number: Number(b.number), hash: b.hash, ts: Number(b.timestamp) };
  };
  const clockOffset = async () => BigInt((await raw('evm_increaseTime', [0])) as string);

  // --- replay ---
  const { records, droppedBytes } = readJournal(journalPath, isJournalRecord);
  let desiredOffset = 0n;
  for (const [i, rec] of records.entries()) {
    try {
      if (rec.t === 'tx') {
        await raw('evm_setNextBlockTimestamp', [rec.ts]);
        const hash = await raw('eth_sendRawTransaction', [rec.raw]);
        if (hash !== rec.hash) throw new ReplayMismatchError(i, `tx hash ${String(hash)} != recorded ${rec.hash}`);
      } else if (rec.t === 'mine') {
        await raw('evm_mine', [rec.ts]);
      }
    } catch (err) {
      if (err instanceof ReplayMismatchError) throw err;
      throw new ReplayMismatchError(i, `replaying ${rec.t} failed: ${(err as Error).message}`);
    }
    if (rec.t !== 'time') {
      const b = await latestBlock();
      if (b.number !== rec.block || b.hash !== rec.blockHash || b.ts !== rec.ts)
        throw new ReplayMismatchError(
          i,
          `block ${b.number} ${b.hash} @${b.ts} != recorded ${rec.block} ${rec.blockHash} @${rec.ts}`,
        );
    }
    desiredOffset = BigInt(rec.offset);
  }
  // Resume the chain clock where it stood (wall clock + the dev's accumulated evm_increaseTime); it never runs back.
  const current = await clockOffset();
  if (desiredOffset > current) await raw('evm_increaseTime', [Number(desiredOffset - current)]);

  const journal = new JournalWriter(journalPath);
  // Fail-stop: if a journal write fails after EDR accepted a change, memory and disk disagree; refuse everything
  // from then on (a restart replays the journal, i.e. the last durable state).
  let journalFailure: Error | undefined;
  const append = (record: JournalRecord) => {
    try {
      journal.append(record);
    } catch (err) {
      journalFailure = err as Error;
      throw new RpcFailure({ code: -32603, message: `journal write failed, chain stopped: ${journalFailure.message}` });
    }
  };
  let closed = false;

  // --- serialised state changes ---
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const stateChange = (method: string, params: unknown[]): Promise<unknown> =>
    serial(async () => {
      if (method === 'eth_sendRawTransaction') {
        const rawTx = params[0];
        let tx: Transaction;
        try {
          if (typeof rawTx !== 'string') throw new Error('expected a hex string');
          tx = Transaction.from(rawTx);
        } catch (err) {
          throw new RpcFailure({ code: -32602, message: `invalid raw transaction: ${(err as Error).message}` });
        }
        if (tx.from === null) throw new RpcFailure({ code: -32602, message: 'transaction is not signed' });
        // Instant mining, one transaction per block: a nonce gap would park the tx in the mempool, outside the journal.
        const pending = Number(await raw('eth_getTransactionCount', [tx.from, 'pending']));
        if (tx.nonce > pending)
          throw new RpcFailure({
            code: -32000,
            message: `nonce too high: the embedded chain mines instantly, expected nonce ${pending} for ${tx.from}`,
          });
        const hash = (await raw('eth_sendRawTransaction', [rawTx])) as string;
        const b = await latestBlock();
        append({
          t: 'tx',
          raw: rawTx,
          hash,
          block: b.number,
          blockHash: b.hash,
          ts: b.ts,
          offset: (await clockOffset()).toString(),
        } satisfies JournalRecord);
        return hash;
      }
      if (method === 'evm_mine') {
        const result = await raw('evm_mine', params);
        const b = await latestBlock();
        append({
          t: 'mine',
          block: b.number,
          blockHash: b.hash,
          ts: b.ts,
          offset: (await clockOffset()).toString(),
        } satisfies JournalRecord);
        return result;
      }
      if (method === 'evm_increaseTime') {
        const result = await raw('evm_increaseTime', params);
        append({ t: 'time', offset: (await clockOffset()).toString() } satisfies JournalRecord);
        return result;
      }
      // evm_setNextBlockTimestamp only takes effect in the next mined block, whose timestamp is journaled.
      return raw(method, params);
    });

  const dispatch = async (method: string, params: unknown[]): Promise<unknown> => {
    if (closed) throw new RpcFailure({ code: -32603, message: 'the embedded chain is closed' });
    if (journalFailure !== undefined)
      throw new RpcFailure({
        code: -32603,
        message: `the embedded chain stopped after a journal write failure (${journalFailure.message}); restart it`,
      });
    if (!isServed(method))
      throw new RpcFailure({
        code: -32601,
        message: REFUSED.has(method)
          ? `${method} is not served: the Sealfold embedded chain accepts only signed raw transactions (eth_sendRawTransaction)`
          : `${method} is not served by the Sealfold embedded chain (its state must be journaled to survive restarts)`,
      });
    if (STATE_METHODS.has(method)) return stateChange(method, params);
    return raw(method, params);
  };

  const handleOne = async (req: RpcRequest): Promise<Record<string, unknown>> => {
    const id = req?.id ?? null;
    if (req === null || typeof req !== 'object' || typeof req.method !== 'string')
      return { jsonrpc: '2.0', id, error: { code: -32600, message: 'invalid request' } };
    const params = req.params === undefined ? [] : req.params;
    if (!Array.isArray(params))
      return { jsonrpc: '2.0', id, error: { code: -32602, message: 'params must be an array' } };
    const out: RpcResult = await dispatch(req.method, params).then(
      (result) => ({ result: result ?? null }),
      (err: unknown) =>
        err instanceof RpcFailure
          ? { error: err.body }
          : { error: { code: -32603, message: `internal error: ${(err as Error).message}` } },
    );
    return { jsonrpc: '2.0', id, ...out };
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method !== 'POST') {
      reply(405, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'JSON-RPC over POST only' } });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reply(413, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'request too large' } });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        reply(200, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } });
        return;
      }
      // Batches run in order (ethers batches by default).
      const work = Array.isArray(body)
        ? (async () => {
            const out = [];
            for (const r of body as RpcRequest[]) out.push(await handleOne(r));
            return out;
          })()
        : handleOne(body as RpcRequest);
      work.then(
        (out) => reply(200, out),
        (err: unknown) =>
          reply(500, { jsonrpc: '2.0', id: null, error: { code: -32603, message: (err as Error).message } }),
      );
    });
  });
  // Node's HTTP clients (ethers' FetchRequest on the global agent) drop an idle keep-alive socket after 5 s; a server
  // that also closes at 5 s races them, and a request sent on the socket the server is closing fails with "socket
  // hang up". Keeping idle sockets open longer lets the client always close first.
  server.keepAliveTimeout = 30_000;
  // Node's HTTP server times headersTimeout and requestTimeout on a keep-alive connection from the connection's first
  // request, not from each request's (nodejs/node#58140): a silo's connection kept busy for minutes then had a request
  // answered 408 Request Timeout (bench scale, n = 300 on a loaded machine: 110 silos refused their round on a
  // licence re-read). Both are off; this node listens on 127.0.0.1 only, bodies are capped (MAX_BODY_BYTES), a client
  // bounds its own requests, and a socket with no traffic for SOCKET_IDLE_MS is closed.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.setTimeout(SOCKET_IDLE_MS);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const boundPort = (server.address() as AddressInfo).port;
  const rpcUrl = `http://127.0.0.1:${boundPort}`;

  const request = async (method: string, params: unknown[] = []): Promise<unknown> => {
    try {
      return await dispatch(method, params);
    } catch (err) {
      if (err instanceof RpcFailure) throw new ChainError('RPC_ERROR', `${method}: ${err.body.message}`);
      throw err;
    }
  };

  const close = async () => {
    if (closed) return;
    closed = true;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await queue;
    journal.close();
  };

  const core: RunningChainCore = { rpcUrl, chainId, accounts, request };
  let deployment: Deployment | undefined;
  try {
    if (existsSync(deploymentPath)) {
      const file = readDeploymentFile(deploymentPath);
      if (file.chainId !== undefined && file.chainId !== chainId)
        throw new ChainError('CONFIG', `${deploymentPath}: deployed on chain ${file.chainId}, not ${chainId}`);
      if (options.contractsDigest !== undefined && file.contractsDigest !== options.contractsDigest)
        throw new ChainError(
          'STALE_DEPLOYMENT',
          `${chainDir} holds contracts an earlier Sealfold deployed, and this version's contracts differ: start a ` +
            `fresh chain (move ${chainDir} away, or use another --data-dir); its datasets and licences stay in it`,
        );
      deployment = {
        chainId: chainId.toString(),
        deployedAt: file.deployedAt ?? '',
        ...(file.deployBlock !== undefined ? { deployBlock: file.deployBlock.toString() } : {}),
        contracts: file.contracts,
        ...(file.contractsDigest !== undefined ? { contractsDigest: file.contractsDigest } : {}),
      };
      for (const [name, address] of Object.entries(deployment.contracts)) {
        const code = (await raw('eth_getCode', [getAddress(address), 'latest'])) as string;
        if (code === '0x')
          throw new ChainError('NOT_DEPLOYED', `${deploymentPath}: no contract code at ${name} ${address}`);
      }
    } else if (options.deploy !== undefined) {
      const { contracts, deployBlock } = await options.deploy(core);
      deployment = {
        chainId: chainId.toString(),
        deployedAt: new Date().toISOString(),
        ...(deployBlock !== undefined ? { deployBlock: deployBlock.toString() } : {}),
        contracts,
        ...(options.contractsDigest !== undefined ? { contractsDigest: options.contractsDigest } : {}),
      };
      writeFileAtomic(deploymentPath, JSON.stringify(deployment, null, 2) + '\n');
    }
  } catch (err) {
    await close();
    throw err;
  }

  return {
    ...core,
    port: boundPort,
    dataDir: options.dataDir,
    deployment,
    replayed: { records: records.length, droppedBytes },
    close,
  };
}
