// The chain port on @sealfold/chain: typed contract client, EIP-712 domain, event indexer. The coordinator's own
// wallet (key file, created 0600 on first start) signs ModelRegistry records; it needs COORDINATOR_ROLE there.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  addressesFromDeployment,
  connectChain as connectSealfoldChain,
  createEventIndexer,
  sealfoldDomain,
  termsHash,
  type SealfoldChain,
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
  LicenceCheck,
  LicenceFailureCode,
  ModelProvenance,
} from './chain.port.js';

// Only the events the coordinator indexes (human-readable ABI: independent of the artifacts' build).
const DATASET_EVENTS = [
  'event DatasetRegistered(uint256 indexed datasetId, address indexed owner, bytes manifestCid, bytes32 commitment)',
  'event Transfer(address indexed from, address indexed to, uint256 indexed tokenId)',
];
const LICENCE_EVENTS = [
  'event LicencePurchased(uint256 indexed licenceId, uint256 indexed datasetId, address indexed buyer, address owner, address paymentToken, uint256 price, uint256 fee, uint64 expiresAt)',
  'event LicenceGranted(uint256 indexed licenceId, uint256 indexed datasetId, address indexed holder, uint64 expiresAt, uint32 maxJobs, uint32 epsilonBudgetMilli)',
  'event LicenceRevoked(uint256 indexed licenceId, uint256 indexed datasetId, address indexed by, string reason)',
  'event Transfer(address indexed from, address indexed to, uint256 indexed tokenId)',
];

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
    async checkLicence(holder, datasetId, licenceId): Promise<LicenceCheck> {
      const r = await client.checkLicenceById(licenceId, datasetId, holder);
      if (r.valid) return { valid: true };
      const code = LICENCE_CODES[r.reason] ?? 'NO_LICENCE';
      return { valid: false, code, reason: `licence ${licenceId} is ${r.reason} for dataset ${datasetId}` };
    },
    async ownerOf(datasetId) {
      try {
        return getAddress((await client.getDataset(datasetId)).owner);
      } catch (error) {
        // ERC721NonexistentToken: the token does not exist.
        if (/Nonexistent|CALL_EXCEPTION|revert/i.test(String((error as Error).message))) return undefined;
        throw error;
      }
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
    async syncChanges(cursor: ChainCursor, handler: (changes: ChainChanges) => Promise<void>) {
      const indexer = createEventIndexer({
        provider: client.provider,
        cursor,
        startBlock: addresses.deployBlock ?? 0n,
        contracts: [
          { name: 'DatasetNFT', address: addresses.datasetNFT, abi: DATASET_EVENTS },
          { name: 'DatasetLicence', address: addresses.datasetLicence, abi: LICENCE_EVENTS },
        ],
      });
      await indexer.sync(async (events, range) => {
        const datasets = new Set<bigint>();
        const licences = new Set<bigint>();
        for (const e of events) {
          const id = (e.args.datasetId ?? e.args.licenceId ?? e.args.tokenId) as bigint;
          if (e.contract === 'DatasetNFT') datasets.add(id);
          else licences.add((e.args.licenceId ?? e.args.tokenId) as bigint);
        }
        await handler({ datasets: [...datasets], licences: [...licences], toBlock: range.toBlock });
      });
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
    async close() {
      client.close();
    },
  };
}

/** Connects from the configuration; null when no chain is configured (SEALFOLD_CHAIN_RPC empty). */
export async function connectChain(config: CoordinatorConfig): Promise<CoordinatorChain | null> {
  if (config.chainRpc === '') return null;
  const deployment = JSON.parse(readFileSync(config.chainDeployment, 'utf8')) as {
    chainId: string;
    contracts: Record<string, string>;
  };
  const client = await connectSealfoldChain({
    rpcUrl: config.chainRpc,
    chainId: BigInt(deployment.chainId),
    signer: loadOrCreateKey(config.coordinatorKeyFile),
    addresses: addressesFromDeployment(deployment),
  });
  return chainPortFrom(client);
}
