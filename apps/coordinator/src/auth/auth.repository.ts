// Nonces and read sessions in the coordinator's database (migration 3). Tokens are stored as their SHA-256 only.
import { Inject, Injectable } from '@nestjs/common';
import { CoordinatorDatabase } from '../database/database.js';

@Injectable()
export class AuthRepository {
  constructor(@Inject(CoordinatorDatabase) private readonly db: CoordinatorDatabase) {}

  /** Drops expired nonces and sessions; returns how many nonces are still outstanding. */
  async purge(now: number): Promise<number> {
    await this.db.run('DELETE FROM auth_nonces WHERE expires_at <= ?', now);
    await this.db.run('DELETE FROM auth_sessions WHERE expires_at <= ?', now);
    return Number((await this.db.get<{ n: number }>('SELECT count(*) AS n FROM auth_nonces'))!.n);
  }

  async insertNonce(nonce: string, expiresAt: number): Promise<void> {
    await this.db.run('INSERT INTO auth_nonces (nonce, expires_at) VALUES (?, ?)', nonce, expiresAt);
  }

  /** Deletes the nonce if it is outstanding and unexpired: true exactly once per nonce (single use). */
  async consumeNonce(nonce: string, now: number): Promise<boolean> {
    return (await this.db.run('DELETE FROM auth_nonces WHERE nonce = ? AND expires_at > ?', nonce, now)).changes === 1;
  }

  async insertSession(tokenSha256: string, address: string, createdAt: number, expiresAt: number): Promise<void> {
    await this.db.run(
      'INSERT INTO auth_sessions (token_sha256, address, created_at, expires_at) VALUES (?, ?, ?, ?)',
      tokenSha256,
      address,
      createdAt,
      expiresAt,
    );
  }

  /** The address of an unexpired session and when it expires (ms), by token hash. */
  async session(tokenSha256: string, now: number): Promise<{ address: string; expiresAt: number } | undefined> {
    const row = await this.db.get<{ address: string; expires_at: number | bigint }>(
      'SELECT address, expires_at FROM auth_sessions WHERE token_sha256 = ? AND expires_at > ?',
      tokenSha256,
      now,
    );
    return row && { address: row.address, expiresAt: Number(row.expires_at) };
  }
}
