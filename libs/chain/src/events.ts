// Typed events of the Sealfold contracts, derived at the type level from the generated `abi as const`: a stale
// generated ABI changes these types and breaks the build where the code relies on an event's shape.
import type { JsonRpcProvider } from 'ethers';
import type { AbiParam, AbiParamsObject } from './abi-types.js';
import { ARTIFACTS, type ContractName } from './artifacts.js';
import type { SealfoldAddresses } from './client.js';
import { ChainError } from './errors.js';
import { createEventIndexer, type CursorStore, type DecodedLog, type EventIndexer } from './indexer.js';

type AbiOf<N extends ContractName> = (typeof ARTIFACTS)[N]['abi'];
type EventItem<N extends ContractName> = Extract<
  AbiOf<N>[number],
  { type: 'event'; name: string; inputs: readonly AbiParam[] }
>;

type LogMeta = Omit<DecodedLog, 'contract' | 'event' | 'args'>;

/** Every event of the three contracts, discriminated by `contract` and `event`. */
export type SealfoldEvent = {
  [N in ContractName]: {
    [E in EventItem<N> as E['name']]: LogMeta & { contract: N; event: E['name']; args: AbiParamsObject<E['inputs']> };
  }[EventItem<N>['name']];
}[ContractName];

export type SealfoldEventOf<N extends ContractName, E extends SealfoldEvent['event']> = Extract<
  SealfoldEvent,
  { contract: N; event: E }
>;

export interface SealfoldIndexerOptions {
  provider: JsonRpcProvider;
  addresses: SealfoldAddresses;
  cursor: CursorStore;
  /** Default: the deployment block. */
  startBlock?: bigint;
  confirmations?: number;
  batchSize?: number;
  endBlock?: bigint;
}

/** An indexer over `contracts` from the options' cursor (default start: the deployment block). */
function indexerOver(
  options: SealfoldIndexerOptions,
  contracts: readonly { name: ContractName; address: string }[],
): EventIndexer<SealfoldEvent> {
  const indexer = createEventIndexer({
    provider: options.provider,
    cursor: options.cursor,
    startBlock: options.startBlock ?? options.addresses.deployBlock ?? 0n,
    confirmations: options.confirmations,
    batchSize: options.batchSize,
    endBlock: options.endBlock,
    contracts: contracts.map((c) => ({ ...c, abi: ARTIFACTS[c.name].abi })),
  });
  // The logs are decoded with exactly these ABIs, so the shapes match SealfoldEvent.
  return indexer as unknown as EventIndexer<SealfoldEvent>;
}

/** An indexer over DatasetNFT, DatasetLicence and ModelRegistry emitting typed `SealfoldEvent`s. */
export function createSealfoldIndexer(options: SealfoldIndexerOptions): EventIndexer<SealfoldEvent> {
  const { addresses } = options;
  return indexerOver(options, [
    { name: 'DatasetNFT', address: addresses.datasetNFT },
    { name: 'DatasetLicence', address: addresses.datasetLicence },
    { name: 'ModelRegistry', address: addresses.modelRegistry },
  ]);
}

/**
 * An indexer over JobEscrow and ModelAsset (issue 20) emitting typed `SealfoldEvent`s. Kept apart from
 * `createSealfoldIndexer` so that a reader that indexed the dataset contracts before these existed starts its own
 * cursor at the deployment block instead of missing their past events.
 */
export function createEscrowIndexer(options: SealfoldIndexerOptions): EventIndexer<SealfoldEvent> {
  const { addresses } = options;
  if (addresses.jobEscrow === undefined || addresses.modelAsset === undefined)
    throw new ChainError('NOT_DEPLOYED', 'this deployment has no JobEscrow and ModelAsset');
  return indexerOver(options, [
    { name: 'JobEscrow', address: addresses.jobEscrow },
    { name: 'ModelAsset', address: addresses.modelAsset },
  ]);
}
