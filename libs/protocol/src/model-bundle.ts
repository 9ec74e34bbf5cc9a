// The `sealfold-model/v1` bundle: what the coordinator encrypts to the buyer (age v1) and stores, and what
// `sealfold model pull` decrypts. One schema for the writer and the reader; the reader validates every field.
import { z } from 'zod';
import { SealfoldError } from './errors.js';
import { UINT32_MAX, jobRequestJsonSchema } from './job.js';

export const MODEL_BUNDLE_FORMAT = 'sealfold-model/v1';

const roundMetricsSchema = z.strictObject({
  round: z.number().int().min(1),
  participants: z.number().int().min(0),
  loss: z.number().nullable(),
  accuracy: z.number().min(0).max(1).nullable(),
});

/** The bundle's metadata: also what `GET /models/:jobId` returns as `metadata`. */
export const modelBundleMetadataSchema = z.strictObject({
  format: z.literal(MODEL_BUNDLE_FORMAT),
  /** 64 hex digits: the EIP-712 digest of the signed JobRequest. */
  jobId: z.string().regex(/^[0-9a-f]{64}$/),
  modelSpecHash: z.string().regex(/^(0x)?[0-9a-f]{64}$/),
  strategy: z.string().min(1),
  rounds: z.number().int().min(0),
  datasets: z.array(z.string().regex(/^[0-9]+$/)).min(1),
  /** ε·1000 rounded up; EPSILON_UNBOUNDED_MILLI when the job added no DP noise (libs/protocol job.ts). */
  epsilonSpentMilli: z.number().int().min(0).max(UINT32_MAX),
  delta: z.number().min(0).max(1),
  metrics: z.array(roundMetricsSchema),
});

export const modelBundleSchema = modelBundleMetadataSchema.extend({
  /** The signed request, in its JSON form (job.ts jobRequestToJson). */
  request: z.unknown().refine((r) => jobRequestJsonSchema.safeParse(r).success, 'request is not a valid JobRequest'),
  /** The model spec the weights belong to (libs/fl parseModelSpec validates it). */
  modelSpec: z.unknown(),
  /** base64 of the libs/fl weight codec. */
  weights: z.base64(),
});

export type ModelBundleMetadata = z.infer<typeof modelBundleMetadataSchema>;
export type ModelBundle = z.infer<typeof modelBundleSchema>;

export class ModelBundleError extends SealfoldError<'BAD_MODEL'> {
  override readonly name = 'ModelBundleError';
  constructor(message: string) {
    super('BAD_MODEL', message);
  }
}

/** Parses decrypted bundle bytes; throws ModelBundleError naming the first bad field. */
export function parseModelBundle(bytes: Uint8Array | string): ModelBundle {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ModelBundleError('the model bundle is not UTF-8 JSON');
  }
  const r = modelBundleSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ModelBundleError(
      `invalid ${MODEL_BUNDLE_FORMAT} bundle: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  return r.data;
}

/** Serialises a bundle (validated first, so the writer cannot produce what the reader refuses). */
export function encodeModelBundle(bundle: ModelBundle): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(modelBundleSchema.parse(bundle)));
}
