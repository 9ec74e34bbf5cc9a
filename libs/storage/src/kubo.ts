// KuboStore: the same ContentStore over a Kubo daemon's HTTP RPC API (kubo-rpc-client), e.g. SEALFOLD_IPFS_API.
// Reads pass Kubo's global `offline` option so a CID that is not on the daemon fails at once instead of being
// searched for on the network.
import type { KuboRPCClient } from 'kubo-rpc-client';
import {
  bytesOf,
  KUBO_CHUNK_SIZE,
  parseCid,
  type AddOptions,
  type ByteSource,
  type ContentStat,
  type ContentStore,
} from './content-store.js';
import { StorageError } from './errors.js';

const offline = () => new URLSearchParams({ offline: 'true' });

const notFound = (e: unknown): boolean => /not found|no link named|offline/i.test((e as Error)?.message ?? '');

export class KuboStore implements ContentStore {
  private closed = false;

  private constructor(private readonly client: KuboRPCClient) {}

  /** Connects to a Kubo RPC API URL (e.g. http://127.0.0.1:5001) and checks it answers. */
  static async connect(url: string, options: { timeoutMs?: number } = {}): Promise<KuboStore> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new StorageError('INVALID_INPUT', `not a URL: ${JSON.stringify(url)}`);
    }
    // Loaded on demand: the client and its HTTP stack cost ~45 MB of RSS that the embedded store never needs.
    const { create } = await import('kubo-rpc-client');
    const client = create({ url: parsed, timeout: options.timeoutMs ?? 60_000 });
    try {
      await client.id({ signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    } catch (e) {
      throw new StorageError('BACKEND', `no Kubo RPC API answers at ${parsed.origin}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    return new KuboStore(client);
  }

  private live(): void {
    if (this.closed) throw new StorageError('CLOSED', 'the store is closed');
  }

  private wrap(e: unknown, cid: string): never {
    if (e instanceof StorageError) throw e;
    if (notFound(e))
      throw new StorageError('NOT_FOUND', `${cid} (or one of its blocks) is not on the Kubo node`, { cause: e });
    throw new StorageError('BACKEND', `Kubo: ${(e as Error).message}`, { cause: e });
  }

  async add(source: ByteSource, options: AddOptions = {}): Promise<string> {
    this.live();
    const r = await this.client.add(bytesOf(source), {
      cidVersion: 1,
      rawLeaves: true,
      chunker: `size-${KUBO_CHUNK_SIZE}`,
      trickle: false,
      pin: true,
      signal: options.signal,
      progress: options.onProgress ? (bytes: number) => options.onProgress!(bytes) : undefined,
    });
    return r.cid.toString();
  }

  async *cat(cid: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
    this.live();
    const c = parseCid(cid);
    try {
      yield* this.client.cat(c, { searchParams: offline(), signal: options.signal });
    } catch (e) {
      this.wrap(e, cid);
    }
  }

  async has(cid: string): Promise<boolean> {
    this.live();
    const c = parseCid(cid);
    try {
      await this.client.block.stat(c, { searchParams: offline() });
      return true;
    } catch (e) {
      if (notFound(e)) return false;
      this.wrap(e, cid);
    }
  }

  async stat(cid: string): Promise<ContentStat> {
    this.live();
    const c = parseCid(cid);
    try {
      if (c.code === 0x55) {
        const b = await this.client.block.stat(c, { searchParams: offline() });
        return { cid: c.toString(), size: b.size, blocks: 1 };
      }
      const s = await this.client.files.stat(`/ipfs/${c.toString()}`, { searchParams: offline() });
      return { cid: c.toString(), size: s.size, blocks: s.blocks + 1 };
    } catch (e) {
      this.wrap(e, cid);
    }
  }

  async pin(cid: string): Promise<void> {
    this.live();
    const c = parseCid(cid);
    try {
      await this.client.pin.add(c, { searchParams: offline() });
    } catch (e) {
      this.wrap(e, cid);
    }
  }

  async unpin(cid: string): Promise<void> {
    this.live();
    const c = parseCid(cid);
    if (!(await this.isPinned(cid))) return;
    try {
      await this.client.pin.rm(c);
    } catch (e) {
      this.wrap(e, cid);
    }
  }

  async isPinned(cid: string): Promise<boolean> {
    this.live();
    const c = parseCid(cid);
    try {
      for await (const p of this.client.pin.ls({ paths: [c] })) if (p.cid.equals(c)) return true;
      return false;
    } catch (e) {
      if (/not pinned/i.test((e as Error).message)) return false;
      this.wrap(e, cid);
    }
  }

  async *exportCar(cid: string): AsyncGenerator<Uint8Array> {
    this.live();
    const c = parseCid(cid);
    try {
      yield* this.client.dag.export(c, { searchParams: offline() });
    } catch (e) {
      this.wrap(e, cid);
    }
  }

  async importCar(source: ByteSource): Promise<string[]> {
    this.live();
    const roots: string[] = [];
    try {
      for await (const r of this.client.dag.import(bytesOf(source), { pinRoots: true }))
        roots.push(r.root.cid.toString());
    } catch (e) {
      throw new StorageError('BAD_CAR', `Kubo refused the CAR: ${(e as Error).message}`, { cause: e });
    }
    return roots;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
