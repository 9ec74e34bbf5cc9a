// The buyer's job request: what gets signed (EIP-712, libs/chain eip712.ts) and what travels as JSON.
// Integers that may exceed 2^53 (uint64/uint256) travel as decimal strings in JSON and are bigint in memory.
// DP parameters are fixed-point integers so that the signed message is exact (no float encoding in EIP-712).
import { z } from 'zod';

/** Fixed-point scales of the DP parameters. */
export const DP_NOISE_SCALE = 1_000; // noise multiplier σ in thousandths
export const DP_CLIP_SCALE = 1_000_000; // clipping norm C in millionths
export const DP_DELTA_SCALE = 10n ** 18n; // δ in units of 1e-18
export const JOB_MAX_ROUNDS = 10_000;
export const JOB_MAX_DATASETS = 256;

export const UINT32_MAX = 0xffff_ffff;
export const UINT64_MAX = 2n ** 64n - 1n;
export const UINT256_MAX = 2n ** 256n - 1n;

/** Differential-privacy parameters as signed: σ·1000, C·10^6, δ·10^18. noiseMultiplierMilli 0 means no DP noise. */
export interface JobDpParams {
  readonly noiseMultiplierMilli: number;
  readonly clipNormMicro: bigint;
  readonly deltaAtto: bigint;
}

export interface JobRequest {
  /** Ethereum address of the buyer (0x + 40 hex). */
  readonly buyer: string;
  /** Dataset token ids; `licences[i]` is the licence token covering `datasets[i]`. */
  readonly datasets: readonly bigint[];
  readonly licences: readonly bigint[];
  /** bytes32 hash of the model specification (0x + 64 hex). */
  readonly modelSpecHash: string;
  /** Aggregation strategy name, e.g. `fedavg`. */
  readonly strategy: string;
  readonly rounds: number;
  readonly dp: JobDpParams;
  readonly nonce: bigint;
  /** Unix seconds after which the request is no longer valid. */
  readonly deadline: bigint;
  readonly chainId: bigint;
}

const decimal = (max: bigint, what: string) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]*)$/, `${what} must be a decimal integer string`)
    .transform((s) => BigInt(s))
    .refine((v) => v <= max, `${what} out of range`);

export const jobDpParamsJsonSchema = z
  .object({
    noiseMultiplierMilli: z.number().int().min(0).max(UINT32_MAX),
    clipNormMicro: decimal(UINT64_MAX, 'clipNormMicro'),
    deltaAtto: decimal(UINT64_MAX, 'deltaAtto'),
  })
  .strict()
  .refine((d) => d.deltaAtto < DP_DELTA_SCALE, { message: 'delta must be below 1', path: ['deltaAtto'] })
  .refine((d) => d.noiseMultiplierMilli === 0 || d.clipNormMicro > 0n, {
    message: 'a noisy job needs a positive clipping norm',
    path: ['clipNormMicro'],
  });

/** JSON form of a JobRequest (bigints as decimal strings); parses into a `JobRequest`. */
export const jobRequestJsonSchema = z
  .object({
    buyer: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'buyer must be an address'),
    datasets: z.array(decimal(UINT256_MAX, 'dataset id')).min(1).max(JOB_MAX_DATASETS),
    licences: z.array(decimal(UINT256_MAX, 'licence id')).min(1).max(JOB_MAX_DATASETS),
    modelSpecHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'modelSpecHash must be 32 bytes hex'),
    strategy: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'strategy must be a lower-case name'),
    rounds: z.number().int().min(1).max(JOB_MAX_ROUNDS),
    dp: jobDpParamsJsonSchema,
    nonce: decimal(UINT256_MAX, 'nonce'),
    deadline: decimal(UINT64_MAX, 'deadline'),
    chainId: decimal(UINT256_MAX, 'chainId').refine((v) => v > 0n, 'chainId must be positive'),
  })
  .strict()
  .refine((r) => r.datasets.length === r.licences.length, {
    message: 'one licence per dataset',
    path: ['licences'],
  })
  .refine((r) => new Set(r.datasets.map(String)).size === r.datasets.length, {
    message: 'datasets must be distinct',
    path: ['datasets'],
  });

export type JobRequestJson = z.input<typeof jobRequestJsonSchema>;

/** Parses and validates the JSON form; throws a ZodError naming the bad field. */
export function parseJobRequest(json: unknown): JobRequest {
  return jobRequestJsonSchema.parse(json);
}

export function jobRequestToJson(req: JobRequest): JobRequestJson {
  return {
    buyer: req.buyer,
    datasets: req.datasets.map(String),
    licences: req.licences.map(String),
    modelSpecHash: req.modelSpecHash,
    strategy: req.strategy,
    rounds: req.rounds,
    dp: {
      noiseMultiplierMilli: req.dp.noiseMultiplierMilli,
      clipNormMicro: req.dp.clipNormMicro.toString(),
      deltaAtto: req.dp.deltaAtto.toString(),
    },
    nonce: req.nonce.toString(),
    deadline: req.deadline.toString(),
    chainId: req.chainId.toString(),
  };
}

/** Converts float DP parameters to the signed fixed-point form, rounding to the nearest unit. */
export function dpParamsFromFloats(p: { noiseMultiplier: number; clipNorm: number; delta: number }): JobDpParams {
  const finite = (v: number, what: string) => {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${what} must be a finite non-negative number`);
  };
  finite(p.noiseMultiplier, 'noiseMultiplier');
  finite(p.clipNorm, 'clipNorm');
  finite(p.delta, 'delta');
  if (p.delta >= 1) throw new RangeError('delta must be below 1');
  const noiseMultiplierMilli = Math.round(p.noiseMultiplier * DP_NOISE_SCALE);
  if (noiseMultiplierMilli > UINT32_MAX) throw new RangeError('noiseMultiplier too large');
  const clipNormMicro = BigInt(Math.round(p.clipNorm * DP_CLIP_SCALE));
  if (clipNormMicro > UINT64_MAX) throw new RangeError('clipNorm too large');
  const deltaAtto = BigInt(Math.round(p.delta * 1e18));
  return { noiseMultiplierMilli, clipNormMicro, deltaAtto };
}

export function dpParamsToFloats(dp: JobDpParams): { noiseMultiplier: number; clipNorm: number; delta: number } {
  return {
    noiseMultiplier: dp.noiseMultiplierMilli / DP_NOISE_SCALE,
    clipNorm: Number(dp.clipNormMicro) / DP_CLIP_SCALE,
    delta: Number(dp.deltaAtto) / 1e18,
  };
}
