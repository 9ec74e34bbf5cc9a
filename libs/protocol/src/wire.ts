// The silo ↔ coordinator wire: every WebSocket message is one binary frame with a versioned envelope.
// Silos connect OUT to the coordinator (`/silo`), so the transport works behind NAT.
//
// Frame (version 1), little-endian:
//   0  2  magic "SW" (0x53 0x57)
//   2  1  version (1)
//   3  1  frame type (WIRE_FRAME_TYPES)
//   4  4  round (uint32; 0 outside a round)
//   8  1  stage (uint8; the SecAgg+ type code for `secagg` frames, else 0)
//   9  1  job id length L (0..64; 0 = no job), then L bytes of UTF-8
//  10+L 4 payload length P, then exactly P payload bytes — nothing may follow.
// Control frames carry UTF-8 JSON validated by the zod schema of their type (`WIRE_CONTROL_SCHEMAS`); data frames
// carry binary payloads (SecAgg+ frames from secagg-codec.ts, weight vectors from @sealfold/fl's codec).
// Decoding checks every length before it reads or allocates and throws WireCodecError with a code.
import { SealfoldError } from './errors.js';
import { z } from 'zod';
import { jobRequestJsonSchema } from './job.js';
import { jobSchemaSchema } from './job-schema.js';

export const WIRE_VERSION = 1;
const MAGIC0 = 0x53;
const MAGIC1 = 0x57;
export const WIRE_MAX_JOB_ID_BYTES = 64;
export const WIRE_HEADER_BYTES = 14; // without the job id
/** Default ceiling on a frame: a d = 2^22 vector plus headroom. The coordinator's SEALFOLD_MAX_FRAME_BYTES wins. */
export const WIRE_DEFAULT_MAX_FRAME_BYTES = 4 * (1 << 22) + 64 * 1024;

/** WebSocket sub-protocol the silo asks for (Sec-WebSocket-Protocol). */
export const WIRE_SUBPROTOCOL = 'sealfold-silo.v1';

export const WIRE_FRAME_TYPES = Object.freeze({
  /** server → silo, JSON: the authentication challenge, sent as soon as the socket opens. */
  challenge: 1,
  /** silo → server, JSON: address + EIP-191 signature over `siloAuthMessage(...)`. */
  auth: 2,
  /** server → silo, JSON: authenticated. */
  'auth-ok': 3,
  /** silo → server, JSON: dataset ids the silo serves. */
  announce: 4,
  /** server → silo, JSON: which announced datasets were accepted (ownership checked on chain). */
  'announce-result': 5,
  /** server → silo, JSON: a job the silo is invited to (signed request + its SecAgg+ client id + parameters). */
  'job-offer': 6,
  /** silo → server, JSON: accept or decline an offer (the silo checks the licence on chain itself). */
  'job-reply': 7,
  /** server → silo, binary: the global model for `round` (payload = @sealfold/fl encodeWeights). */
  'round-start': 8,
  /** both ways, binary: a SecAgg+ message (payload = encodeSecAggMessage); stage = its type code. */
  secagg: 9,
  /** silo → server, binary: an unmasked update for jobs without secure aggregation: f64 weight ‖ encodeWeights. */
  'plain-update': 10,
  /**
   * server → silo, binary: evaluate the new global model of `round` (payload = encodeWeights). With SecAgg+ the
   * result goes through a SecAgg+ run of its own (round id `evaluationRound(round)`); otherwise as `eval-result`.
   */
  evaluate: 11,
  /** silo → server, JSON: federated evaluation result on the silo's held-out split (jobs without SecAgg+ only). */
  'eval-result': 12,
  /** server → silo, JSON: the job ended (completed, failed, cancelled). */
  'job-end': 13,
  /** both ways, JSON: a non-fatal error report. */
  error: 14,
  /**
   * server → silo, JSON: the round's members (SecAgg+ client id → wallet address → dataset), sent before the
   * SecAgg+ setup of every round; the silo's `walletOf` for session certificates (checkable on chain via ownerOf).
   */
  roster: 15,
  /**
   * server → silo, JSON: the job's secure feature statistics are being summed (issue 13 §4). With SecAgg+ the silo
   * contributes to the run of round id STATISTICS_ROUND; without it, it sends a `plain-update` of that round.
   */
  'statistics-request': 16,
  /** server → silo, JSON: the summed statistics (every silo standardises and imputes with these global figures). */
  statistics: 17,
  /**
   * server → silo, JSON: sign the job's receipt (issue 20): the JobReceipt and the transcript it is built from. The
   * silo checks it against its own ledger and the escrow on chain, then answers `receipt-signature`.
   */
  'receipt-request': 18,
  /** silo → server, JSON: the silo signer's EIP-712 signature of the receipt, or why it refused to sign. */
  'receipt-signature': 19,
} as const);

/**
 * The SecAgg+ (and plain-update) round id of the job's feature-statistics sum, run once before round 1: the
 * evaluation id of round 0, which no evaluation uses (rounds start at 1).
 */
export const STATISTICS_ROUND = 0x8000_0000;

/**
 * The SecAgg+ round id of round `round`'s federated evaluation: the same job, session keys and certificates, but a
 * round id of its own (high bit set), so its keys, masks and messages never mix with the training sum's. Secure-
 * aggregation `secagg` frames of the evaluation carry this id as their round.
 */
export const EVALUATION_ROUND_BIT = 0x8000_0000;
export function evaluationRound(round: number): number {
  if (!Number.isInteger(round) || round < 0 || round >= EVALUATION_ROUND_BIT)
    throw new RangeError('a round number is an integer in [0, 2^31)');
  return EVALUATION_ROUND_BIT + round;
}

export type WireFrameType = keyof typeof WIRE_FRAME_TYPES;
const TYPE_BY_CODE = new Map<number, WireFrameType>(
  Object.entries(WIRE_FRAME_TYPES).map(([type, code]) => [code, type as WireFrameType]),
);

/** WebSocket close codes (RFC 6455 §7.4.2: 4000–4999 are for applications) sent with a reason text. */
export const WIRE_CLOSE_CODES = Object.freeze({
  /** RFC 6455: endpoint going away (coordinator shutdown). */
  goingAway: 1001,
  /** RFC 6455: message too big (raised by the WebSocket layer before the frame is buffered). */
  messageTooBig: 1009,
  /** The frame failed to decode (bad magic, version, type, lengths, JSON or schema). */
  malformedFrame: 4400,
  /** The challenge answer did not verify (wrong signature, address, nonce or an expired challenge). */
  authFailed: 4401,
  /** The frame was valid but not allowed in the connection's state (e.g. data before auth). */
  protocolViolation: 4403,
  /** No authentication within the challenge's lifetime. */
  authTimeout: 4408,
  /** The same silo address connected again; the older connection is closed. */
  replaced: 4409,
  /** Declared frame size above the coordinator's limit (a frame the WebSocket layer let through). */
  frameTooLarge: 4413,
  /** A text (non-binary) WebSocket message. */
  textFrame: 4415,
  /** Past a per-connection limit: too many datasets in an announcement or on the connection, or announces too often. */
  tooManyRequests: 4429,
} as const);

export type WireCodecErrorCode =
  | 'TRUNCATED'
  | 'OVERSIZED'
  | 'BAD_MAGIC'
  | 'BAD_VERSION'
  | 'UNKNOWN_TYPE'
  | 'BAD_LENGTH'
  | 'BAD_FIELD'
  | 'BAD_JSON'
  | 'TRAILING_BYTES';

export class WireCodecError extends SealfoldError<WireCodecErrorCode> {
  override readonly name = 'WireCodecError';
}

const fail = (code: WireCodecErrorCode, message: string): never => {
  throw new WireCodecError(code, message);
};

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export interface WireFrame {
  readonly type: WireFrameType;
  /** Empty string when the frame is not about a job. */
  readonly jobId: string;
  readonly round: number;
  readonly stage: number;
  readonly payload: Uint8Array;
}

export interface WireDecodeOptions {
  /** Largest accepted frame in bytes (default WIRE_DEFAULT_MAX_FRAME_BYTES). */
  readonly maxFrameBytes?: number;
}

export function encodeWireFrame(frame: WireFrame): Uint8Array {
  const code = WIRE_FRAME_TYPES[frame.type];
  if (code === undefined) fail('UNKNOWN_TYPE', `unknown frame type ${String(frame.type)}`);
  if (!Number.isInteger(frame.round) || frame.round < 0 || frame.round > 0xffff_ffff)
    fail('BAD_FIELD', 'round must be uint32');
  if (!Number.isInteger(frame.stage) || frame.stage < 0 || frame.stage > 0xff) fail('BAD_FIELD', 'stage must be uint8');
  if (!(frame.payload instanceof Uint8Array)) fail('BAD_FIELD', 'payload must be a Uint8Array');
  const job = utf8.encode(frame.jobId);
  if (job.length > WIRE_MAX_JOB_ID_BYTES) fail('BAD_FIELD', `job id longer than ${WIRE_MAX_JOB_ID_BYTES} bytes`);
  const out = new Uint8Array(WIRE_HEADER_BYTES + job.length + frame.payload.length);
  const view = new DataView(out.buffer);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = WIRE_VERSION;
  out[3] = code;
  view.setUint32(4, frame.round, true);
  out[8] = frame.stage;
  out[9] = job.length;
  out.set(job, 10);
  view.setUint32(10 + job.length, frame.payload.length, true);
  out.set(frame.payload, WIRE_HEADER_BYTES + job.length);
  return out;
}

/** Strict decode: every length is checked against the frame and the size limit; nothing may trail the payload. */
export function decodeWireFrame(bytes: Uint8Array, options: WireDecodeOptions = {}): WireFrame {
  const max = options.maxFrameBytes ?? WIRE_DEFAULT_MAX_FRAME_BYTES;
  if (!(bytes instanceof Uint8Array)) fail('BAD_FIELD', 'frame must be a Uint8Array');
  if (bytes.length > max) fail('OVERSIZED', `frame of ${bytes.length} bytes exceeds ${max}`);
  if (bytes.length < WIRE_HEADER_BYTES) fail('TRUNCATED', `frame of ${bytes.length} bytes is shorter than a header`);
  if (bytes[0] !== MAGIC0 || bytes[1] !== MAGIC1) fail('BAD_MAGIC', 'not a Sealfold wire frame');
  if (bytes[2] !== WIRE_VERSION) fail('BAD_VERSION', `unsupported wire version ${bytes[2]}`);
  const type = TYPE_BY_CODE.get(bytes[3]) ?? fail('UNKNOWN_TYPE', `unknown frame type code ${bytes[3]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const round = view.getUint32(4, true);
  const stage = bytes[8];
  const jobLength = bytes[9];
  if (jobLength > WIRE_MAX_JOB_ID_BYTES)
    fail('BAD_LENGTH', `job id length ${jobLength} exceeds ${WIRE_MAX_JOB_ID_BYTES}`);
  if (bytes.length < WIRE_HEADER_BYTES + jobLength) fail('TRUNCATED', 'frame ends inside the job id');
  let jobId: string;
  try {
    jobId = utf8Decoder.decode(bytes.subarray(10, 10 + jobLength));
  } catch {
    return fail('BAD_FIELD', 'job id is not UTF-8');
  }
  const payloadLength = view.getUint32(10 + jobLength, true);
  const expected = WIRE_HEADER_BYTES + jobLength + payloadLength;
  if (expected > max) fail('OVERSIZED', `declared frame of ${expected} bytes exceeds ${max}`);
  if (bytes.length < expected) fail('TRUNCATED', `payload declares ${payloadLength} bytes, frame holds fewer`);
  if (bytes.length > expected) fail('TRAILING_BYTES', `${bytes.length - expected} bytes after the payload`);
  return { type, jobId, round, stage, payload: bytes.slice(WIRE_HEADER_BYTES + jobLength) };
}

// ------------------------------------------------------------------------------------------- control messages

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be an address');
const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, 'must be 32 bytes of lower-case hex');
const decimalId = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'must be a decimal integer string');
const jobId = z.string().min(1).max(WIRE_MAX_JOB_ID_BYTES);

export const wireChallengeSchema = z
  .object({
    /** Stable identifier of the coordinator, part of the signed message (domain separation). */
    coordinatorId: z.string().min(1).max(128),
    nonce: hex32,
    /** Unix milliseconds after which an answer is refused. */
    expiresAt: z.number().int().positive(),
    /** The chain the coordinator checks ownership and licences on (decimal). */
    chainId: decimalId,
  })
  .strict();

export const wireAuthSchema = z
  .object({
    address,
    /** EIP-191 personal_sign signature (65 bytes hex) over siloAuthMessage(challenge, address). */
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte signature'),
  })
  .strict();

export const wireAuthOkSchema = z.object({ address, sessionId: z.string().min(1).max(64) }).strict();

export const wireAnnounceSchema = z.object({ datasets: z.array(decimalId).max(1024) }).strict();

export const wireAnnounceResultSchema = z
  .object({
    accepted: z.array(decimalId),
    rejected: z.array(z.object({ datasetId: decimalId, reason: z.string().max(512) }).strict()),
  })
  .strict();

export const wireJobOfferSchema = z
  .object({
    /** The EIP-712 digest of `request` (64 hex, no 0x): the silo recomputes it and refuses any other id. */
    jobId,
    /**
     * The buyer's request in JSON form and its EIP-712 signature: the silo verifies both itself, and takes the
     * recipient, training settings, DP parameters and SecAgg+ terms from it, never from the coordinator.
     */
    request: jobRequestJsonSchema,
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
    /** The model specification (@sealfold/fl ModelSpec JSON); the silo checks modelSpecHash(modelSpec) equals the request's. */
    modelSpec: z.record(z.string(), z.unknown()),
    /** Which of the request's datasets this silo contributes. */
    datasetId: decimalId,
    /** The silo's SecAgg+ client id for the whole job. */
    clientId: z.number().int().min(0).max(0xffff_fffe),
    /** Number of model parameters d. */
    dimension: z.number().int().positive(),
    /** The job schema; the silo checks jobSchemaHash(jobSchema) equals the signed request.jobSchemaHash. */
    jobSchema: jobSchemaSchema,
    // No SecAgg+ parameters: enabled, clip, maxWeight and the minimum contributors are signed in `request`, and
    // k, t and the quantisation bits each silo derives itself from the verified roster (libs/secagg deriveRoundParams).
  })
  .strict();

export const wireJobReplySchema = z
  .object({
    jobId,
    datasetId: decimalId,
    accept: z.boolean(),
    /** Why the silo declined (e.g. `LICENCE_INVALID`, `BUDGET_EXHAUSTED`). */
    reason: z.string().max(512).optional(),
  })
  .strict();

export const wireEvalResultSchema = z
  .object({
    jobId,
    round: z.number().int().min(0),
    loss: z.number().nonnegative(),
    accuracy: z.number().min(0).max(1),
    examples: z.number().int().positive(),
  })
  .strict();

export const wireJobEndSchema = z
  .object({
    jobId,
    status: z.enum(['completed', 'failed', 'cancelled']),
    reason: z.string().max(1024).optional(),
  })
  .strict();

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const figure = z.number().refine(Number.isFinite, 'must be finite');

/** Feature statistics summed over the owners (libs/fl JobStatistics), in the job schema's feature order. */
export const wireStatisticsSchema = z
  .object({
    jobId,
    statistics: z
      .object({
        rows: count,
        labelCounts: z.array(count).max(65_536),
        features: z
          .array(
            z.discriminatedUnion('type', [
              z.object({ type: z.literal('numeric'), count, missing: count, sum: figure, sumSquares: figure }).strict(),
              z
                .object({ type: z.literal('categorical'), missing: count, levelCounts: z.array(count).max(65_536) })
                .strict(),
            ]),
          )
          .max(100_000),
      })
      .strict(),
  })
  .strict();

export const wireStatisticsRequestSchema = z.object({ jobId }).strict();

export const wireRosterSchema = z
  .object({
    jobId,
    round: z.number().int().min(1),
    members: z
      .array(z.object({ clientId: z.number().int().min(0).max(0xffff_fffe), address, datasetId: decimalId }).strict())
      .min(1)
      .max(65_535),
  })
  .strict();

export const wireErrorSchema = z.object({ code: z.string().min(1).max(64), message: z.string().max(1024) }).strict();

const uint32 = z.number().int().min(0).max(0xffff_ffff);
/** A job escrow's dataset index (JobEscrow.MAX_DATASETS = 256). */
const escrowIndex = z.number().int().min(0).max(255);

/** The JobReceipt a silo is asked to sign (libs/chain job-receipt.ts; JobEscrow's EIP-712 struct). */
export const wireJobReceiptSchema = z
  .object({
    jobId: hex32,
    roundsCompleted: uint32,
    modelDigest: hex32,
    modelCidDigest: hex32,
    transcriptRoot: hex32,
    roundsByDataset: z.array(uint32).min(1).max(256),
    epsilonSpentMilli: uint32,
    valuationDigest: hex32,
  })
  .strict()
  .refine((r) => r.roundsByDataset.every((n) => n <= r.roundsCompleted), {
    message: 'no dataset contributes to more rounds than were completed',
    path: ['roundsByDataset'],
  });

export const wireReceiptRequestSchema = z
  .object({
    jobId,
    /** The dataset of the job this silo signs for (its pinned silo signer signs). */
    datasetId: decimalId,
    receipt: wireJobReceiptSchema,
    /**
     * The completed rounds in order: survivors are job (escrow) indices whose masked input entered the round's
     * unmasked sum; modelDigest the SHA-256 of the global model the round produced. The silo recomputes
     * transcriptRoot, roundsByDataset and modelDigest from it.
     */
    transcript: z
      .array(
        z
          .object({
            round: z.number().int().min(1).max(0xffff_ffff),
            survivors: z.array(escrowIndex).max(256),
            modelDigest: hex32,
          })
          .strict(),
      )
      .max(100_000),
  })
  .strict()
  .refine((m) => m.transcript.length === m.receipt.roundsCompleted, {
    message: 'the transcript lists exactly the rounds completed',
    path: ['transcript'],
  });

export const wireReceiptSignatureSchema = z
  .object({
    jobId,
    datasetId: decimalId,
    /** EIP-712 signature (65 bytes) of the receipt by the dataset's silo signer. */
    signature: z
      .string()
      .regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte signature')
      .optional(),
    /** Why the silo refused to sign (the refusal reason, then its message). */
    refused: z.string().min(1).max(1024).optional(),
  })
  .strict()
  .refine((m) => (m.signature === undefined) !== (m.refused === undefined), {
    message: 'a signature or a refusal, exactly one',
  });

export const WIRE_CONTROL_SCHEMAS = {
  challenge: wireChallengeSchema,
  auth: wireAuthSchema,
  'auth-ok': wireAuthOkSchema,
  announce: wireAnnounceSchema,
  'announce-result': wireAnnounceResultSchema,
  'job-offer': wireJobOfferSchema,
  'job-reply': wireJobReplySchema,
  'eval-result': wireEvalResultSchema,
  'job-end': wireJobEndSchema,
  error: wireErrorSchema,
  roster: wireRosterSchema,
  'statistics-request': wireStatisticsRequestSchema,
  statistics: wireStatisticsSchema,
  'receipt-request': wireReceiptRequestSchema,
  'receipt-signature': wireReceiptSignatureSchema,
} as const;

export type WireControlType = keyof typeof WIRE_CONTROL_SCHEMAS;
/** The JSON body of a control frame as written (input form, e.g. bigints as decimal strings). */
export type WireControlInput<T extends WireControlType> = z.input<(typeof WIRE_CONTROL_SCHEMAS)[T]>;
/** The parsed body of a control frame. */
export type WireControl<T extends WireControlType> = z.output<(typeof WIRE_CONTROL_SCHEMAS)[T]>;

export const isWireControlType = (type: WireFrameType): type is WireControlType => type in WIRE_CONTROL_SCHEMAS;

export function encodeControlFrame<T extends WireControlType>(
  type: T,
  body: WireControlInput<T>,
  options: { jobId?: string; round?: number } = {},
): Uint8Array {
  // Validate before sending: a peer must never receive a frame we would refuse ourselves.
  checkControlBody(type, WIRE_CONTROL_SCHEMAS[type], body);
  return controlFrame(type, JSON.stringify(body), options);
}

/** Refuses a control frame body (or part of one) its schema does not accept. */
function checkControlBody(type: WireControlType, schema: z.ZodType, body: unknown): void {
  const checked = schema.safeParse(body);
  if (!checked.success) fail('BAD_FIELD', `${type}: ${checked.error.issues[0]?.message ?? 'invalid body'}`);
}

/** A control frame (stage 0) carrying `json`, already checked, as its payload. */
function controlFrame(type: WireControlType, json: string, options: { jobId?: string; round?: number }): Uint8Array {
  return encodeWireFrame({
    type,
    jobId: options.jobId ?? '',
    round: options.round ?? 0,
    stage: 0,
    payload: utf8.encode(json),
  });
}

/**
 * An encoder of control frames of one `type` that differ only in a few small fields, `own` (a job's n offers differ
 * in datasetId and clientId and share the signed request, which lists all n datasets and licences): the `shared`
 * fields are validated and serialised once, each frame's own fields validated against their part of the schema and
 * spliced in, so n frames cost O(shared + n) instead of O(n × shared). Each frame decodes as encodeControlFrame's of
 * the same body would (the same fields, validated by the same schema; key order aside).
 */
export function controlFrameEncoder<T extends WireControlType, K extends keyof WireControlInput<T> & string>(
  type: T,
  ownKeys: readonly K[],
  shared: Omit<WireControlInput<T>, K>,
  options: { jobId?: string; round?: number } = {},
): (own: Pick<WireControlInput<T>, K>) => Uint8Array {
  const schema = WIRE_CONTROL_SCHEMAS[type] as unknown as z.ZodObject<z.ZodRawShape>;
  const mask = Object.fromEntries(ownKeys.map((k) => [k, true])) as Record<string, true>;
  for (const k of ownKeys)
    if (!(k in schema.shape)) fail('BAD_FIELD', `${type}: ${k} is not a field`);
    else if (k in (shared as object)) fail('BAD_FIELD', `${type}: ${k} is both shared and per frame`);
  checkControlBody(type, schema.omit(mask), shared);
  const ownSchema = schema.pick(mask);
  const sharedJson = JSON.stringify(shared);
  return (own) => {
    checkControlBody(type, ownSchema, own);
    const ownJson = JSON.stringify(Object.fromEntries(ownKeys.map((k) => [k, own[k]])));
    const json =
      ownJson === '{}' ? sharedJson : sharedJson === '{}' ? ownJson : `${ownJson.slice(0, -1)},${sharedJson.slice(1)}`;
    return controlFrame(type, json, options);
  };
}

/** Parses the JSON payload of a control frame against its schema. */
export function decodeControlPayload<T extends WireControlType>(type: T, payload: Uint8Array): WireControl<T> {
  let json: unknown;
  try {
    json = JSON.parse(utf8Decoder.decode(payload));
  } catch {
    return fail('BAD_JSON', `${type}: payload is not UTF-8 JSON`);
  }
  const parsed = WIRE_CONTROL_SCHEMAS[type].safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail('BAD_FIELD', `${type}: ${issue ? `${issue.path.join('.') || 'body'} ${issue.message}` : 'invalid'}`);
  }
  return parsed.data as WireControl<T>;
}

// ------------------------------------------------------------------------------------------- authentication

/**
 * The text a silo signs with EIP-191 personal_sign to answer a challenge. Domain-separated by a fixed title, the
 * coordinator id and the chain id, so a signature cannot be replayed against another coordinator or chain, nor
 * mistaken for a transaction or another Sealfold message.
 */
export function siloAuthMessage(challenge: WireControl<'challenge'>, siloAddress: string): string {
  return [
    'Sealfold silo authentication v1',
    `coordinator: ${challenge.coordinatorId}`,
    `chain: ${challenge.chainId}`,
    `silo: ${siloAddress.toLowerCase()}`,
    `nonce: ${challenge.nonce}`,
    `expires: ${challenge.expiresAt}`,
  ].join('\n');
}

// ------------------------------------------------------------------------------------------- binary payloads

/** `plain-update` payload: f64 LE weight ‖ encoded weights (opaque here). */
export function encodePlainUpdate(weight: number, weights: Uint8Array): Uint8Array {
  if (!Number.isFinite(weight) || weight < 0) fail('BAD_FIELD', 'weight must be finite and ≥ 0');
  const out = new Uint8Array(8 + weights.length);
  new DataView(out.buffer).setFloat64(0, weight, true);
  out.set(weights, 8);
  return out;
}

export function decodePlainUpdate(payload: Uint8Array): { weight: number; weights: Uint8Array } {
  if (payload.length < 8) fail('TRUNCATED', 'plain update shorter than its weight');
  const weight = new DataView(payload.buffer, payload.byteOffset, 8).getFloat64(0, true);
  if (!Number.isFinite(weight) || weight < 0) fail('BAD_FIELD', 'weight must be finite and ≥ 0');
  return { weight, weights: payload.subarray(8) };
}

// ------------------------------------------------------------------------------------------- REST: job cancellation

/**
 * The text a buyer signs with EIP-191 personal_sign to cancel a job (`DELETE /jobs/:id` body `{ signature }`).
 * The job id is the EIP-712 digest of the signed request, so the message is bound to that request, chain and contract.
 */
export function jobCancelMessage(jobId: string): string {
  return ['Sealfold job cancellation v1', `job: ${jobId}`].join('\n');
}
