// Issue 13 §2: nothing private in a manifest. Real public datasets (npm `vega-datasets`: Seattle weather with a date
// column of 1461 dates, cars with near-identifying names, missing values and dates, Palmer penguins with missing
// values and a sex level that occurs once) are sealed through `sealDataset` into a real embedded IPFS store; then
// every manifest is read back from the store and searched for every value that occurs in fewer than k rows of its
// source file.
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { X25519Identity } from '@sealfold/crypto';
import {
  UNLIMITED_EPSILON,
  parseManifest,
  sealDataset,
  toDense,
  type DatasetSchema,
  type Manifest,
} from '@sealfold/dataset';
import { EmbeddedIpfsStore } from '@sealfold/storage';
import { manifestLeaks as leaks, rareValues } from './helpers/leak-scan.js';

// The package exports only its loader (build/index.js); the data files sit beside it in data/.
const data = join(dirname(createRequire(import.meta.url).resolve('vega-datasets')), '..', 'data');

/** A JSON array of flat records as RFC 4180 CSV; null becomes an empty (missing) field. */
function jsonToCsv(file: string): string {
  const records = JSON.parse(readFileSync(join(data, file), 'utf8')) as Record<string, unknown>[];
  const keys = Object.keys(records[0]);
  const field = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [keys.map(field).join(','), ...records.map((r) => keys.map((k) => field(r[k])).join(','))].join('\n') + '\n';
}

async function readAll(store: EmbeddedIpfsStore, cid: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of store.cat(cid)) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('manifests publish no value occurring in fewer than k rows (issue 13 §2)', () => {
  let dir: string;
  let store: EmbeddedIpfsStore;
  const identity = X25519Identity.generate();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-manifest-leaks-'));
    store = await EmbeddedIpfsStore.open(join(dir, 'ipfs'));
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const seal = async (csv: string, label: string, schema?: DatasetSchema) => {
    const sealed = await sealDataset({
      source: [Buffer.from(csv)],
      label,
      ...(schema ? { schema } : {}),
      recipients: [identity.recipient],
      store,
      name: 'leak scan',
      description: '',
      owner: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
      terms: { priceWei: '0', licenceDurationSeconds: 86_400, epsilonBudget: UNLIMITED_EPSILON },
    });
    const bytes = await readAll(store, sealed.manifestCid);
    return { ...sealed, bytes, manifest: parseManifest(bytes) };
  };

  const scanned: { name: string; manifest: Manifest; rare: number }[] = [];

  it.each([
    ['seattle-weather.csv', () => readFileSync(join(data, 'seattle-weather.csv'), 'utf8'), 'weather'],
    ['cars.json', () => jsonToCsv('cars.json'), 'Origin'],
    ['penguins.json', () => jsonToCsv('penguins.json'), 'Species'],
  ])('%s: sealed with the inferred schema, its manifest holds none of its rare values', async (name, load, label) => {
    const csv = load();
    const { manifest, bytes, inspected } = await seal(csv, label);
    const rare = await rareValues(csv, inspected.k);
    expect(inspected.k).toBe(10);
    expect(rare.size).toBeGreaterThan(20); // the scan has something to find
    expect(leaks(bytes, rare)).toEqual([]);
    scanned.push({ name, manifest, rare: rare.size });
    // Not vacuous: the owner's full schema (every level, as format 2 published it) is caught by the same scan.
    if (name === 'penguins.json')
      expect(leaks(Buffer.from(JSON.stringify(inspected.privateSchema)), rare)).toEqual(['.']);
    // And it trains: the dense form follows the public schema, missing values masked.
    const dense = await toDense([Buffer.from(csv)], manifest.schema);
    expect(dense.rows).toBe(manifest.rows);
    expect(dense.features.every(Number.isFinite)).toBe(true);
  });

  it('types the columns of the issue: dates become features, missing values keep a column numeric', () => {
    const byName = (m: Manifest) => new Map(m.schema.columns.map((c) => [c.name, c] as const));
    const weather = byName(scanned.find((s) => s.name === 'seattle-weather.csv')!.manifest);
    expect(weather.get('date')).toEqual({ name: 'date', type: 'date' });
    const cars = byName(scanned.find((s) => s.name === 'cars.json')!.manifest);
    expect(cars.get('Name')).toEqual({ name: 'Name', role: 'ignored', type: 'text' });
    expect(cars.get('Horsepower')?.type).toBe('integer'); // 6 cars have none
    expect(cars.get('Year')?.type).toBe('date');
    const penguins = byName(scanned.find((s) => s.name === 'penguins.json')!.manifest);
    expect(penguins.get('Body Mass (g)')?.type).toBe('integer'); // 2 penguins were not weighed
    expect(penguins.get('Sex')).toMatchObject({ type: 'categorical', encoding: 'hash' });
    expect(scanned.find((s) => s.name === 'penguins.json')!.manifest.classes).toEqual([
      'Adelie',
      'Chinstrap',
      'Gentoo',
    ]);
  });

  it('publishes levels the owner makes public, and refuses a public level occurring in fewer than k rows', async () => {
    const csv = jsonToCsv('penguins.json');
    const schema = (sexLevels?: string[]): DatasetSchema => ({
      label: 'Species',
      columns: [
        { name: 'Species', type: 'categorical' },
        { name: 'Island', type: 'categorical', levels: ['Biscoe', 'Dream', 'Torgersen'], public: true },
        { name: 'Beak Length (mm)', type: 'float' },
        { name: 'Beak Depth (mm)', type: 'float' },
        { name: 'Flipper Length (mm)', type: 'integer' },
        { name: 'Body Mass (g)', type: 'integer' },
        sexLevels
          ? { name: 'Sex', type: 'categorical', levels: sexLevels, public: true }
          : { name: 'Sex', type: 'categorical' },
      ],
    });
    const { manifest, bytes } = await seal(csv, 'Species', schema());
    expect(manifest.schema.columns[1]).toMatchObject({ levels: ['Biscoe', 'Dream', 'Torgersen'], public: true });
    expect(leaks(bytes, await rareValues(csv, 10))).toEqual([]);
    // "." is the sex of one penguin: publishing it is refused, naming its column (and line), not the value.
    const err = await seal(csv, 'Species', schema(['FEMALE', 'MALE', '.'])).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RARE_VALUE', column: 7 });
    expect((err as { line?: number }).line).toBeGreaterThan(1);
  });

  it('refuses to publish a class occurring in fewer than k rows (cars by cylinder count: 3 and 5 are rare)', async () => {
    const csv = jsonToCsv('cars.json');
    const err = await seal(csv, 'Cylinders').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RARE_VALUE', column: 3 });
    expect((err as Error).message).toMatch(/fewer than k = 10 rows/);
  });
});
