// Identities. A client's wallet (secp256k1, EIP-191 personal_sign through ethers) certifies an Ed25519 session key
// once per job; every round's keys and survivor lists are then signed with the session key (Bonawitz et al. §6:
// the actively secure variant signs round-0 keys and the round-3 survivor list).
import { getAddress, getBytes, hexlify, verifyMessage } from 'ethers';
import type { Ed25519 } from '@sealfold/crypto';
import { SECAGG_ADDRESS_BYTES, SECAGG_WALLET_SIGNATURE_BYTES, type SessionCertificate } from '@sealfold/protocol';
import { refuse } from './errors.js';
import { signatureVerifier } from './keyobjects.js';

const utf8 = new TextEncoder();

/** The exact text the wallet signs. */
export function certificateMessage(jobId: string, clientId: number, sessionKey: Uint8Array): string {
  return [
    'Sealfold SecAgg+ session key certificate',
    `job: ${jobId}`,
    `client: ${clientId}`,
    `session key (Ed25519): ${hexlify(sessionKey)}`,
  ].join('\n');
}

/** What a wallet must offer (an ethers Signer does). */
export interface CertifyingWallet {
  getAddress(): Promise<string>;
  signMessage(message: string): Promise<string>;
}

/** Signs the session key with the wallet: once per job. */
export async function certifySessionKey(
  wallet: CertifyingWallet,
  jobId: string,
  clientId: number,
  sessionKey: Uint8Array,
): Promise<SessionCertificate> {
  const signature = getBytes(await wallet.signMessage(certificateMessage(jobId, clientId, sessionKey)));
  return { wallet: getBytes(await wallet.getAddress()), signature };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
type SignatureCheck = (signature: Uint8Array, message: Uint8Array) => boolean;

/**
 * Verified certificates of one job, so each peer's secp256k1 recovery (~5 ms) happens once per job, not per round.
 * One instance per client per job.
 */
export class CertificateCache {
  private readonly verified = new Set<string>();
  /** Exact inputs already accepted, so a repeat costs one string lookup (no checksum-address hashing). */
  private readonly accepted = new Set<string>();
  private readonly verifiers = new Map<string, { readonly ed: Ed25519; readonly verify: SignatureCheck }>();

  /** Throws BAD_CERTIFICATE unless `certificate` binds (job, client, session key) to `expectedWallet`. */
  check(
    jobId: string,
    clientId: number,
    sessionKey: Uint8Array,
    certificate: SessionCertificate,
    expectedWallet: string | undefined,
  ): void {
    if (expectedWallet === undefined) refuse('BAD_CERTIFICATE', `no wallet is known for client ${clientId}`);
    const exact =
      certificate.wallet instanceof Uint8Array && certificate.signature instanceof Uint8Array
        ? `${jobId}\u0000${clientId}\u0000${hex(sessionKey)}\u0000${hex(certificate.signature)}\u0000` +
          `${hex(certificate.wallet)}\u0000${expectedWallet}`
        : null;
    if (exact !== null && this.accepted.has(exact)) return;
    if (
      certificate.wallet.length !== SECAGG_ADDRESS_BYTES ||
      certificate.signature.length !== SECAGG_WALLET_SIGNATURE_BYTES
    )
      refuse('BAD_CERTIFICATE', 'malformed certificate');
    const wallet = getAddress(hexlify(certificate.wallet));
    if (wallet !== getAddress(expectedWallet))
      refuse('BAD_CERTIFICATE', `client ${clientId} certified with another wallet`);
    const key = `${jobId}\u0000${clientId}\u0000${hex(sessionKey)}\u0000${hex(certificate.signature)}\u0000${wallet}`;
    if (this.verified.has(key)) return;
    let recovered: string;
    try {
      recovered = verifyMessage(certificateMessage(jobId, clientId, sessionKey), hexlify(certificate.signature));
    } catch {
      return refuse('BAD_CERTIFICATE', `client ${clientId}: unreadable certificate signature`);
    }
    if (recovered !== wallet) refuse('BAD_CERTIFICATE', `client ${clientId}: certificate not signed by its wallet`);
    this.verified.add(key);
    if (exact !== null) this.accepted.add(exact);
  }

  /** Verifies Ed25519 signatures under a session key; the key is parsed once per job (see keyobjects.ts). */
  verifier(ed: Ed25519, sessionKey: Uint8Array): SignatureCheck {
    const id = hex(sessionKey);
    const cached = this.verifiers.get(id);
    if (cached && cached.ed === ed) return cached.verify;
    const verify = signatureVerifier(ed, sessionKey);
    this.verifiers.set(id, { ed, verify });
    return verify;
  }
}

function frame(label: string, jobId: string, round: number, id: number, parts: Uint8Array[]): Uint8Array {
  const l = utf8.encode(label);
  const j = utf8.encode(jobId);
  const total = l.length + 1 + 1 + j.length + 8 + parts.reduce((s, p) => s + 4 + p.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(l);
  let o = l.length + 1;
  out[o++] = j.length;
  out.set(j, o);
  o += j.length;
  view.setUint32(o, round);
  view.setUint32(o + 4, id);
  o += 8;
  for (const p of parts) {
    view.setUint32(o, p.length);
    out.set(p, o + 4);
    o += 4 + p.length;
  }
  return out;
}

/** Bytes the session key signs in stage 0: (job, round, id, c^PK, s^PK). */
export const keysSignedMessage = (jobId: string, round: number, id: number, cPk: Uint8Array, sPk: Uint8Array) =>
  frame('sealfold/secagg/v1/keys', jobId, round, id, [cPk, sPk]);

/** Bytes the session key signs in stage 3: (job, round, survivor list). */
export const survivorsSignedMessage = (jobId: string, round: number, survivors: Uint32Array) =>
  frame('sealfold/secagg/v1/survivors', jobId, round, 0, [idsBigEndian(survivors)]);

function idsBigEndian(ids: Uint32Array): Uint8Array {
  const out = new Uint8Array(4 * ids.length);
  const view = new DataView(out.buffer);
  ids.forEach((id, i) => view.setUint32(4 * i, id));
  return out;
}

/** A client's per-job Ed25519 session identity. */
export interface SessionIdentity {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly certificate: SessionCertificate;
}

/** Creates a session key and has the wallet certify it. */
export async function createSessionIdentity(
  ed: Ed25519,
  wallet: CertifyingWallet,
  jobId: string,
  clientId: number,
): Promise<SessionIdentity> {
  const secretKey = ed.generateSecretKey();
  const publicKey = ed.publicKey(secretKey);
  return { secretKey, publicKey, certificate: await certifySessionKey(wallet, jobId, clientId, publicKey) };
}
