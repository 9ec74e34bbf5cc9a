// Dataset and licence indexing from a real EDR chain, manifests from the coordinator's content store (Helia),
// validated with libs/dataset; list/filter by schema compatibility.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SealfoldChain } from '@sealfold/chain';
import { serializeManifest, type Manifest } from '@sealfold/dataset';
import { Wallet } from 'ethers';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import { CONTENT_STORE, type CoordinatorContentStore } from '../../apps/coordinator/src/models/content-store.port.js';
import { cidOf, commitmentOf, startChainFixture, type ChainFixture } from './helpers/chain-fixture.js';

const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

function manifest(owner: string, name: string, classes: string[], features = FEATURES): Manifest {
  return {
    formatVersion: 1,
    name,
    description: 'test shard',
    schema: {
      columns: [
        ...features.map((f) => ({ name: f, type: 'float' as const })),
        { name: 'species', type: 'categorical' as const, levels: classes },
      ],
      label: 'species',
    },
    rows: 50,
    classes,
    sealed: { format: 'age-v1', cid: cidOf(`${name}-ciphertext`), bytes: 1234 },
    commitment: commitmentOf(name).slice(2),
    owner,
    createdAt: '2026-11-28T08:00:00.000Z',
    terms: { priceWei: '1000', licenceDurationSeconds: 3600, epsilonBudget: 2 },
  };
}

describe('dataset and licence index (real EDR chain, Helia)', () => {
  let dir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let owner: SealfoldChain;
  let buyerClient: SealfoldChain;
  let ownerAddress: string;
  let buyerAddress: string;
  const ids: Record<string, string> = {};
  const licenceIds: Record<string, string> = {};

  const start = async () => {
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
        SEALFOLD_CONTRACTS: fixture.deploymentPath,
        SEALFOLD_INDEX_INTERVAL_MS: '100',
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      { logDestination: new PassThrough() },
    );
  };
  const get = async <T>(path: string): Promise<T> => (await (await fetch(`${coordinator.url}${path}`)).json()) as T;
  const eventually = async <T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => {
    const until = Date.now() + 30_000;
    for (;;) {
      const v = await read();
      if (ok(v) || Date.now() > until) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-datasets-'));
    fixture = await startChainFixture(join(dir, 'chain-data'));
    owner = await fixture.client(1);
    buyerClient = await fixture.client(2);
    ownerAddress = new Wallet(fixture.chain.accounts[1].privateKey).address;
    buyerAddress = new Wallet(fixture.chain.accounts[2].privateKey).address;
    await start();
    const store = coordinator.app.get<CoordinatorContentStore>(CONTENT_STORE);
    const register = async (key: string, m: Manifest) => {
      const cid = await store.add(serializeManifest(m));
      const { datasetId } = await owner.registerDataset({
        manifestCid: cid,
        commitment: `0x${m.commitment}`,
        terms: { priceWei: 1000n, licenceDuration: 3600n },
      });
      ids[key] = datasetId.toString();
    };
    await register('irisA', manifest(ownerAddress, 'iris A', ['setosa', 'versicolor', 'virginica']));
    await register('irisB', manifest(ownerAddress, 'iris B', ['virginica', 'setosa', 'versicolor']));
    await register('binary', manifest(ownerAddress, 'iris binary', ['setosa', 'other']));
    await register(
      'fewer',
      manifest(ownerAddress, 'iris petals', ['setosa', 'versicolor', 'virginica'], FEATURES.slice(2)),
    );
    // A manifest that names someone else as owner is indexed but flagged.
    await register('forged', manifest(buyerAddress, 'not mine', ['a', 'b']));
    licenceIds.valid = (await buyerClient.purchaseLicence(BigInt(ids.irisA))).licenceId.toString();
    licenceIds.revoked = (await buyerClient.purchaseLicence(BigInt(ids.irisB))).licenceId.toString();
    await owner.revokeLicence(BigInt(licenceIds.revoked), 'test');
  }, 120_000);

  afterAll(async () => {
    await coordinator?.close();
    await fixture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('indexes registered datasets with their validated manifests', async () => {
    const all = await eventually(
      () => get<{ id: string }[]>('/datasets'),
      (v) => v.length === 4,
    );
    expect(all.map((d) => d.id)).toEqual([ids.irisA, ids.irisB, ids.binary, ids.fewer]);
    const one = await get<{
      owner: string;
      name: string;
      features: { name: string }[];
      label: string;
      rows: number;
      manifest: { formatVersion: number };
    }>(`/datasets/${ids.irisA}`);
    expect(one).toMatchObject({
      owner: ownerAddress,
      name: 'iris A',
      label: 'species',
      rows: 50,
      manifest: { formatVersion: 1 },
    });
    expect(one.features.map((f) => f.name)).toEqual(FEATURES);
  });

  it('keeps a dataset whose manifest does not validate out of the default list, with the reason', async () => {
    const forged = await eventually(
      () => get<{ manifestError: string | null }>(`/datasets/${ids.forged}`),
      (v) => v.manifestError !== null,
    );
    expect(forged.manifestError).toMatch(/names owner/);
    const all = await get<{ id: string }[]>('/datasets?includeInvalid=true');
    expect(all.map((d) => d.id)).toContain(ids.forged);
  });

  it('filters by schema compatibility', async () => {
    const idsOf = async (q: string) => (await get<{ id: string }[]>(`/datasets?${q}`)).map((d) => d.id);
    expect(await idsOf(`compatibleWith=${ids.irisA}`)).toEqual([ids.irisA, ids.irisB]);
    expect(await idsOf('classes=setosa,virginica,versicolor')).toEqual([ids.irisA, ids.irisB, ids.fewer]);
    expect(await idsOf('features=sepal_length,petal_width')).toEqual([ids.irisA, ids.irisB, ids.binary]);
    expect(await idsOf('label=nope')).toEqual([]);
    const bad = await fetch(`${coordinator.url}/datasets?owner=me`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('INVALID_QUERY');
    expect((await fetch(`${coordinator.url}/datasets/999`)).status).toBe(404);
  });

  it('indexes licences with their revocation', async () => {
    const mine = await eventually(
      () =>
        get<{ id: string; revoked: boolean; active: boolean; holder: string }[]>(`/licences?holder=${buyerAddress}`),
      (v) => v.length === 2 && v.some((l) => l.revoked),
    );
    expect(mine).toEqual([
      expect.objectContaining({
        id: licenceIds.valid,
        datasetId: ids.irisA,
        holder: buyerAddress,
        revoked: false,
        active: true,
      }),
      expect.objectContaining({ id: licenceIds.revoked, datasetId: ids.irisB, revoked: true, active: false }),
    ]);
    expect((await get<{ id: string }[]>(`/licences?holder=${buyerAddress}&active=true`)).map((l) => l.id)).toEqual([
      licenceIds.valid,
    ]);
    expect(await get<unknown[]>(`/licences?holder=${ownerAddress}`)).toEqual([]);
  });

  it('resumes indexing from its persisted cursor after a restart', async () => {
    await coordinator.close();
    const { datasetId } = await owner.registerDataset({
      manifestCid: cidOf('late'),
      commitment: commitmentOf('late'),
      terms: { priceWei: 1n },
    });
    await start();
    const late = await eventually(
      () => fetch(`${coordinator.url}/datasets/${datasetId}`).then((r) => r.status),
      (s) => s === 200,
    );
    expect(late).toBe(200);
    expect((await get<unknown[]>('/datasets?includeInvalid=true')).length).toBe(6);
  });
});
