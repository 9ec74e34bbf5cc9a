// The dataset manifest (format version 3; versions 1 and 2 still read): the public description of a sealed dataset, stored on IPFS and named by
// the DatasetNFT's tokenURI. Validated on read and on write; serialised canonically so equal manifests give equal
// bytes (and so equal CIDs): object keys sorted by UTF-16 code units at every level, no whitespace, numbers in
// ECMAScript shortest form — the JSON Canonicalization Scheme (RFC 8785 §3.2) for the values this schema admits.
import { EPSILON_UNBOUNDED_MILLI, canonicalJson } from '@sealfold/protocol';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { CID } from 'multiformats/cid';
import { z } from 'zod';
import { DatasetError } from './errors.js';
import { DatasetSchemaSchema } from './schema.js';

/**
 * Version written. 2 added `sealed.recipientType` (which age recipient type sealed the data, issue 19); a version-1
 * manifest has none and was sealed to an X25519 recipient. 3 publishes the public schema of issue 13 (privacy.ts):
 * column roles, types boolean/date/datetime/text, missing tokens, k, and categorical features hashed unless their
 * levels are public. Readers accept all three.
 */
export const MANIFEST_FORMAT_VERSION = 3;
export const MANIFEST_FORMAT_VERSIONS = [1, 2, 3] as const;

/** The age recipient types a dataset can be sealed to (C2SP age stanza types): hybrid post-quantum, or X25519. */
export const SEALED_RECIPIENT_TYPES = ['mlkem768x25519', 'X25519'] as const;
export type SealedRecipientType = (typeof SEALED_RECIPIENT_TYPES)[number];

/** EIP-55 mixed-case checksum: hex digit i is upper case iff nibble i of keccak256(lowercase hex address) ≥ 8. */
export function isEip55Address(value: string): boolean {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value)) return false;
  const hex = value.slice(2);
  const hash = keccak_256(new TextEncoder().encode(hex.toLowerCase()));
  for (let i = 0; i < 40; i++) {
    const nibble = (hash[i >> 1] >> (i % 2 === 0 ? 4 : 0)) & 0x0f;
    const c = hex[i];
    if (c >= 'a' && c <= 'f' && nibble >= 8) return false;
    if (c >= 'A' && c <= 'F' && nibble < 8) return false;
  }
  return true;
}

/** The EIP-55 form of a 20-byte hex address (any case). */
export function toEip55Address(value: string): string {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value)) throw new DatasetError('INVALID_INPUT', 'not a 20-byte hex address');
  const hex = value.slice(2).toLowerCase();
  const hash = keccak_256(new TextEncoder().encode(hex));
  let out = '0x';
  for (let i = 0; i < 40; i++) {
    const nibble = (hash[i >> 1] >> (i % 2 === 0 ? 4 : 0)) & 0x0f;
    out += nibble >= 8 ? hex[i].toUpperCase() : hex[i];
  }
  return out;
}

const isCanonicalCid = (s: string): boolean => {
  try {
    return CID.parse(s).toString() === s;
  } catch {
    return false;
  }
};

export const SealedObjectSchema = z.strictObject({
  /** The encryption format of the stored object: age v1 (age-encryption.org/v1). */
  format: z.literal('age-v1'),
  /** CID of the ciphertext, in its canonical string form (base32 for CIDv1). */
  cid: z
    .string()
    .regex(/^[A-Za-z0-9]+$/)
    .refine(isCanonicalCid, 'not a canonical CID string'),
  /** Ciphertext size in bytes. */
  bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** formatVersion 2 (required there, absent in 1): the age recipient type the data was sealed to. */
  recipientType: z.enum(SEALED_RECIPIENT_TYPES).optional(),
});

/**
 * The unlimited ε budget as the manifest states it (4294967.295): libs/protocol EPSILON_UNBOUNDED_MILLI, the one
 * definition, in ε units. It is the only budget that admits a job without DP noise (whose ε is unbounded).
 */
export const UNLIMITED_EPSILON = EPSILON_UNBOUNDED_MILLI / 1000;

export const LicenceTermsSchema = z.strictObject({
  /** Price of one licence in wei, as a decimal integer string (no sign, no leading zeros). */
  priceWei: z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'a decimal integer string of wei'),
  /** Default licence duration in seconds. */
  licenceDurationSeconds: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  /** Differential-privacy budget ε offered per licence; UNLIMITED_EPSILON (the chain's maximum) means no budget. */
  epsilonBudget: z.number().positive().max(UNLIMITED_EPSILON),
  /** Most training jobs per licence (unlimited when absent). */
  maxJobs: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});

export const ManifestSchema = z
  .strictObject({
    formatVersion: z.union([z.literal(1), z.literal(2), z.literal(3)]),
    name: z.string().min(1).max(200),
    description: z.string().max(10_000),
    schema: DatasetSchemaSchema,
    /** Data rows (header not counted). */
    rows: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    /** The label classes, equal to the levels of the schema's label column. */
    classes: z.array(z.string()).min(1),
    sealed: SealedObjectSchema,
    /** Lowercase hex SHA-256 of the canonical plaintext (see @sealfold/dataset commitment.ts). */
    commitment: z.string().regex(/^[0-9a-f]{64}$/, 'lowercase hex SHA-256'),
    /** The owner's Ethereum address, EIP-55 checksummed. */
    owner: z
      .string()
      .regex(/^0x[0-9a-fA-F]{40}$/)
      .refine(isEip55Address, 'not an EIP-55 checksummed address'),
    /** Creation time, ISO 8601 UTC (e.g. 2026-11-28T07:38:00.000Z). */
    createdAt: z.iso.datetime(),
    terms: LicenceTermsSchema,
  })
  .superRefine((m, ctx) => {
    if (m.formatVersion >= 2 && m.sealed.recipientType === undefined)
      ctx.addIssue({ code: 'custom', path: ['sealed', 'recipientType'], message: 'required from formatVersion 2' });
    if (m.formatVersion === 3)
      for (const c of m.schema.columns)
        if (c.type === 'categorical' && c.name !== m.schema.label && c.levels !== undefined && c.public !== true)
          ctx.addIssue({
            code: 'custom',
            path: ['schema', 'columns'],
            message: `column "${c.name}" lists levels that are not public`,
          });
    if (m.formatVersion === 1 && m.sealed.recipientType !== undefined)
      ctx.addIssue({ code: 'custom', path: ['sealed', 'recipientType'], message: 'not part of formatVersion 1' });
    const label = m.schema.columns.find((c) => c.name === m.schema.label);
    const levels = label?.type === 'categorical' ? (label.levels ?? []) : [];
    if (levels.length !== m.classes.length || levels.some((l, i) => l !== m.classes[i]))
      ctx.addIssue({ code: 'custom', path: ['classes'], message: "classes must equal the label column's levels" });
  })
  .meta({ title: 'Sealfold dataset manifest', description: 'formatVersion 3 (1 and 2 still read)' });

export type SealedObject = z.infer<typeof SealedObjectSchema>;
export type LicenceTerms = z.infer<typeof LicenceTermsSchema>;
export type Manifest = z.infer<typeof ManifestSchema>;

function validate(value: unknown): Manifest {
  const r = ManifestSchema.safeParse(value);
  if (!r.success) throw new DatasetError('INVALID_MANIFEST', `invalid manifest: ${z.prettifyError(r.error)}`);
  return r.data;
}

/** Validates and serialises a manifest to canonical UTF-8 JSON bytes. */
export function serializeManifest(manifest: Manifest): Uint8Array {
  return new TextEncoder().encode(canonicalJson(validate(manifest)));
}

/** Parses and validates manifest bytes (UTF-8 JSON). Refuses unknown format versions and unknown keys. */
export function parseManifest(bytes: Uint8Array | string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new DatasetError('INVALID_MANIFEST', `manifest is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new DatasetError('INVALID_MANIFEST', 'manifest must be a JSON object');
  const version = (value as { formatVersion?: unknown }).formatVersion;
  if (!(MANIFEST_FORMAT_VERSIONS as readonly unknown[]).includes(version))
    throw new DatasetError(
      'INVALID_MANIFEST',
      `unsupported manifest formatVersion ${JSON.stringify(version)} (this reader knows ${MANIFEST_FORMAT_VERSIONS.join(' and ')})`,
    );
  return validate(value);
}

/** The age recipient type a manifest's data was sealed to (version 1 manifests: X25519). */
export function sealedRecipientType(manifest: Manifest): SealedRecipientType {
  return manifest.sealed.recipientType ?? 'X25519';
}

/** The published JSON Schema (draft 2020-12) of the manifest; committed as libs/dataset/manifest.schema.json. */
export function manifestJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ManifestSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
}
