// One-time sign-in links, embedded dev chain only (issue 15: "the demo prints the web URL and the page shows the
// demo's job live"). A client that holds a read session (the demo's CLI buyer, signed in with its keystore wallet)
// asks for a link; the browser that opens it gets a session of the same address, as if it had signed in itself. It
// hands over what the caller already has, nothing more:
//   - minting needs a valid session (SessionGuard), and the new session is of that session's address and ends no
//     later than it (a link cannot extend a session past its own expiry);
//   - a code works once (deleted before the session is made), for LINK_TTL_MS, and only in this process (a restart
//     forgets every link); the coordinator keeps its SHA-256 only;
//   - the code travels in the URL fragment (#/jobs/<id>?signin=<code>), which browsers never send to a server nor put
//     in a Referer, and is redeemed in a POST body: it is in no request line, so in no access log;
//   - the module exists only on the embedded dev chain: on an RPC chain both routes answer 404.
import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { AuthService, type Caller, type SessionView } from '../auth/auth.service.js';
import { ApiError, parseOr400 } from '../common/api-error.js';

/** How long a link waits to be opened. */
export const LINK_TTL_MS = 10 * 60_000;
/** How long the browser's session lasts (the web app's own sign-in asks for as much). */
export const LINK_SESSION_MS = 3600_000;
/** Outstanding links kept at most; minting needs a session, this only bounds memory. */
export const MAX_OUTSTANDING_LINKS = 1000;

const CODE = /^sfl_[A-Za-z0-9_-]{43}$/;
export const redeemLinkSchema = z.object({ code: z.string().regex(CODE, 'must be a sign-in link code') }).strict();

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** What a redeemed code signs in: the address, and the latest its session may last (the minting session's end). */
export interface LinkGrant {
  readonly address: string;
  readonly sessionEnd: number;
}

/** The codes outstanding, by SHA-256: who they sign in, until when, and until when they may be redeemed. */
export class SignInLinkStore {
  private readonly links = new Map<string, LinkGrant & { expiresAt: number }>();

  /**
   * A new code for `address` (256 random bits), valid until now + LINK_TTL_MS but never after `sessionEnd`, the end
   * of the session that asks for it.
   */
  mint(address: string, sessionEnd: number, now = Date.now()): { code: string; expiresAt: number } {
    for (const [k, v] of this.links) if (v.expiresAt <= now) this.links.delete(k);
    if (this.links.size >= MAX_OUTSTANDING_LINKS)
      throw new ApiError(
        503,
        'TOO_MANY_SIGN_IN_LINKS',
        'too many sign-in links outstanding; try again in a few minutes',
      );
    const code = `sfl_${randomBytes(32).toString('base64url')}`;
    const expiresAt = Math.min(now + LINK_TTL_MS, sessionEnd);
    this.links.set(sha256(code), { address, sessionEnd, expiresAt });
    return { code, expiresAt };
  }

  /** What an outstanding, unexpired code grants; the code is spent by this call (single use). Else undefined. */
  redeem(code: string, now = Date.now()): LinkGrant | undefined {
    const key = sha256(code);
    const link = this.links.get(key);
    this.links.delete(key);
    return link && link.expiresAt > now ? { address: link.address, sessionEnd: link.sessionEnd } : undefined;
  }
}

@Injectable()
export class SignInLinksService {
  private readonly store = new SignInLinkStore();

  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  mint(caller: Caller): { code: string; expiresAt: string } {
    const { code, expiresAt } = this.store.mint(caller.address, caller.sessionExpiresAt);
    return { code, expiresAt: new Date(expiresAt).toISOString() };
  }

  async redeem(body: unknown): Promise<SessionView> {
    const { code } = parseOr400(redeemLinkSchema, body, 'BODY');
    const grant = this.store.redeem(code);
    if (grant === undefined)
      throw new ApiError(
        401,
        'SIGN_IN_LINK_INVALID',
        'this sign-in link is unknown, already used or expired: ask for a new one (sealfold job link <jobId>) or sign in with a wallet',
      );
    return this.auth.handOverSession(grant.address, Math.min(Date.now() + LINK_SESSION_MS, grant.sessionEnd));
  }
}
