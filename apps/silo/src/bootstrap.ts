// Composes a silo: the owner's keystore, the chain (its own view of licences and ownership), the content store with
// the sealed data, the private cache and ε ledger under `stateDir` (0700), and the outbound coordinator connection.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { sealfoldDomain, type SealfoldChain } from '@sealfold/chain';
import { type IdentityInput } from '@sealfold/crypto';
import { initBackend } from '@sealfold/fl';
import { type Wallet } from 'ethers';
import { type Logger } from 'pino';
import { SiloJobRunner } from './job-runner.js';
import { EpsilonLedger } from './ledger.js';
import { startOwnerPage, type OwnerPage } from './owner-page.js';
import { openSealedDataset, type ContentReader, type OpenedDataset } from './sealed-data.js';
import { SiloClient } from './silo-client.js';

export interface StartSiloOptions {
  /** One coordinator, or every coordinator of a deployment (SiloClientOptions.coordinatorUrl). */
  readonly coordinatorUrl: string | readonly string[];
  readonly wallet: Wallet;
  /** The owner's age identities: they decrypt the sealed datasets, on this machine only. */
  readonly identities: readonly IdentityInput[];
  readonly chain: SealfoldChain;
  readonly store: ContentReader;
  /**
   * The key that co-signs job receipts when a dataset's job terms name a silo signer other than the owner's wallet
   * (`dataset job-terms --silo-signer`); default: `wallet`.
   */
  readonly receiptSigner?: import('ethers').Signer;
  /** Dataset ids this silo serves (each must be owned by `wallet`). */
  readonly datasets: readonly bigint[];
  /** Private state: decrypted cache and ε ledger. */
  readonly stateDir: string;
  readonly logger: Logger;
  readonly reconnect?: { readonly minMs?: number; readonly maxMs?: number };
  /** Accept jobs aggregated without SecAgg+ (off by default; see SiloClientOptions). */
  readonly allowPlainAggregation?: boolean;
  /**
   * Owner policy: the fewest distinct dataset owners other than the buyer and the coordinator a job and every
   * round must include; also a lower bound on the SecAgg+ threshold. Default 3 (DEFAULT_MIN_INDEPENDENT_OWNERS).
   */
  readonly minIndependentOwners?: number;
  /**
   * Serve datasets the wallet registers after the silo started: every `intervalMs` the chain is read for dataset ids
   * above the highest one seen, and those the wallet owns are announced (the CLI's default "every dataset you own").
   */
  readonly followNewDatasets?: { readonly intervalMs: number };
  /**
   * Serve the owner's local page (ε ledger per licence, refused and halted jobs) on `host` (default 127.0.0.1) and
   * `port` (default any free one), behind a random token; absent: no page.
   */
  readonly ownerPage?: { readonly host?: string; readonly port?: number; readonly token?: string };
}

export interface RunningSilo {
  readonly client: SiloClient;
  readonly runner: SiloJobRunner;
  /** The silo's ε ledger, which also keeps the job receipts it co-signed (issue 20). */
  readonly ledger: EpsilonLedger;
  /** The owner's local page, when `ownerPage` asked for it. */
  readonly ownerPage?: OwnerPage;
  close(): Promise<void>;
}

export async function startSilo(options: StartSiloOptions): Promise<RunningSilo> {
  const { chain, wallet } = options;
  const addresses = chain.addresses;
  if (!addresses) throw new Error('the chain client has no contract addresses');
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  const served = new Set(options.datasets.map(String));
  const opened = new Map<string, Promise<OpenedDataset>>();
  const openDataset = async (datasetId: bigint): Promise<OpenedDataset | undefined> => {
    if (!served.has(String(datasetId))) return undefined;
    let pending = opened.get(String(datasetId));
    if (!pending) {
      pending = (async () => {
        // The two views this needs, not getDataset's four: every silo opens its dataset at the same moment (a job's
        // admission), and the terms are read by the admission itself.
        const [owner, manifestCid] = await Promise.all([chain.ownerOf(datasetId), chain.getManifestCid(datasetId)]);
        if (owner?.toLowerCase() !== wallet.address.toLowerCase())
          throw new Error(`dataset ${datasetId} is owned by ${owner ?? 'nobody'}, not by this silo's wallet`);
        return openSealedDataset({
          store: options.store,
          manifestCid,
          identities: options.identities,
          cacheDir: join(options.stateDir, 'cache'),
        });
      })();
      // A failed open is retried on the next offer rather than cached.
      pending.catch(() => opened.delete(String(datasetId)));
      opened.set(String(datasetId), pending);
    }
    return pending;
  };
  // The training backend (tfjs-node, else wasm, else cpu) is chosen before any job can arrive, and logged.
  const backend = await initBackend();
  const ledger = EpsilonLedger.open(join(options.stateDir, 'ledger.db'));
  const runner = new SiloJobRunner({
    owner: wallet.address,
    domain: sealfoldDomain(chain.chainId, addresses.datasetLicence),
    chain,
    ledger,
    openDataset,
    minIndependentOwners: options.minIndependentOwners,
    // Job receipts are co-signed with the dataset's silo signer (its job terms; by default the owner's wallet).
    receiptSigner: options.receiptSigner ?? wallet,
  });
  const client = new SiloClient({
    coordinatorUrl: options.coordinatorUrl,
    wallet,
    datasets: options.datasets,
    runner,
    logger: options.logger,
    ownerOf: (datasetId) => chain.ownerOf(datasetId),
    reconnect: options.reconnect,
    allowPlainAggregation: options.allowPlainAggregation,
  });
  client.start();
  let ownerPage: OwnerPage | undefined;
  if (options.ownerPage) {
    try {
      ownerPage = await startOwnerPage({
        ledger,
        owner: wallet.address,
        status: () => ({ datasets: [...served], connection: client.state }),
        ...options.ownerPage,
      });
    } catch (error) {
      await client.stop();
      ledger.close();
      throw error;
    }
  }
  const follow = options.followNewDatasets ? followNewDatasets(options, served, client) : undefined;
  options.logger.info(
    // glibc malloc settings (scripts/malloc-tuning.mjs): null means defaults, about 2x slower SecAgg+ masking
    {
      address: wallet.address,
      datasets: [...served],
      backend: backend.name,
      backendReason: backend.reason,
      glibcTunables: process.env.GLIBC_TUNABLES ?? null,
      ownerPage: ownerPage?.origin ?? null,
    },
    'silo started',
  );
  return {
    client,
    runner,
    ledger,
    ownerPage,
    async close() {
      await ownerPage?.close();
      await follow?.stop();
      await client.stop();
      ledger.close();
    },
  };
}

/**
 * Polls the chain for datasets registered after `served` (ids above the highest seen; one `lastDatasetId` read when
 * there is none) and serves those the wallet owns. A dataset transferred to the wallet later is not picked up (its id
 * is not new): restart the silo for it.
 */
function followNewDatasets(options: StartSiloOptions, served: Set<string>, client: SiloClient) {
  const owner = options.wallet.address.toLowerCase();
  let highest = [...served].reduce((m, id) => (BigInt(id) > m ? BigInt(id) : m), 0n);
  let running: Promise<void> | undefined;
  const poll = async () => {
    for (;;) {
      const fresh = await options.chain.listDatasets({ fromId: highest + 1n, limit: 64 });
      if (fresh.length === 0) return;
      for (const d of fresh) if (d.datasetId > highest) highest = d.datasetId;
      const mine = fresh.filter((d) => d.owner.toLowerCase() === owner).map((d) => d.datasetId);
      if (mine.length === 0) continue;
      for (const id of mine) served.add(String(id));
      options.logger.info({ datasets: mine.map(String) }, 'serving newly registered datasets');
      client.serve(mine);
    }
  };
  const timer = setInterval(() => {
    running ??= poll()
      .catch((error: unknown) => options.logger.warn({ err: (error as Error).message }, 'dataset poll failed'))
      .finally(() => (running = undefined));
  }, options.followNewDatasets!.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
