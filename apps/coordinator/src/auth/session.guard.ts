// Guards the read endpoints: a valid bearer session (RFC 6750 §2.1) or 401. Which job a caller may see is decided
// by `canRead` (its buyer, or an operator); a job that is not theirs answers 404, so its existence is not confirmed.
import { type CanActivate, createParamDecorator, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ApiError } from '../common/api-error.js';
import { AuthService, bearerToken, type Caller } from './auth.service.js';

type AuthedRequest = Request & { caller?: Caller };

@Injectable()
export class SessionGuard implements CanActivate {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers.authorization;
    if (header === undefined)
      throw new ApiError(401, 'SESSION_REQUIRED', 'sign in first: GET /auth/nonce, then POST /auth/session');
    const caller = await this.auth.authenticate(bearerToken(header));
    if (!caller) throw new ApiError(401, 'SESSION_INVALID', 'the bearer token is unknown or expired: sign in again');
    req.caller = caller;
    return true;
  }
}

/** The signed-in caller (only on routes behind SessionGuard). */
export const CurrentCaller = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Caller => context.switchToHttp().getRequest<AuthedRequest>().caller!,
);

/** True when `caller` may read a job bought by `buyer`. */
export const canRead = (caller: Caller, buyer: string): boolean =>
  caller.operator || caller.address.toLowerCase() === buyer.toLowerCase();
