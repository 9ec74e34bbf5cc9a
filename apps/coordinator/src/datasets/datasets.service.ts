import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { ChainService } from '../chain/chain.service.js';
import { ApiError, parseOr400 } from '../common/api-error.js';
import { DatasetsRepository, type DatasetView, type LicenceView } from './datasets.repository.js';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be an address');
const decimalId = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'must be a decimal id');
const list = z
  .string()
  .max(10_000)
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );

export const datasetQuerySchema = z
  .object({
    owner: address.optional(),
    /** Feature column names the dataset must have (comma-separated). */
    features: list.optional(),
    /** Name of the label column. */
    label: z.string().min(1).max(256).optional(),
    /** Classes the label must have, exactly (comma-separated, any order). */
    classes: list.optional(),
    /** Only datasets schema-compatible with this one: same feature columns (names, types, order), label and classes. */
    compatibleWith: decimalId.optional(),
    /** Include datasets whose manifest could not be fetched or validated (default false). */
    includeInvalid: z.enum(['true', 'false']).optional(),
  })
  .strict();

export const licenceQuerySchema = z
  .object({ holder: address.optional(), datasetId: decimalId.optional(), active: z.enum(['true', 'false']).optional() })
  .strict();

export interface TermsView {
  datasetId: string;
  priceWei: string;
  paymentToken: string;
  priceToken: string;
  licenceDuration: string;
  maxJobs: number;
  epsilonBudgetMilli: number;
  /** What ε protects: 'record' (any one row of the dataset) or 'owner' (the whole dataset). */
  dpLevel: 'record' | 'owner';
  minOwners: number;
  royaltyBps: number;
  listed: boolean;
  termsHash: string;
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

@Injectable()
export class DatasetsService {
  constructor(
    @Inject(DatasetsRepository) private readonly repo: DatasetsRepository,
    @Inject(ChainService) private readonly chain: ChainService,
  ) {}

  async list(query: unknown): Promise<DatasetView[]> {
    const q = parseOr400(datasetQuerySchema, query, 'QUERY');
    let reference: DatasetView | undefined;
    if (q.compatibleWith) {
      reference = await this.get(q.compatibleWith);
      if (!reference.features)
        throw new ApiError(409, 'NO_MANIFEST', `dataset ${q.compatibleWith} has no valid manifest`);
    }
    return (await this.repo.datasets({ owner: q.owner, label: q.label })).filter((d) => {
      if (q.includeInvalid !== 'true' && !d.features) return false;
      if (q.features && !(d.features && q.features.every((f) => d.features!.some((c) => c.name === f)))) return false;
      if (q.classes && !(d.classes && sameSet(d.classes, q.classes))) return false;
      if (reference) {
        const a = reference.features!;
        const b = d.features ?? [];
        if (a.length !== b.length || a.some((c, i) => c.name !== b[i].name || c.type !== b[i].type)) return false;
        if (d.label !== reference.label || !sameSet(d.classes ?? [], reference.classes ?? [])) return false;
      }
      return true;
    });
  }

  async get(id: string): Promise<DatasetView> {
    parseOr400(decimalId, id, 'DATASET_ID');
    const d = await this.repo.getDataset(id);
    if (!d) throw new ApiError(404, 'DATASET_NOT_FOUND', `no indexed dataset ${id}`);
    return d;
  }

  /**
   * The listing of an indexed dataset, read on chain now (never from the index: a buyer pins exactly these terms).
   * Integers are decimal strings; `termsHash` is what DatasetLicence.purchase pins.
   */
  async terms(id: string): Promise<TermsView> {
    await this.get(id);
    const t = await this.chain.require().getTerms(BigInt(id));
    return {
      datasetId: id,
      priceWei: t.priceWei.toString(),
      paymentToken: t.paymentToken,
      priceToken: t.priceToken.toString(),
      licenceDuration: t.licenceDuration.toString(),
      maxJobs: t.maxJobs,
      epsilonBudgetMilli: t.epsilonBudgetMilli,
      dpLevel: t.dpLevel,
      minOwners: t.minOwners,
      royaltyBps: t.royaltyBps,
      listed: t.listed,
      termsHash: t.termsHash,
    };
  }

  async licences(query: unknown): Promise<LicenceView[]> {
    const q = parseOr400(licenceQuerySchema, query, 'QUERY');
    return (await this.repo.licences({ holder: q.holder, datasetId: q.datasetId })).filter(
      (l) => q.active === undefined || l.active === (q.active === 'true'),
    );
  }
}
