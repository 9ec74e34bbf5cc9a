// The chain port on @sealfold/chain: typed contract client, EIP-712 domain, event indexer. The coordinator's own
// wallet (key file, created 0600 on first start) signs ModelRegistry records; it needs COORDINATOR_ROLE there.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  ContractRevertError,
  connectChain as connectSealfoldChain,
  createEscrowIndexer,
  createSealfoldIndexer,
  assertCurrentDeployment,
  readDeploymentFile,
  sealfoldDomain,
  termsHash,
  type SealfoldChain,
  type SealfoldEvent,
} from '@sealfold/chain';
import { getAddress } from 'ethers';
import { type CoordinatorConfig } from '../config/config.js';
import type {
  ChainChanges,
  ChainCursor,
  ChainDataset,
  ChainLicence,
  ChainTerms,
  CoordinatorChain,
  EscrowEvent,
  LicenceCheck,
  LicenceFailureCode,
  ModelProvenance,
} from './chain.port.js';

/**
 * What an event changed, for the coordinator's dataset and licence tables: a dataset id (registration, transfer,
 * terms, listing) or a licence id (sale, grant, revocation, transfer). Typed from the generated ABIs (libs/chain
 * events.ts), so a renamed event or argument breaks the build here instead of silently indexing nothing.
 */
function changedToken(e: SealfoldEvent): { dataset: bigint } | { licence: bigint } | undefined {
  switch (e.contract) {
    case 'DatasetNFT':
      if (e.event === 'Transfer') return { dataset: e.args.tokenId };
      if (
        e.event === 'DatasetRegistered' ||
        e.event === 'TermsUpdated' ||
        e.event === 'ListingChanged' ||
        e.event === 'ManifestUpdated'
      )
        return { dataset: e.args.datasetId };
      return undefined;
    case 'DatasetLicence':
      if (e.event === 'Transfer') return { licence: e.args.tokenId };
      if (e.event === 'LicencePurchased' || e.event === 'LicenceGranted' || e.event === 'LicenceRevoked')
        return { licence: e.args.licenceId };
      return undefined;
    default:
      return undefined;
  }
}

/** The id of a model (a uint256) as 0x + 64 hex: the job id it was registered from. */
const modelHex = (id: bigint) => `0x${id.toString(16).padStart(64, '0')}`;

/**
 * A JobEscrow or ModelAsset event as the coordinator indexes it (issue 20), or undefined for the ones it does not
 * (receipt confirmations, withdrawals, prices, token transfers: read on chain when asked). Typed from the generated
 * ABIs like `changedToken`. `feeBps` is JobEscrow's (immutable; a payment's fee is ⌊amount × feeBps / 10⁴⌋).
 */
function escrowEvent(e: SealfoldEvent, feeBps: bigint): EscrowEvent | undefined {
  const at = { blockNumber: e.blockNumber, txHash: e.transactionHash, logIndex: e.logIndex };
  if (e.contract === 'JobEscrow') {
    if (e.event === 'JobOpened')
      return {
        ...at,
        kind: 'JobOpened',
        jobId: e.args.jobId,
        buyer: getAddress(e.args.buyer),
        requestDigest: e.args.requestDigest,
        termsHash: e.args.termsHash,
        locked: e.args.locked,
        runDeadline: e.args.runDeadline,
      };
    if (e.event === 'ContributionPaid')
      return {
        ...at,
        kind: 'ContributionPaid',
        jobId: e.args.jobId,
        datasetId: e.args.datasetId,
        payee: getAddress(e.args.payee),
        rounds: Number(e.args.rounds),
        amount: e.args.amount,
        fee: (e.args.amount * feeBps) / 10_000n,
      };
    if (e.event === 'JobRefunded')
      return {
        ...at,
        kind: 'JobRefunded',
        jobId: e.args.jobId,
        buyer: getAddress(e.args.buyer),
        amount: e.args.amount,
      };
    return undefined;
  }
  if (e.contract === 'ModelAsset') {
    if (e.event === 'ModelRegistered')
      return {
        ...at,
        kind: 'ModelRegistered',
        modelId: modelHex(e.args.modelId),
        owner: getAddress(e.args.owner),
        receiptDigest: e.args.receiptDigest,
        parentsRoot: e.args.parentsRoot,
        stackMicros: Number(e.args.stackMicros),
        parentCount: Number(e.args.parentCount),
      };
    if (e.event === 'ModelLicenceSold')
      return {
        ...at,
        kind: 'ModelLicenceSold',
        modelId: modelHex(e.args.modelId),
        buyer: getAddress(e.args.buyer),
        owner: getAddress(e.args.owner),
        price: e.args.price,
        fee: e.args.fee,
        upstream: e.args.upstream,
      };
    if (e.event === 'UpstreamClaimed')
      return {
        ...at,
        kind: 'UpstreamClaimed',
        modelId: modelHex(e.args.modelId),
        datasetId: e.args.datasetId,
        account: getAddress(e.args.account),
        amount: e.args.amount,
      };
  }
  return undefined;
}

/** `read`, or undefined when the contract reverts with `notFound` (an unknown job or model id). */
async function unlessUnknown<T>(notFound: string, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof ContractRevertError && error.errorName === notFound) return undefined;
    throw error;
  }
}

const LICENCE_CODES: Record<string, LicenceFailureCode> = {
  'not-found': 'NO_LICENCE',
  'wrong-dataset': 'LICENCE_WRONG_DATASET',
  'not-holder': 'LICENCE_NOT_HOLDER',
  revoked: 'LICENCE_REVOKED',
  expired: 'LICENCE_EXPIRED',
};

/** Reads the coordinator's key, creating it (0600, atomically) when absent. */
export function loadOrCreateKey(path: string): string {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `0x${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, path);
  }
  const key = readFileSync(path, 'utf8').trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new Error(`${path} does not hold a 32-byte hex private key`);
  return key;
}

/** Wraps a connected @sealfold/chain client as the coordinator's chain port. */
export function chainPortFrom(client: SealfoldChain): CoordinatorChain {
  const addresses = client.addresses;
  if (!addresses) throw new Error('the chain client has no contract addresses');
  const domain = sealfoldDomain(client.chainId, addresses.datasetLicence);
  return {
    chainId: client.chainId,
    domain,
    coordinatorAddress: client.signerAddress,
    contracts: { datasetNFT: addresses.datasetNFT, jobEscrow: addresses.jobEscrow },
    async checkLicence(holder, datasetId, licenceId): Promise<LicenceCheck> {
      const r = await client.checkLicenceById(licenceId, datasetId, holder);
      if (r.valid) return { valid: true };
      const code = LICENCE_CODES[r.reason] ?? 'NO_LICENCE';
      return { valid: false, code, reason: `licence ${licenceId} is ${r.reason} for dataset ${datasetId}` };
    },
    /** One ownerOf view; undefined for a dataset that does not exist (ERC721NonexistentToken, by error name). */
    async ownerOf(datasetId) {
      return client.ownerOf(datasetId);
    },
    async getDataset(datasetId): Promise<ChainDataset> {
      const d = await client.getDataset(datasetId);
      return { datasetId, owner: getAddress(d.owner), manifestCid: d.manifestCid, tokenUri: d.tokenURI };
    },
    async getLicence(licenceId): Promise<ChainLicence> {
      const l = await client.getLicence(licenceId);
      return {
        licenceId,
        datasetId: l.datasetId,
        holder: getAddress(l.holder),
        expiresAt: l.expiresAt,
        maxJobs: l.maxJobs,
        epsilonBudgetMilli: l.epsilonBudgetMilli,
        revoked: l.revoked,
      };
    },
    async getTerms(datasetId): Promise<ChainTerms> {
      const t = await client.getTerms(datasetId);
      return { ...t, termsHash: termsHash(t) };
    },
    async jobRate(datasetId: bigint): Promise<bigint> {
      if (addresses.jobEscrow === undefined) return 0n; // a deployment without escrow takes no job pay
      return (await client.getJobTerms(datasetId)).ratePerRowRound;
    },
    async syncChanges(cursor: ChainCursor, handler: (changes: ChainChanges) => Promise<void>) {
      const indexer = createSealfoldIndexer({ provider: client.provider, addresses, cursor });
      await indexer.sync(async (events, range) => {
        const datasets = new Set<bigint>();
        const licences = new Set<bigint>();
        for (const e of events) {
          const changed = changedToken(e);
          if (changed === undefined) continue;
          if ('dataset' in changed) datasets.add(changed.dataset);
          else licences.add(changed.licence);
        }
        await handler({ datasets: [...datasets], licences: [...licences], toBlock: range.toBlock });
      });
    },
    escrowDeployed: addresses.jobEscrow !== undefined && addresses.modelAsset !== undefined,
    async syncEscrow(cursor, handler) {
      const indexer = createEscrowIndexer({ provider: client.provider, addresses, cursor });
      const feeBps = BigInt(await client.escrowFeeBps());
      await indexer.sync(async (events, range) => {
        const indexed: EscrowEvent[] = [];
        for (const e of events) {
          const ev = escrowEvent(e, feeBps);
          if (ev !== undefined) indexed.push(ev);
        }
        await handler(indexed, range.toBlock);
      });
    },
    async escrowJob(jobId) {
      const info = await unlessUnknown('UnknownJob', () => client.getEscrow(jobId));
      if (info === undefined) return undefined;
      const [terms, { payments, refund }, block] = await Promise.all([
        client.escrowTerms(jobId),
        client.escrowPayments(jobId),
        client.provider.getBlock('latest'),
      ]);
      return { info, terms, payments, refund, chainTime: BigInt(block?.timestamp ?? 0) };
    },
    async escrowOwed(account) {
      return client.escrowOwed(account);
    },
    async modelAsset(modelId) {
      return unlessUnknown('ERC721NonexistentToken', () => client.modelParents(modelId));
    },
    async recordModel(record: ModelProvenance) {
      const tx = await client.recordModel({
        jobId: `0x${record.jobId}`,
        modelCid: record.modelCid,
        datasetIds: record.datasets,
        rounds: record.rounds,
        epsilonSpentMilli: record.epsilonSpentMilli,
      });
      return tx.hash;
    },
    async readModel(jobId: string) {
      const coordinator = client.signerAddress;
      if (!coordinator || !(await client.isModelRecorded(coordinator, `0x${jobId}`))) return undefined;
      const m = await client.getModel(coordinator, `0x${jobId}`);
      return {
        jobId,
        modelCid: m.modelCid,
        datasets: m.datasetIds,
        rounds: m.rounds,
        epsilonSpentMilli: m.epsilonSpentMilli,
        recordedAt: Number(m.recordedAt),
        coordinator: m.coordinator,
        registry: addresses.modelRegistry,
      };
    },
    async escrowOf(buyer: string, requestDigest: string) {
      if (!addresses.jobEscrow) return undefined;
      const jobId = client.escrowJobId(buyer, `0x${requestDigest}`);
      try {
        const info = await client.getEscrow(jobId);
        return { info, terms: await client.escrowTerms(jobId) };
      } catch (error) {
        if (error instanceof ContractRevertError && error.errorName === 'UnknownJob') return undefined;
        throw error;
      }
    },
    receiptDomain: () => client.receiptDomain(),
    signReceipt: (receipt) => client.signReceipt(receipt),
    async settleJob(escrowJobId, bundle) {
      const r = await client.settleJob(escrowJobId, bundle);
      return {
        txHash: r.hash,
        paidWei: r.paidNow,
        payments: r.payments.map((p) => ({ datasetId: p.datasetId, rounds: p.rounds, amount: p.amount })),
      };
    },
    async close() {
      client.close();
    },
  };
}

/** Connects from the configuration; null when no chain is configured (SEALFOLD_CHAIN_RPC empty). */
export async function connectChain(config: CoordinatorConfig): Promise<CoordinatorChain | null> {
  if (config.chainRpc === '') return null;
  const deployment = readDeploymentFile(config.chainDeployment);
  if (deployment.chainId === undefined)
    throw new Error(`${config.chainDeployment} names no chainId (a deployment.json as the embedded chain writes it)`);
  assertCurrentDeployment(deployment, config.chainDeployment);
  const client = await connectSealfoldChain({
    rpcUrl: config.chainRpc,
    chainId: deployment.chainId,
    signer: loadOrCreateKey(config.coordinatorKeyFile),
    addresses: deployment.addresses,
  });
  return chainPortFrom(client);
}
