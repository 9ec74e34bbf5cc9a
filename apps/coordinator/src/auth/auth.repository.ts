// Nonces and read sessions in SQLite (migration 3). Tokens are stored as their SHA-256 only.
import { Inject, Injectable } from '@nestjs/common';
import { CoordinatorDatabase } from '../database/database.js';

@Injectable()
export class AuthRepository {
  constructor(@Inject(CoordinatorDatabase) private readonly db: CoordinatorDatabase) {}

  /** Drops expired nonces and sessions; returns how many nonces are still outstanding. */
  purge(now: number): number {
    this.db.run('DELETE FROM auth_nonces WHERE expires_at <= ?', now);
    this.db.run('DELETE FROM auth_sessions WHERE expires_at <= ?', now);
    return this.db.get<{ n: number }>('SELECT count(*) AS n FROM auth_nonces')!.n;
  }

  insertNonce(nonce: string, expiresAt: number): void {
    this.db.run('INSERT INTO auth_nonces (nonce, expires_at) VALUES (?, ?)', nonce, expiresAt);
  }

  /** Deletes the nonce if it is outstanding and unexpired: true exactly once per nonce (single use). */
  consumeNonce(nonce: string, now: number): boolean {
    return this.db.run('DELETE FROM auth_nonces WHERE nonce = ? AND expires_at > ?', nonce, now).changes === 1;
  }

  insertSession(tokenSha256: string, address: string, createdAt: number, expiresAt: number): void {
    this.db.run(
      'INSERT INTO auth_sessions (token_sha256, address, created_at, expires_at) VALUES (?, ?, ?, ?)',
      tokenSha256,
      address,
      createdAt,
      expiresAt,
    );
  }

  /** The address of an unexpired session, by token hash. */
  sessionAddress(tokenSha256: string, now: number): string | undefined {
    return this.db.get<{ address: string }>(
      'SELECT address FROM auth_sessions WHERE token_sha256 = ? AND expires_at > ?',
      tokenSha256,
      now,
    )?.address;
  }
}
