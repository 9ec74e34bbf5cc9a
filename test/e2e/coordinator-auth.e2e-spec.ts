// Reads need a wallet-signed session (EIP-4361 Sign-In with Ethereum) and show a buyer only its own jobs; silo
// announcements are bounded. Real EDR chain, real coordinator, real WebSockets.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SealfoldChain } from '@sealfold/chain';
import { decodeControlPayload, encodeControlFrame, WIRE_CLOSE_CODES } from '@sealfold/protocol';
import { Wallet } from 'ethers';
import WebSocket from 'ws';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import { CoordinatorDatabase } from '../../apps/coordinator/src/database/database.js';
import { ANNOUNCE_BURST, MAX_ANNOUNCE_DATASETS } from '../../apps/coordinator/src/gateway/silo-gateway.service.js';
import {
  cidOf,
  commitmentOf,
  coordinatorAddressOf,
  jobRequest,
  signedBody,
  startChainFixture,
  type ChainFixture,
} from './helpers/chain-fixture.js';
import { authed, postSession, signedSiwe, signIn } from './helpers/session.js';
import { authenticatedSilo } from './helpers/silo-client.js';

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

describe('read sessions and bounded announces (real EDR chain)', () => {
  let dir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let buyerA: Wallet;
  let buyerB: Wallet;
  let operator: Wallet;
  let jobA: string;
  let jobB: string;
  let tokenA: string;
  let tokenB: string;
  let tokenOperator: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-auth-'));
    fixture = await startChainFixture(join(dir, 'chain-data'));
    const owner: SealfoldChain = await fixture.client(1);
    const clientA = await fixture.client(2);
    const clientB = await fixture.client(3);
    buyerA = new Wallet(fixture.chain.accounts[2].privateKey);
    buyerB = new Wallet(fixture.chain.accounts[3].privateKey);
    operator = new Wallet(fixture.chain.accounts[4].privateKey);
    // Three datasets: a job needs at least secagg.minContributors (3) of them (POST /jobs refuses fewer).
    const datasetIds: bigint[] = [];
    for (const name of ['auth-a', 'auth-b', 'auth-c']) {
      const { datasetId } = await owner.registerDataset({
        manifestCid: cidOf(`${name}-manifest`),
        commitment: commitmentOf(name),
        terms: { priceWei: 1000n, licenceDuration: 0n },
      });
      datasetIds.push(datasetId);
    }
    const licencesA: bigint[] = [];
    const licencesB: bigint[] = [];
    for (const id of datasetIds) {
      licencesA.push((await clientA.purchaseLicence(id)).licenceId);
      licencesB.push((await clientB.purchaseLicence(id)).licenceId);
    }
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
        SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
        SEALFOLD_CONTRACTS: fixture.deploymentPath,
        SEALFOLD_LOG_LEVEL: 'silent',
        SEALFOLD_OPERATORS: operator.address,
      }),
      { logDestination: new PassThrough() },
    );
    const submit = async (client: SealfoldChain, buyer: Wallet, licences: bigint[]) => {
      const req = jobRequest(buyer.address, {
        coordinator: await coordinatorAddressOf(coordinator.url),
        datasets: datasetIds,
        licences,
        nonce: 1n,
      });
      const res = await fetch(`${coordinator.url}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(await signedBody(client, buyer, req)),
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { id: string }).id;
    };
    jobA = await submit(clientA, buyerA, licencesA);
    jobB = await submit(clientB, buyerB, licencesB);
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

  it('signs in with EIP-4361 and keeps only a hash of the token', async () => {
    const res = await postSession(coordinator.url, await signedSiwe(coordinator.url, buyerA));
    expect(res.status).toBe(201);
    const session = (await res.json()) as { token: string; address: string; operator: boolean; expiresAt: string };
    expect(session).toMatchObject({ address: buyerA.address, operator: false });
    expect(Date.parse(session.expiresAt)).toBeGreaterThan(Date.now());
    tokenA = session.token;
    tokenB = await signIn(coordinator.url, buyerB);
    tokenOperator = await signIn(coordinator.url, operator);
    const rows = await coordinator.app
      .get(CoordinatorDatabase)
      .all<{ token_sha256: string }>('SELECT * FROM auth_sessions');
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(rows)).not.toContain(tokenA.slice(4));
  });

  it('refuses a replayed, expired, foreign-domain, other-chain or forged sign-in', async () => {
    const once = await signedSiwe(coordinator.url, buyerA);
    expect((await postSession(coordinator.url, once)).status).toBe(201);
    const code = async (body: unknown) => {
      const res = await postSession(coordinator.url, body);
      return { status: res.status, code: ((await res.json()) as { code: string }).code };
    };
    expect(await code(once)).toEqual({ status: 401, code: 'SIWE_NONCE_INVALID' });
    const past = new Date(Date.now() - 60_000).toISOString();
    expect(await code(await signedSiwe(coordinator.url, buyerA, { expirationTime: past }))).toEqual({
      status: 401,
      code: 'SIWE_EXPIRED',
    });
    expect(await code(await signedSiwe(coordinator.url, buyerA, { domain: 'evil.example' }))).toEqual({
      status: 401,
      code: 'SIWE_WRONG_DOMAIN',
    });
    expect(await code(await signedSiwe(coordinator.url, buyerA, { chainId: 1n }))).toEqual({
      status: 401,
      code: 'SIWE_WRONG_CHAIN_ID',
    });
    expect(await code(await signedSiwe(coordinator.url, buyerA, { nonce: 'madeup12345678' }))).toEqual({
      status: 401,
      code: 'SIWE_NONCE_INVALID',
    });
    // B signs a message naming A: the recovered signer is not the address in the message.
    const forged = await signedSiwe(coordinator.url, buyerA);
    expect(await code({ ...forged, signature: await buyerB.signMessage(forged.message) })).toEqual({
      status: 401,
      code: 'SIGNATURE_MISMATCH',
    });
    expect(await code({ message: 'hello', signature: forged.signature })).toEqual({
      status: 400,
      code: 'INVALID_SIWE_MESSAGE',
    });
  });

  it('a session ends at the message’s Expiration Time', async () => {
    const expirationTime = new Date(Date.now() + 1500).toISOString();
    const res = await postSession(coordinator.url, await signedSiwe(coordinator.url, buyerA, { expirationTime }));
    const { token } = (await res.json()) as { token: string };
    expect((await authed(token)(`${coordinator.url}/jobs/${jobA}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1700));
    const late = await authed(token)(`${coordinator.url}/jobs/${jobA}`);
    expect({ status: late.status, code: ((await late.json()) as { code: string }).code }).toEqual({
      status: 401,
      code: 'SESSION_INVALID',
    });
  });

  it('a buyer reads its own job, rounds and progress, and nothing of another buyer’s', async () => {
    const asA = authed(tokenA);
    const asB = authed(tokenB);
    expect(((await (await asA(`${coordinator.url}/jobs/${jobA}`)).json()) as { id: string }).id).toBe(jobA);
    expect((await asA(`${coordinator.url}/jobs/${jobA}/rounds`)).status).toBe(200);
    const listA = (await (await asA(`${coordinator.url}/jobs`)).json()) as { id: string }[];
    expect(listA.map((j) => j.id)).toEqual([jobA]);
    // Asking for another buyer's jobs lists nothing; it does not widen the view.
    expect(await (await asA(`${coordinator.url}/jobs?buyer=${buyerB.address}`)).json()).toEqual([]);
    // B: another buyer's job answers exactly like a missing one (404, same body).
    const missing = '1'.repeat(64);
    for (const [path, other] of [
      [`/jobs/${jobA}`, `/jobs/${missing}`],
      [`/jobs/${jobA}/rounds`, `/jobs/${missing}/rounds`],
      [`/models/${jobA}`, `/models/${missing}`],
    ]) {
      const a = await asB(`${coordinator.url}${path}`);
      const m = await asB(`${coordinator.url}${other}`);
      expect(a.status).toBe(404);
      expect((await a.text()).replaceAll(jobA, 'X')).toBe((await m.text()).replaceAll(missing, 'X'));
    }
    expect(((await (await asB(`${coordinator.url}/jobs`)).json()) as { id: string }[]).map((j) => j.id)).toEqual([
      jobB,
    ]);
    expect(await progressStatus(coordinator.url, jobA, { authorization: `Bearer ${tokenA}` })).toBe(101);
    expect(await progressStatus(coordinator.url, `${jobA}&access_token=${tokenA}`)).toBe(101);
    expect(await progressStatus(coordinator.url, jobA, { authorization: `Bearer ${tokenB}` })).toBe(404);
    expect(await progressStatus(coordinator.url, jobA, { authorization: 'Bearer sfs_not-a-token' })).toBe(401);
  });

  it('an operator reads every buyer’s jobs, filtered by buyer', async () => {
    const asOp = authed(tokenOperator);
    const all = (await (await asOp(`${coordinator.url}/jobs`)).json()) as { id: string }[];
    expect(all.map((j) => j.id).sort()).toEqual([jobA, jobB].sort());
    const onlyB = (await (await asOp(`${coordinator.url}/jobs?buyer=${buyerB.address}`)).json()) as { id: string }[];
    expect(onlyB.map((j) => j.id)).toEqual([jobB]);
    expect((await asOp(`${coordinator.url}/jobs/${jobA}/rounds`)).status).toBe(200);
    expect(await progressStatus(coordinator.url, jobA, { authorization: `Bearer ${tokenOperator}` })).toBe(101);
  });

  it('keeps /health, /metrics and the dataset market public, and /metrics names no job or buyer', async () => {
    for (const path of ['/health', '/metrics', '/datasets', '/licences', '/info'])
      expect({ path, status: (await fetch(`${coordinator.url}${path}`)).status }).toEqual({ path, status: 200 });
    const metrics = (await (await fetch(`${coordinator.url}/metrics`)).text()).toLowerCase();
    for (const secret of [jobA, jobB, buyerA.address.toLowerCase(), buyerB.address.toLowerCase()])
      expect(metrics).not.toContain(secret);
  });

  it('documents the bearer auth in OpenAPI', async () => {
    const doc = (await (await fetch(`${coordinator.url}/docs-json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
      components: { securitySchemes?: Record<string, { scheme?: string }> };
    };
    expect(doc.components.securitySchemes?.bearer).toMatchObject({ scheme: 'bearer' });
    for (const [path, method] of [
      ['/jobs', 'get'],
      ['/jobs/{id}', 'get'],
      ['/jobs/{id}/rounds', 'get'],
      ['/models/{jobId}', 'get'],
    ])
      expect(doc.paths[path][method].security).toEqual([{ bearer: [] }]);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/auth/nonce', '/auth/session']));
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

  it('checks an announcement at the limit in parallel, then refuses announces past the rate limit', async () => {
    const silo = await authenticatedSilo(coordinator.url, Wallet.createRandom());
    const ids = Array.from({ length: MAX_ANNOUNCE_DATASETS }, (_, i) => String(5000 + i));
    const started = performance.now();
    silo.ws.send(encodeControlFrame('announce', { datasets: ids }));
    const result = decodeControlPayload('announce-result', (await silo.next('announce-result')).payload);
    const ms = performance.now() - started;
    process.stderr.write(`announce of ${ids.length} unowned ids: ${ms.toFixed(0)} ms\n`);
    expect(result.accepted).toEqual([]);
    expect(result.rejected.map((r) => r.datasetId)).toEqual(ids);
    expect(result.rejected.every((r) => r.reason.startsWith('UNKNOWN_DATASET'))).toBe(true);
    silo.ws.close();
    await silo.closed;
    // Repeating announces: ANNOUNCE_BURST within the window are answered, the next closes the connection.
    const repeater = await authenticatedSilo(coordinator.url, Wallet.createRandom());
    for (let i = 0; i < ANNOUNCE_BURST; i++) {
      repeater.ws.send(encodeControlFrame('announce', { datasets: ['5000'] }));
      await repeater.next('announce-result');
    }
    repeater.ws.send(encodeControlFrame('announce', { datasets: ['5000'] }));
    expect(await repeater.closed).toEqual({
      code: WIRE_CLOSE_CODES.tooManyRequests,
      reason: expect.stringMatching(/^TOO_MANY_ANNOUNCES/),
    });
  }, 60_000);
});
