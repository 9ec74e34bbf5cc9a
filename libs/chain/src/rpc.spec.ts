import { afterAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { decodeChainError } from './client.js';
import { RpcUnavailableError } from './errors.js';
import { createProvider, isUnreachable } from './rpc.js';

/** An HTTP endpoint answering every request with `status` (as Node's server answers a request it timed out: 408). */
function statusServer(status: number): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(status, { 'content-type': 'text/plain' }).end('no'));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }),
    ),
  );
}

describe('RPC errors: a node that did not answer is unavailable, not a failed call', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });
  const failureAt = async (status: number) => {
    const { url, server } = await statusServer(status);
    servers.push(server);
    const provider = createProvider(url, 31337n, 5_000);
    try {
      await provider.getBlockNumber();
      throw new Error('expected a failure');
    } catch (error) {
      return { error, provider };
    } finally {
      provider.destroy();
    }
  };

  it.each([408, 503, 504])('HTTP %i is unreachable, decoded as RpcUnavailableError', async (status) => {
    const { error, provider } = await failureAt(status);
    expect(isUnreachable(error)).toBe(true);
    expect(decodeChainError(error, 'eth_blockNumber', provider)).toBeInstanceOf(RpcUnavailableError);
  });

  it.each([400, 500])('HTTP %i is an answer (a failed call), not unavailability', async (status) => {
    const { error, provider } = await failureAt(status);
    expect(isUnreachable(error)).toBe(false);
    expect(decodeChainError(error, 'eth_blockNumber', provider)).not.toBeInstanceOf(RpcUnavailableError);
  });
});
