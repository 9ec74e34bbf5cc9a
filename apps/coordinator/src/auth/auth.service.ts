// Read sessions opened with Sign-In with Ethereum (EIP-4361): GET /auth/nonce hands out a single-use nonce; the
// client signs the EIP-4361 message with personal_sign (EIP-191); POST /auth/session checks it and returns a random
// bearer token (RFC 6750) that the coordinator stores hashed, with an expiry.
import { createHash, randomBytes } from 'node:crypto';
import { type AddressInfo } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { parseSiweMessage, SiweFormatError, type SiweMessage } from '@sealfold/protocol';
import { getAddress, verifyMessage } from 'ethers';
import { z } from 'zod';
import { ApiError, parseOr400 } from '../common/api-error.js';
import { ChainService } from '../chain/chain.service.js';
import { COORDINATOR_CONFIG } from '../config/config.module.js';
import { type CoordinatorConfig } from '../config/config.js';
import { AuthRepository } from './auth.repository.js';

/** How long a nonce may wait for its signed message. */
export const NONCE_TTL_MS = 5 * 60_000;
/** Longest session, whatever Expiration Time the message names. */
export const MAX_SESSION_MS = 24 * 3600_000;
/** Outstanding nonces kept at most (GET /auth/nonce is anonymous; this bounds the table). */
const MAX_OUTSTANDING_NONCES = 10_000;
/** Clock skew tolerated on Issued At / Not Before. */
const SKEW_MS = 60_000;
export const SIWE_STATEMENT = 'Sign in to the Sealfold coordinator to read your jobs, rounds, models and progress.';

export const createSessionSchema = z
  .object({
    /** The EIP-4361 message, exactly as signed. */
    message: z.string().min(1).max(4096),
    /** EIP-191 personal_sign signature of `message` by its address. */
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte hex signature'),
  })
  .strict();

/** Who is calling: the address that signed in, whether it may read every buyer's jobs, and when its session ends. */
export interface Caller {
  readonly address: string;
  readonly operator: boolean;
  /** Unix ms at which the caller's session expires: what it hands over (a sign-in link) never outlives it. */
  readonly sessionExpiresAt: number;
}

export interface SessionView {
  token: string;
  address: string;
  operator: boolean;
  expiresAt: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

@Injectable()
export class AuthService {
  constructor(
    @Inject(AuthRepository) private readonly repo: AuthRepository,
    @Inject(ChainService) private readonly chain: ChainService,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
    @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
  ) {}

  /** SEALFOLD_PUBLIC_URL, else the address the server listens on. */
  publicOrigin(): URL {
    if (this.config.publicUrl !== '') return new URL(this.config.publicUrl);
    const a = this.host.httpAdapter.getHttpServer().address() as AddressInfo;
    return new URL(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
  }

  /** The coordinator wallet and SEALFOLD_OPERATORS (lower case). */
  isOperator(address: string): boolean {
    const a = address.toLowerCase();
    return a === this.chain.optional()?.coordinatorAddress?.toLowerCase() || this.config.operators.includes(a);
  }

  async issueNonce(): Promise<{
    nonce: string;
    domain: string;
    uri: string;
    chainId: string;
    statement: string;
    expiresAt: string;
  }> {
    const chain = this.chain.optional();
    if (!chain) throw new ApiError(503, 'CHAIN_UNAVAILABLE', 'sign-in needs the chain id: no chain is configured');
    const now = Date.now();
    if ((await this.repo.purge(now)) >= MAX_OUTSTANDING_NONCES)
      throw new ApiError(503, 'TOO_MANY_NONCES', 'too many sign-ins in progress; try again in a few minutes');
    // EIP-4361 "nonce": at least 8 alphanumerics, chosen by the relying party against replay. 128 random bits.
    const nonce = randomBytes(16).toString('hex');
    await this.repo.insertNonce(nonce, now + NONCE_TTL_MS);
    const origin = this.publicOrigin();
    return {
      nonce,
      domain: origin.host,
      uri: origin.origin,
      chainId: chain.chainId.toString(),
      statement: SIWE_STATEMENT,
      expiresAt: new Date(now + NONCE_TTL_MS).toISOString(),
    };
  }

  /** Verifies a signed EIP-4361 message (EIP-4361 "Verifying a signed message") and opens a session. */
  async createSession(body: unknown): Promise<SessionView> {
    const input = parseOr400(createSessionSchema, body, 'BODY');
    let m: SiweMessage;
    try {
      m = parseSiweMessage(input.message);
    } catch (error) {
      if (error instanceof SiweFormatError) throw new ApiError(400, 'INVALID_SIWE_MESSAGE', error.message);
      throw error;
    }
    const chain = this.chain.optional();
    if (!chain) throw new ApiError(503, 'CHAIN_UNAVAILABLE', 'sign-in needs the chain id: no chain is configured');
    const origin = this.publicOrigin();
    // EIP-4361 "Security Considerations": the domain binds the signature to this relying party (no phishing relay).
    if (m.domain !== origin.host)
      throw new ApiError(
        401,
        'SIWE_WRONG_DOMAIN',
        `the message is for ${m.domain}, this coordinator is ${origin.host}`,
      );
    if (!URL.canParse(m.uri) || new URL(m.uri).origin !== origin.origin)
      throw new ApiError(401, 'SIWE_WRONG_URI', `the message URI must be on ${origin.origin}`);
    if (m.chainId !== chain.chainId)
      throw new ApiError(401, 'SIWE_WRONG_CHAIN_ID', `the message names chain ${m.chainId}, not ${chain.chainId}`);
    // EIP-4361 "Message Fields": address is EIP-55 mixed-case.
    if (getAddress(m.address) !== m.address)
      throw new ApiError(400, 'INVALID_SIWE_MESSAGE', 'address must be EIP-55 checksummed');
    const now = Date.now();
    if (m.expirationTime === undefined)
      throw new ApiError(400, 'INVALID_SIWE_MESSAGE', 'the message must name an Expiration Time');
    const expires = Date.parse(m.expirationTime);
    if (expires <= now) throw new ApiError(401, 'SIWE_EXPIRED', `the message expired at ${m.expirationTime}`);
    if (Date.parse(m.issuedAt) > now + SKEW_MS)
      throw new ApiError(401, 'SIWE_NOT_YET_VALID', `Issued At ${m.issuedAt} is in the future`);
    if (m.notBefore !== undefined && Date.parse(m.notBefore) > now + SKEW_MS)
      throw new ApiError(401, 'SIWE_NOT_YET_VALID', `the message is not valid before ${m.notBefore}`);
    let signer: string;
    try {
      // EIP-191 personal_sign over the message text, as EIP-4361 "Signing and Verifying" prescribes for EOAs.
      signer = verifyMessage(input.message, input.signature);
    } catch {
      throw new ApiError(400, 'MALFORMED_SIGNATURE', 'the signature does not recover');
    }
    if (signer !== m.address)
      throw new ApiError(401, 'SIGNATURE_MISMATCH', `the message names ${m.address} but was signed by ${signer}`);
    // Last, so a bad attempt does not spend the nonce; single use: the row is deleted by the first success.
    if (!(await this.repo.consumeNonce(m.nonce, now)))
      throw new ApiError(401, 'SIWE_NONCE_INVALID', 'the nonce is unknown, already used or expired');
    return this.openSession(m.address, expires, now);
  }

  /**
   * A new session for `address`, which already holds one: hands a signed-in session over to another client (the
   * embedded dev chain's one-time sign-in links, dev-wallet/sign-in-links.service.ts). Never reachable without a
   * session of that address, so it grants nothing the caller did not have.
   */
  handOverSession(address: string, expiresAt: number): Promise<SessionView> {
    return this.openSession(address, expiresAt, Date.now());
  }

  /** A new session token for `address` until `expiresAt` (at most MAX_SESSION_MS); only its SHA-256 is stored. */
  private async openSession(address: string, expiresAt: number, now: number): Promise<SessionView> {
    const token = `sfs_${randomBytes(32).toString('base64url')}`;
    const until = Math.min(expiresAt, now + MAX_SESSION_MS);
    await this.repo.insertSession(sha256(token), address.toLowerCase(), now, until);
    return {
      token,
      address: getAddress(address),
      operator: this.isOperator(address),
      expiresAt: new Date(until).toISOString(),
    };
  }

  /** The caller of an `Authorization: Bearer <token>` (RFC 6750 §2.1) or bare token; undefined when not valid. */
  async authenticate(token: string | undefined): Promise<Caller | undefined> {
    if (!token || token.length > 200) return undefined;
    const session = await this.repo.session(sha256(token), Date.now());
    return (
      session && {
        address: session.address,
        operator: this.isOperator(session.address),
        sessionExpiresAt: session.expiresAt,
      }
    );
  }
}

/** The token of an Authorization header in the RFC 6750 §2.1 `Bearer` scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header?.trim() ?? '');
  return m?.[1];
}
