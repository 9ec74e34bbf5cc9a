// Reads need a wallet-signed session (EIP-4361 Sign-In with Ethereum) and show a buyer only its own jobs; silo
// announcements are bounded. Real EDR chain, real coordinator, real WebSockets.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SealfoldChain } from '@sealfold/chain';
import { decodeControlPayload, encodeControlFrame } from '@sealfold/protocol';
import { Wallet } from 'ethers';
import WebSocket from 'ws';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import {
  cidOf,
  commitmentOf,
  jobRequest,
  signedBody,
  startChainFixture,
  type ChainFixture,
} from './helpers/chain-fixture.js';
import { authenticatedSilo } from './helpers/silo-client.js';

const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

/** Status of a /progress handshake: 101 when it upgrades, else the HTTP status of the refusal. */
function progressStatus(url: string, jobId: string, headers: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/progress?job=${jobId}`, { headers });
  return new Promise<number>((resolve) => {
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => resolve(0));
  });
}

describe('reads without a session (real EDR chain)', () => {
  let dir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let buyerA: Wallet;
  let jobA: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-auth-'));
    fixture = await startChainFixture(join(dir, 'chain-data'));
    const owner: SealfoldChain = await fixture.client(1);
    const clientA = await fixture.client(2);
    buyerA = new Wallet(fixture.chain.accounts[2].privateKey);
    const { datasetId } = await owner.registerDataset({
      manifestCid: cidOf('auth-manifest'),
      commitment: commitmentOf('auth'),
      terms: { priceWei: 1000n, licenceDuration: 0n },
    });
    const { licenceId } = await clientA.purchaseLicence(datasetId);
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
        SEALFOLD_CONTRACTS: fixture.deploymentPath,
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      { logDestination: new PassThrough() },
    );
    const req = jobRequest(buyerA.address, { datasets: [datasetId], licences: [licenceId], nonce: 1n });
    const res = await fetch(`${coordinator.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(await signedBody(clientA, buyerA, req, RECIPIENT)),
    });
    expect(res.status).toBe(201);
    jobA = ((await res.json()) as { id: string }).id;
  });

  afterAll(async () => {
    await coordinator?.close();
    await fixture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('anonymous reads of jobs, rounds, models and progress are refused', async () => {
    for (const path of ['/jobs', `/jobs/${jobA}`, `/jobs/${jobA}/rounds`, `/models/${jobA}`])
      expect({ path, status: (await fetch(`${coordinator.url}${path}`)).status }).toEqual({ path, status: 401 });
    expect(await progressStatus(coordinator.url, jobA)).toBe(401);
  });

  it('an announce flood (1024 ids owned by nobody) is refused fast', async () => {
    const silo = await authenticatedSilo(coordinator.url, Wallet.createRandom());
    const ids = Array.from({ length: 1024 }, (_, i) => String(1000 + i));
    const started = performance.now();
    silo.ws.send(encodeControlFrame('announce', { datasets: ids }));
    const outcome = await Promise.race([
      silo.next('announce-result').then((f) => ({ result: decodeControlPayload('announce-result', f.payload) })),
      silo.closed.then((c) => ({ closed: c })),
    ]);
    const ms = performance.now() - started;
    process.stderr.write(`announce flood of 1024 ids: ${ms.toFixed(0)} ms, ${JSON.stringify(outcome).slice(0, 120)}\n`);
    expect(outcome).toEqual({ closed: { code: 4429, reason: expect.stringMatching(/^TOO_MANY_DATASETS/) } });
    expect(ms).toBeLessThan(1000);
  }, 60_000);
});
