// An owner's dataset for tests and benchmarks, through the real parts: a LocalData shard written as CSV and sealed as
// `sealfold dataset add` seals it (libs/dataset sealDataset: inspect, age to the owner's key, store, manifest), then
// registered on chain (libs/chain) with open terms: 1000 wei, one day, unlimited ε.
import type { SealfoldChain } from '@sealfold/chain';
import type { NativeIdentity } from '@sealfold/crypto';
import {
  UNLIMITED_EPSILON,
  registrationOf,
  sealDataset,
  type DatasetSchema,
  type SealingStore,
} from '@sealfold/dataset';
import type { LocalData } from '@sealfold/fl';
import { computeJobSchema, type JobSchema } from '@sealfold/protocol';

/**
 * The schema owners declare for a shard: float features `p0..p{d−1}` and a label whose levels are ALL the classes
 * in index order, so a shard holding only some classes (non-IID) still maps class i to model output i.
 */
export function shardSchema(numFeatures: number, numClasses: number, featureName = (j: number) => `p${j}`) {
  return {
    columns: [
      ...Array.from({ length: numFeatures }, (_, j) => ({ name: featureName(j), type: 'float' as const })),
      { name: 'label', type: 'categorical' as const, levels: Array.from({ length: numClasses }, (_, c) => String(c)) },
    ],
    label: 'label',
  } satisfies DatasetSchema;
}

/** The job schema of datasets that all declare `shardSchema(numFeatures, numClasses, featureName)`. */
export function shardJobSchema(
  numFeatures: number,
  numClasses: number,
  featureName?: (j: number) => string,
): JobSchema {
  return computeJobSchema([{ id: '0', schema: shardSchema(numFeatures, numClasses, featureName) }]).schema;
}

/** `data` as CSV under `schema`'s column names: the features in order, then the label (the level of its class index). */
export function shardCsv(data: LocalData, schema: DatasetSchema): Uint8Array {
  const d = data.numFeatures;
  if (schema.columns.length !== d + 1)
    throw new RangeError(`schema has ${schema.columns.length} columns, data ${d + 1}`);
  const lines = [schema.columns.map((c) => c.name).join(',')];
  // The label column's level of class index i (shardSchema's levels are the indices themselves).
  const label = schema.columns[d];
  const level = (i: number) => (label.type === 'categorical' && label.levels ? label.levels[i] : String(i));
  for (let i = 0; i < data.labels.length; i++)
    lines.push(`${Array.from(data.features.subarray(i * d, (i + 1) * d)).join(',')},${level(data.labels[i])}`);
  return Buffer.from(lines.join('\n') + '\n');
}

export interface SealShardOptions {
  readonly data: LocalData;
  readonly schema: DatasetSchema;
  readonly name: string;
  readonly description: string;
  /** The owner: its address is the manifest's owner, its identity the only age recipient, its chain client signs. */
  readonly owner: { readonly address: string; readonly identity: NativeIdentity; readonly chain: SealfoldChain };
  readonly store: SealingStore;
  readonly maxJobs: number;
  /** The owner's k (no value occurring in fewer rows is published); libs/dataset's default when absent. */
  readonly k?: number;
  /** The DP level the dataset's terms count ε in (its silo trains no other); the chain client's 'record' when absent. */
  readonly dpLevel?: 'record' | 'owner';
}

/** Seals, stores and registers one shard; returns its dataset id and manifest CID. */
export async function sealAndRegisterShard(o: SealShardOptions): Promise<{ datasetId: bigint; manifestCid: string }> {
  const { manifest, manifestCid } = await sealDataset({
    source: [shardCsv(o.data, o.schema)],
    label: o.schema.label,
    schema: o.schema,
    recipients: [o.owner.identity.recipient],
    store: o.store,
    name: o.name,
    description: o.description,
    owner: o.owner.address,
    ...(o.k === undefined ? {} : { k: o.k }),
    // Unlimited ε: noiseless jobs need it.
    terms: { priceWei: '1000', licenceDurationSeconds: 86_400, epsilonBudget: UNLIMITED_EPSILON, maxJobs: o.maxJobs },
  });
  const registration = registrationOf(manifestCid, manifest);
  const { datasetId } = await o.owner.chain.registerDataset({
    ...registration,
    terms: { ...registration.terms, ...(o.dpLevel ? { dpLevel: o.dpLevel } : {}) },
  });
  return { datasetId, manifestCid };
}
