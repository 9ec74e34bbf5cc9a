// SecAgg+ stage messages (Bonawitz et al., CCS 2017 §4–6; Bell et al., CCS 2020 §3–4).
// One discriminated union per stage, keyed by `type`. Every message carries the envelope (job, round, sender) that
// the binary frame header (secagg-codec.ts) also carries; clients refuse messages from another job or round.
// Pure data: no crypto here. Byte fields are raw Uint8Array, vectors are Uint32Array — never JSON arrays of numbers.

/** The sender id the server uses; client ids are uint32 values below it. */
export const SECAGG_SERVER_ID = 0xffff_ffff;
/** Largest number of clients in one round. */
export const SECAGG_MAX_CLIENTS = 65_535;
/** Largest vector length d (the masked vector carries d + 1 words: the weight rides along, masked). */
export const SECAGG_MAX_VECTOR_LENGTH = 1 << 26;
export const SECAGG_KEY_BYTES = 32;
export const SECAGG_SIGNATURE_BYTES = 64;
export const SECAGG_ADDRESS_BYTES = 20;
export const SECAGG_WALLET_SIGNATURE_BYTES = 65;
/** A Shamir share of a 32-byte secret from `shamir-secret-sharing`: 32 bytes + 1-byte x coordinate. */
export const SECAGG_SHARE_BYTES = 33;
/** An encrypted share bundle: AES-256-GCM(from ‖ to ‖ b-share ‖ sk-share) ‖ 16-byte tag. */
export const SECAGG_SHARE_CIPHERTEXT_BYTES = 4 + 4 + 2 * SECAGG_SHARE_BYTES + 16;
export const SECAGG_MAX_JOB_ID_BYTES = 64;

/** Who the message is for and from: checked against the receiver's own job and round. */
export interface SecAggEnvelope {
  readonly jobId: string;
  readonly round: number;
  readonly sender: number;
}

/** Public round parameters (validated by libs/secagg `validateParams`). */
export interface SecAggParams {
  /** Number of participants invited to the round. */
  readonly n: number;
  /** Neighbourhood size including the client itself (odd): k − 1 neighbours, k shares per secret. */
  readonly k: number;
  /** Shamir threshold: shares needed to reconstruct a secret. */
  readonly t: number;
  /** Vector length (model parameters). */
  readonly d: number;
  /** Clipping range: each coordinate is clipped to [−clip, clip] before quantisation. */
  readonly clip: number;
  /** Quantisation bits q: 2^q levels over [−clip, clip]. */
  readonly bits: number;
  /** Largest weight (sample count) a client may declare. */
  readonly maxWeight: number;
}

/** Once-per-job binding of a client's Ed25519 session key to its wallet (EIP-191 personal_sign). */
export interface SessionCertificate {
  /** The wallet address, 20 bytes. */
  readonly wallet: Uint8Array;
  /** 65-byte secp256k1 signature (r ‖ s ‖ v) over the domain-separated certificate message. */
  readonly signature: Uint8Array;
}

// ---------------------------------------------------------------- stage 0: advertise keys (Bonawitz Fig. 4 round 0)

export interface SecAggSetup extends SecAggEnvelope {
  readonly type: 'secagg/setup';
  readonly params: SecAggParams;
  /** Public 32-byte seed from which every party derives the neighbourhood graph. */
  readonly roundSeed: Uint8Array;
  /** All invited client ids, strictly increasing. */
  readonly clients: Uint32Array;
}

export interface SecAggAdvertiseKeys extends SecAggEnvelope {
  readonly type: 'secagg/advertise-keys';
  /** X25519 public key c_u^PK for share encryption. */
  readonly encryptionKey: Uint8Array;
  /** X25519 public key s_u^PK for pairwise masks. */
  readonly maskKey: Uint8Array;
  /** Ed25519 session public key. */
  readonly sessionKey: Uint8Array;
  readonly certificate: SessionCertificate;
  /** Ed25519 signature by the session key over (job, round, sender, c^PK, s^PK). */
  readonly signature: Uint8Array;
}

export interface SecAggKeyEntry {
  readonly id: number;
  readonly encryptionKey: Uint8Array;
  readonly maskKey: Uint8Array;
  readonly sessionKey: Uint8Array;
  readonly certificate: SessionCertificate;
  readonly signature: Uint8Array;
}

/** The advertised keys of the recipient's neighbours (server → client). */
export interface SecAggKeyList extends SecAggEnvelope {
  readonly type: 'secagg/key-list';
  readonly entries: readonly SecAggKeyEntry[];
}

// ---------------------------------------------------------------- stage 1: share keys (round 1)

export interface SecAggEncryptedShare {
  /** The other party: the recipient in ShareKeys, the author in ForwardShares. */
  readonly peer: number;
  /** AES-256-GCM ciphertext ‖ tag, SECAGG_SHARE_CIPHERTEXT_BYTES long. */
  readonly ciphertext: Uint8Array;
}

export interface SecAggShareKeys extends SecAggEnvelope {
  readonly type: 'secagg/share-keys';
  readonly shares: readonly SecAggEncryptedShare[];
}

export interface SecAggForwardShares extends SecAggEnvelope {
  readonly type: 'secagg/forward-shares';
  readonly shares: readonly SecAggEncryptedShare[];
}

// ---------------------------------------------------------------- stage 2: masked input (round 2)

export interface SecAggMaskedInput extends SecAggEnvelope {
  readonly type: 'secagg/masked-input';
  /** d + 1 words mod 2^32: the weighted quantised update, then the weight, plus self and pairwise masks. */
  readonly vector: Uint32Array;
}

// ---------------------------------------------------------------- stage 3: consistency check (round 3, §6)

export interface SecAggConsistencyRequest extends SecAggEnvelope {
  readonly type: 'secagg/consistency-request';
  /** Clients whose masked input the server holds (U3), strictly increasing. */
  readonly survivors: Uint32Array;
}

export interface SecAggConsistencySignature extends SecAggEnvelope {
  readonly type: 'secagg/consistency-signature';
  /** Ed25519 signature by the session key over (job, round, survivors). */
  readonly signature: Uint8Array;
}

// ---------------------------------------------------------------- stage 4: unmask (round 4)

export interface SecAggSurvivorSignature {
  readonly id: number;
  readonly signature: Uint8Array;
}

export interface SecAggUnmaskRequest extends SecAggEnvelope {
  readonly type: 'secagg/unmask-request';
  /** Must equal the list the client signed. */
  readonly survivors: Uint32Array;
  /** The recipient's neighbours that dropped before masking, strictly increasing. */
  readonly dropped: Uint32Array;
  /** Consistency signatures of the recipient's neighbours. */
  readonly signatures: readonly SecAggSurvivorSignature[];
}

export interface SecAggRevealedShare {
  /** Whose secret this share belongs to. */
  readonly owner: number;
  /** SECAGG_SHARE_BYTES. */
  readonly share: Uint8Array;
}

export interface SecAggUnmaskShares extends SecAggEnvelope {
  readonly type: 'secagg/unmask-shares';
  /** Shares of b_v for surviving neighbours v (and of the client's own b_u). */
  readonly selfMaskShares: readonly SecAggRevealedShare[];
  /** Shares of s_v^SK for dropped neighbours v. */
  readonly maskKeyShares: readonly SecAggRevealedShare[];
}

// ---------------------------------------------------------------- abort (any stage)

export interface SecAggAbort extends SecAggEnvelope {
  readonly type: 'secagg/abort';
  readonly code: string;
  readonly reason: string;
}

export type SecAggServerMessage =
  SecAggSetup | SecAggKeyList | SecAggForwardShares | SecAggConsistencyRequest | SecAggUnmaskRequest | SecAggAbort;

export type SecAggClientMessage =
  SecAggAdvertiseKeys | SecAggShareKeys | SecAggMaskedInput | SecAggConsistencySignature | SecAggUnmaskShares;

export type SecAggMessage = SecAggServerMessage | SecAggClientMessage;
export type SecAggMessageType = SecAggMessage['type'];
