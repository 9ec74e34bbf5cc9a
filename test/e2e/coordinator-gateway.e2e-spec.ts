// The silo gateway over a real WebSocket: signed-challenge authentication, strict frames, per-connection failure.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  WIRE_CLOSE_CODES,
  WIRE_SUBPROTOCOL,
  decodeControlPayload,
  decodeWireFrame,
  encodeControlFrame,
  encodeWireFrame,
  siloAuthMessage,
} from '@sealfold/protocol';
import { Wallet } from 'ethers';
import WebSocket from 'ws';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import { authenticatedSilo, connectSilo } from './helpers/silo-client.js';

const MAX_FRAME = 64 * 1024;

describe('silo gateway', () => {
  let dir: string;
  let coordinator: RunningCoordinator;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-gateway-'));
    coordinator = await startCoordinator(
      loadConfig({
        SEALFOLD_PORT: '0',
        SEALFOLD_DATA_DIR: join(dir, 'data'),
        SEALFOLD_MAX_FRAME_BYTES: String(MAX_FRAME),
        SEALFOLD_AUTH_TIMEOUT_MS: '2000',
        // Long enough that a busy event loop (a parallel jest worker training tfjs) is not taken for a dead peer.
        SEALFOLD_HEARTBEAT_MS: '1500',
        SEALFOLD_LOG_LEVEL: 'silent',
      }),
      { logDestination: new PassThrough() },
    );
  });

  afterAll(async () => {
    await coordinator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends a challenge bound to this coordinator and accepts a correct EIP-191 answer', async () => {
    const wallet = Wallet.createRandom();
    const silo = await authenticatedSilo(coordinator.url, wallet);
    expect(silo.challenge.coordinatorId).toMatch(/^sealfold-coordinator-[0-9a-f]{16}$/);
    expect(silo.challenge.expiresAt).toBeGreaterThan(Date.now());
    // Without a chain the coordinator cannot check ownership: every dataset is rejected with that reason.
    silo.ws.send(encodeControlFrame('announce', { datasets: ['1'] }));
    const result = decodeControlPayload('announce-result', (await silo.next('announce-result')).payload);
    expect(result.accepted).toEqual([]);
    expect(result.rejected[0]).toMatchObject({ datasetId: '1', reason: expect.stringMatching(/^CHAIN_UNAVAILABLE/) });
    silo.ws.close();
    await silo.closed;
  });

  it('closes with 4401 when the signature is by another key', async () => {
    const claimed = Wallet.createRandom();
    const other = Wallet.createRandom();
    const silo = await connectSilo(coordinator.url);
    const challenge = decodeControlPayload('challenge', (await silo.next('challenge')).payload);
    const signature = await other.signMessage(siloAuthMessage(challenge, claimed.address));
    silo.ws.send(encodeControlFrame('auth', { address: claimed.address, signature }));
    expect(await silo.closed).toEqual({
      code: WIRE_CLOSE_CODES.authFailed,
      reason: 'signature is not by the claimed address',
    });
  });

  it('closes with 4401 when the signed message is for another coordinator', async () => {
    const wallet = Wallet.createRandom();
    const silo = await connectSilo(coordinator.url);
    const challenge = decodeControlPayload('challenge', (await silo.next('challenge')).payload);
    const signature = await wallet.signMessage(
      siloAuthMessage({ ...challenge, coordinatorId: 'sealfold-coordinator-elsewhere' }, wallet.address),
    );
    silo.ws.send(encodeControlFrame('auth', { address: wallet.address, signature }));
    expect((await silo.closed).code).toBe(WIRE_CLOSE_CODES.authFailed);
  });

  it('closes with 4403 when a silo sends anything but auth first', async () => {
    const silo = await connectSilo(coordinator.url);
    await silo.next('challenge');
    silo.ws.send(encodeControlFrame('announce', { datasets: [] }));
    expect(await silo.closed).toEqual({
      code: WIRE_CLOSE_CODES.protocolViolation,
      reason: 'expected auth, got announce',
    });
  });

  it('closes with 4408 when no answer comes within the challenge lifetime', async () => {
    const silo = await connectSilo(coordinator.url);
    expect(await silo.closed).toEqual({ code: WIRE_CLOSE_CODES.authTimeout, reason: 'authentication timed out' });
  });

  it('a malformed frame closes only its own connection, with the decoder’s reason', async () => {
    const good = await authenticatedSilo(coordinator.url, Wallet.createRandom());
    const bad = await authenticatedSilo(coordinator.url, Wallet.createRandom());
    const frame = encodeWireFrame({ type: 'secagg', jobId: 'j', round: 1, stage: 6, payload: new Uint8Array(8) });
    frame[0] = 0x00; // bad magic
    bad.ws.send(frame);
    expect(await bad.closed).toEqual({
      code: WIRE_CLOSE_CODES.malformedFrame,
      reason: 'BAD_MAGIC: not a Sealfold wire frame',
    });
    // The other silo is unaffected: it still gets answers.
    good.ws.send(encodeControlFrame('announce', { datasets: [] }));
    expect((await good.next('announce-result')).type).toBe('announce-result');
    expect(good.ws.readyState).toBe(good.ws.OPEN);
    good.ws.close();
    await good.closed;
  });

  it('a control frame whose JSON breaks its schema closes the connection with 4400', async () => {
    const silo = await authenticatedSilo(coordinator.url, Wallet.createRandom());
    silo.ws.send(
      encodeWireFrame({
        type: 'eval-result',
        jobId: 'j',
        round: 1,
        stage: 0,
        payload: new TextEncoder().encode(JSON.stringify({ jobId: 'j', round: 1, loss: -1, accuracy: 2, examples: 0 })),
      }),
    );
    const closed = await silo.closed;
    expect(closed.code).toBe(WIRE_CLOSE_CODES.malformedFrame);
    expect(closed.reason).toMatch(/^BAD_FIELD: eval-result: /);
  });

  it('an oversized frame is refused by the WebSocket layer (1009) while another silo continues', async () => {
    const good = await authenticatedSilo(coordinator.url, Wallet.createRandom());
    const big = await authenticatedSilo(coordinator.url, Wallet.createRandom());
    big.ws.send(
      encodeWireFrame({ type: 'plain-update', jobId: 'j', round: 1, stage: 0, payload: new Uint8Array(MAX_FRAME) }),
    );
    expect((await big.closed).code).toBe(WIRE_CLOSE_CODES.messageTooBig);
    good.ws.send(encodeControlFrame('announce', { datasets: [] }));
    expect((await good.next('announce-result')).type).toBe('announce-result');
    good.ws.close();
    await good.closed;
  });

  it('a text message closes the connection with 4415', async () => {
    const silo = await authenticatedSilo(coordinator.url, Wallet.createRandom());
    silo.ws.send('hello');
    expect(await silo.closed).toEqual({ code: WIRE_CLOSE_CODES.textFrame, reason: 'text frames are not accepted' });
  });

  it('a second connection of the same silo replaces the first (4409)', async () => {
    const wallet = Wallet.createRandom();
    const first = await authenticatedSilo(coordinator.url, wallet);
    const second = await authenticatedSilo(coordinator.url, wallet);
    expect((await first.closed).code).toBe(WIRE_CLOSE_CODES.replaced);
    second.ws.close();
    await second.closed;
  });

  it('detects a dead connection (no pong to its pings) and drops it', async () => {
    const wallet = Wallet.createRandom();
    const ws = new WebSocket(`${coordinator.url.replace(/^http/, 'ws')}/silo`, WIRE_SUBPROTOCOL, { autoPong: false });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    const first = await new Promise<Buffer>((resolve) => ws.once('message', resolve));
    const challenge = decodeControlPayload('challenge', decodeWireFrame(new Uint8Array(first)).payload);
    ws.send(
      encodeControlFrame('auth', {
        address: wallet.address,
        signature: await wallet.signMessage(siloAuthMessage(challenge, wallet.address)),
      }),
    );
    // Authenticated, then silent: two heartbeat intervals later the coordinator has terminated the socket.
    expect(await closed).toBe(1006);
    const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(metrics).toMatch(/sealfold_silo_connections_closed_total\{[^}]*code="heartbeat"[^}]*\} [1-9]/);
  });

  it('refuses a progress subscription without a read session with 401', async () => {
    const ws = new WebSocket(`${coordinator.url.replace(/^http/, 'ws')}/progress?job=${'0'.repeat(64)}`);
    const status = await new Promise<number>((resolve) =>
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);
    // With an unexpected-response listener, ws leaves the request to us: abort it.
    ws.on('error', () => undefined);
    ws.terminate();
  });

  it('documents every REST route in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${coordinator.url}/docs-json`)).json()) as { paths: Record<string, object> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/jobs',
        '/jobs/{id}',
        '/jobs/{id}/rounds',
        '/datasets',
        '/datasets/{id}',
        '/licences',
        '/models/{jobId}',
      ]),
    );
    expect(Object.keys(doc.paths['/jobs/{id}'])).toEqual(expect.arrayContaining(['get', 'delete']));
  });

  it('counts wire bytes and closed connections in /metrics', async () => {
    const text = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(text).toMatch(/sealfold_wire_bytes_total\{[^}]*direction="in"[^}]*\} [1-9]/);
    expect(text).toMatch(/sealfold_silo_connections_closed_total\{[^}]*code="4400"[^}]*\} [1-9]/);
  });
});
