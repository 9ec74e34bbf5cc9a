// A chain indexer's position (the next block to read), kept in the `index_cursors` table under its name: each
// indexer (datasets and licences, job escrows and models) moves its own.
import type { ChainCursor } from '../chain/chain.port.js';
import type { SqlExecutor } from './sql.js';

export function indexCursor(db: SqlExecutor, name: string): ChainCursor {
  return {
    load: async () => {
      const v = await db.get<{ next_block: string }>('SELECT next_block FROM index_cursors WHERE name = ?', name);
      return v ? BigInt(v.next_block) : undefined;
    },
    save: async (next) => {
      await db.run(
        `INSERT INTO index_cursors (name, next_block, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET next_block = excluded.next_block, updated_at = excluded.updated_at`,
        name,
        next.toString(),
        Date.now(),
      );
    },
  };
}
