// Indexed datasets and licences (from chain events) with their manifests (from the content store).
import { Inject, Injectable } from '@nestjs/common';
import { parseManifest, type Manifest } from '@sealfold/dataset';
import { z } from 'zod';
import { CoordinatorDatabase } from '../database/database.js';
import { indexCursor } from '../database/index-cursor.js';
import type { ChainDataset, ChainLicence, ChainCursor } from '../chain/chain.port.js';

export interface DatasetView {
  id: string;
  owner: string;
  tokenUri: string;
  manifestCid: string | null;
  /** Why the manifest could not be fetched or validated (null when it was). */
  manifestError: string | null;
  name: string | null;
  /** Feature columns (all but the label), in file order, with their types. */
  features: { name: string; type: string }[] | null;
  label: string | null;
  classes: string[] | null;
  rows: number | null;
  manifest: Manifest | null;
  blockNumber: number;
}

export interface LicenceView {
  id: string;
  datasetId: string;
  holder: string;
  /** Unix seconds; 0 = never expires. */
  expiresAt: number;
  maxJobs: number | null;
  epsilonBudgetMilli: number | null;
  revoked: boolean;
  /** Unrevoked and unexpired now (the chain is the authority; this is the indexed view). */
  active: boolean;
  blockNumber: number;
}

interface DatasetRow {
  id: string;
  owner: string;
  token_uri: string;
  manifest_cid: string | null;
  manifest_json: string | null;
  manifest_error: string | null;
  name: string | null;
  features_json: string | null;
  label: string | null;
  classes_json: string | null;
  rows: number | null;
  block_number: number;
}

interface LicenceRow {
  id: string;
  dataset_id: string;
  holder: string;
  expires_at: number;
  max_jobs: number | null;
  epsilon_milli: number | null;
  revoked: number;
  block_number: number;
}

// The JSON columns are parsed and checked on read, never cast: the manifest against its own schema (@sealfold/dataset).
const featuresSchema = z.array(z.strictObject({ name: z.string(), type: z.string() }));
const classesSchema = z.array(z.string());

const toDataset = (r: DatasetRow): DatasetView => ({
  id: r.id,
  owner: r.owner,
  tokenUri: r.token_uri,
  manifestCid: r.manifest_cid,
  manifestError: r.manifest_error,
  name: r.name,
  features: r.features_json ? featuresSchema.parse(JSON.parse(r.features_json)) : null,
  label: r.label,
  classes: r.classes_json ? classesSchema.parse(JSON.parse(r.classes_json)) : null,
  rows: r.rows,
  manifest: r.manifest_json ? parseManifest(r.manifest_json) : null,
  blockNumber: r.block_number,
});

const toLicence = (r: LicenceRow, now: number): LicenceView => ({
  id: r.id,
  datasetId: r.dataset_id,
  holder: r.holder,
  expiresAt: r.expires_at,
  maxJobs: r.max_jobs,
  epsilonBudgetMilli: r.epsilon_milli,
  revoked: r.revoked === 1,
  active: r.revoked === 0 && (r.expires_at === 0 || r.expires_at > now),
  blockNumber: r.block_number,
});

/** Orders decimal ids numerically. */
const byId = <T extends { id: string }>(a: T, b: T) =>
  a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

@Injectable()
export class DatasetsRepository {
  constructor(@Inject(CoordinatorDatabase) private readonly db: CoordinatorDatabase) {}

  /** A cursor for the chain indexer, persisted in the database. */
  cursor(name: string): ChainCursor {
    return indexCursor(this.db, name);
  }

  /** Upserts the on-chain part of a dataset; a changed manifest CID clears the fetched manifest. */
  async upsertDataset(d: ChainDataset, block: bigint): Promise<void> {
    await this.db.run(
      `INSERT INTO datasets (id, owner, token_uri, manifest_cid, block_number, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, token_uri = excluded.token_uri,
         block_number = excluded.block_number, updated_at = excluded.updated_at,
         manifest_json = CASE WHEN datasets.manifest_cid IS NOT DISTINCT FROM excluded.manifest_cid THEN datasets.manifest_json END,
         manifest_cid = excluded.manifest_cid`,
      d.datasetId.toString(),
      d.owner,
      d.tokenUri,
      d.manifestCid,
      Number(block),
      Date.now(),
    );
  }

  async setManifest(id: string, manifest: Manifest): Promise<void> {
    const features = manifest.schema.columns
      .filter((c) => c.name !== manifest.schema.label)
      .map((c) => ({ name: c.name, type: c.type }));
    await this.db.run(
      `UPDATE datasets SET manifest_json = ?, manifest_error = NULL, name = ?, features_json = ?, label = ?,
         classes_json = ?, rows = ?, updated_at = ? WHERE id = ?`,
      JSON.stringify(manifest),
      manifest.name,
      JSON.stringify(features),
      manifest.schema.label,
      JSON.stringify(manifest.classes),
      manifest.rows,
      Date.now(),
      id,
    );
  }

  async setManifestError(id: string, error: string): Promise<void> {
    await this.db.run(
      'UPDATE datasets SET manifest_error = ?, updated_at = ? WHERE id = ?',
      error.slice(0, 1000),
      Date.now(),
      id,
    );
  }

  /** Datasets whose manifest is still missing (fetch failed or not tried). */
  async withoutManifest(limit: number): Promise<DatasetView[]> {
    const rows = await this.db.all<DatasetRow>(
      'SELECT * FROM datasets WHERE manifest_json IS NULL ORDER BY updated_at, id LIMIT ?',
      limit,
    );
    return rows.map(toDataset);
  }

  async getDataset(id: string): Promise<DatasetView | undefined> {
    const r = await this.db.get<DatasetRow>('SELECT * FROM datasets WHERE id = ?', id);
    return r && toDataset(r);
  }

  async datasets(filter: { owner?: string; label?: string }): Promise<DatasetView[]> {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.owner) {
      where.push('lower(owner) = ?');
      params.push(filter.owner.toLowerCase());
    }
    if (filter.label) {
      where.push('label = ?');
      params.push(filter.label);
    }
    const rows = await this.db.all<DatasetRow>(
      `SELECT * FROM datasets ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`,
      ...params,
    );
    return rows.map(toDataset).sort(byId);
  }

  async upsertLicence(l: ChainLicence, block: bigint): Promise<void> {
    await this.db.run(
      `INSERT INTO licences (id, dataset_id, holder, expires_at, max_jobs, epsilon_milli, revoked, block_number, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET dataset_id = excluded.dataset_id, holder = excluded.holder,
         expires_at = excluded.expires_at, max_jobs = excluded.max_jobs, epsilon_milli = excluded.epsilon_milli,
         revoked = excluded.revoked, block_number = excluded.block_number, updated_at = excluded.updated_at`,
      l.licenceId.toString(),
      l.datasetId.toString(),
      l.holder,
      Number(l.expiresAt),
      l.maxJobs,
      l.epsilonBudgetMilli,
      l.revoked ? 1 : 0,
      Number(block),
      Date.now(),
    );
  }

  async licences(filter: { holder?: string; datasetId?: string }): Promise<LicenceView[]> {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.holder) {
      where.push('lower(holder) = ?');
      params.push(filter.holder.toLowerCase());
    }
    if (filter.datasetId) {
      where.push('dataset_id = ?');
      params.push(filter.datasetId);
    }
    const now = Math.floor(Date.now() / 1000);
    const rows = await this.db.all<LicenceRow>(
      `SELECT * FROM licences ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`,
      ...params,
    );
    return rows.map((r) => toLicence(r, now)).sort(byId);
  }
}
