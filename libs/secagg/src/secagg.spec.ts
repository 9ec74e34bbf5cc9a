// End-to-end properties of the SecAgg+ stage machines: real clients, real server, real frames.
import { beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { nobleEd25519, nobleX25519 } from '@sealfold/crypto';
import type { SecAggParams, SecAggServerMessage } from '@sealfold/protocol';
import { SecAggClient, type SecAggInput } from './client.js';
import { SecAggError } from './errors.js';
import { makeParams } from './params.js';
import { CertificateCache } from './session.js';
import { CLIENT_STEPS, type SecAggClientStep } from './driver.js';
import { simulateRound, type SimulationOptions } from './simulation.js';
import { makeDirectory, type Directory } from './fixtures.spec-helper.js';

const JOB = 'job-secagg-spec';
const MAX_N = 64;
let dir: Directory;
/** One verified-certificate cache for all simulated clients (they share the job and wallet directory). */
const sharedCertificates = new CertificateCache();

beforeAll(async () => {
  dir = await makeDirectory(
    JOB,
    Array.from({ length: MAX_N }, (_, i) => 100 + i),
  );
});

/** clip = (2^q − 1)/2 puts quantisation steps on integers, so inputs on the grid quantise exactly. */
const gridParams = (n: number, d: number, bits: number, maxWeight: number) =>
  makeParams({ n, d, clip: (2 ** bits - 1) / 2, bits, maxWeight });

function gridInputs(ids: number[], levels: number[][], weights: number[], p: SecAggParams) {
  return new Map<number, SecAggInput>(
    ids.map((id, i) => [id, { update: levels[i].map((l) => l - p.clip), weight: weights[i] }]),
  );
}

function expectedSum(ids: number[], levels: number[][], weights: number[], contributors: Set<number>, d: number) {
  const sum = new Array<number>(d + 1).fill(0);
  ids.forEach((id, i) => {
    if (!contributors.has(id)) return;
    for (let j = 0; j < d; j++) sum[j] += weights[i] * levels[i][j];
    sum[d] += weights[i];
  });
  return sum;
}

const run = (o: Omit<SimulationOptions, 'jobId' | 'identities' | 'walletOf'> & { jobId?: string }) =>
  simulateRound({
    jobId: JOB,
    identities: dir.identities,
    walletOf: dir.walletOf,
    certificatesOf: () => sharedCertificates,
    ...o,
  });

async function smallRound(n = 7, intercept?: SimulationOptions['intercept'], extra: Partial<SimulationOptions> = {}) {
  const ids = Array.from({ length: n }, (_, i) => 100 + i);
  const p = gridParams(n, 6, 8, 50);
  const levels = ids.map((_, i) => Array.from({ length: 6 }, (_, j) => (i * 37 + j * 11) % 256));
  const weights = ids.map((_, i) => 1 + i);
  const result = await run({ round: 1, params: p, inputs: gridInputs(ids, levels, weights, p), intercept, ...extra });
  return { ids, p, levels, weights, result };
}

describe('SecAgg+ exactness', () => {
  it('unmasks exactly the plain weighted quantised sum, n = 3…64, random dropouts in every stage', async () => {
    let completed = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 3, max: MAX_N }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            d: fc.integer({ min: 1, max: 12 }),
            bits: fc.integer({ min: 1, max: 12 }),
            levelsSeed: fc.array(fc.array(fc.nat(), { minLength: 12, maxLength: 12 }), { minLength: n, maxLength: n }),
            weights: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: n, maxLength: n }),
            // Per client: the stage it drops at (index into CLIENT_STEPS) or none (≥ 5), about 1 in 12 drops.
            drops: fc.array(fc.integer({ min: 0, max: 59 }), { minLength: n, maxLength: n }),
            round: fc.integer({ min: 0, max: 1000 }),
          }),
        ),
        async ({ n, d, bits, levelsSeed, weights, drops, round }) => {
          runs++;
          const ids = Array.from({ length: n }, (_, i) => 100 + i);
          const p = gridParams(n, d, bits, 40);
          const levels = levelsSeed.map((row) => row.slice(0, d).map((x) => x % 2 ** bits));
          const dropouts: Partial<Record<SecAggClientStep, number[]>> = {};
          ids.forEach((id, i) => {
            const step = CLIENT_STEPS[drops[i]];
            if (step) (dropouts[step] ??= []).push(id);
          });
          const r = await run({ round, params: p, inputs: gridInputs(ids, levels, weights, p), dropouts });
          expect(r.refusals.size).toBe(0);
          if (r.outcome.kind === 'aborted') {
            expect(['TOO_FEW_SURVIVORS', 'TOO_FEW_NEIGHBOURS']).toContain(r.outcome.error.code);
            return;
          }
          completed++;
          const beforeMasking = new Set([
            ...(dropouts['advertise-keys'] ?? []),
            ...(dropouts['share-keys'] ?? []),
            ...(dropouts['masked-input'] ?? []),
          ]);
          const contributors = new Set(ids.filter((id) => !beforeMasking.has(id)));
          expect([...r.outcome.result.contributors]).toEqual([...contributors]);
          expect([...r.outcome.result.quantisedSum]).toEqual(expectedSum(ids, levels, weights, contributors, d));
          const plain = expectedSum(ids, levels, weights, contributors, d);
          r.outcome.result.sum.forEach((s, j) => expect(s).toBeCloseTo(plain[j] - p.clip * plain[d], 6));
        },
      ),
      { numRuns: 30, endOnFailure: true },
    );
    // The property must not pass vacuously through aborts. About half the random schedules abort (a client left
    // with < t live neighbours), so a fixed fraction flakes; ≥ 5 of 30 fails with probability < 10^-3.
    expect(runs).toBe(30);
    expect(completed).toBeGreaterThanOrEqual(5);
  });

  it('weights by sample count: sum = Σ w·x, totalWeight = Σ w, mean = sum / totalWeight', async () => {
    const ids = [100, 101, 102, 103, 104];
    const p = makeParams({ n: 5, d: 3, clip: 1, bits: 16, maxWeight: 1000 });
    const xs = [
      [0.5, -0.25, 1],
      [0.1, 0.2, -0.3],
      [-1, 0, 0.75],
      [0.3, 0.3, 0.3],
      [0, -0.5, 0.5],
    ];
    const w = [10, 200, 3, 1000, 57];
    const inputs = new Map(ids.map((id, i) => [id, { update: xs[i], weight: w[i] }]));
    const r = await run({ round: 7, params: p, inputs });
    if (r.outcome.kind !== 'done') throw r.outcome.error;
    const W = w.reduce((a, b) => a + b, 0);
    expect(r.outcome.result.totalWeight).toBe(W);
    const step = (2 * p.clip) / (2 ** p.bits - 1);
    for (let j = 0; j < 3; j++) {
      const exact = xs.reduce((s, x, i) => s + w[i] * x[j], 0);
      expect(Math.abs(r.outcome.result.sum[j] - exact)).toBeLessThanOrEqual(W * step);
      expect(Math.abs(r.outcome.result.sum[j] / W - exact / W)).toBeLessThanOrEqual(step);
    }
  });

  it('node:crypto and @noble/curves clients interoperate in one round', async () => {
    const { ids, levels, weights, result } = await smallRound(9, undefined, {
      curves: { x25519: nobleX25519, ed25519: nobleEd25519 },
    });
    if (result.outcome.kind !== 'done') throw result.outcome.error;
    expect([...result.outcome.result.quantisedSum]).toEqual(expectedSum(ids, levels, weights, new Set(ids), 6));
  });

  it('the server removes masks identically with worker threads (above the work threshold)', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => 100 + i);
    const p = gridParams(8, 9000, 4, 3);
    const { PARALLEL_MIN_WORDS } = await import('./parallel.js');
    expect(8 * 9000).toBeLessThan(PARALLEL_MIN_WORDS); // this round runs in-thread; parallel.spec covers workers
    const levels = ids.map((_, i) => Array.from({ length: 9000 }, (_, j) => (i + j) % 16));
    const weights = ids.map((_, i) => i % 4);
    const r = await run({
      round: 3,
      params: p,
      inputs: gridInputs(ids, levels, weights, p),
      dropouts: { 'masked-input': [104] },
      serverWorkers: 2,
    });
    if (r.outcome.kind !== 'done') throw r.outcome.error;
    const contributors = new Set(ids.filter((id) => id !== 104));
    expect([...r.outcome.result.quantisedSum]).toEqual(expectedSum(ids, levels, weights, contributors, 9000));
  });

  it('reports per-client bytes and times; the masked vector travels as raw uint32 words', async () => {
    const { result, p } = await smallRound(7);
    for (const bytes of result.bytesSent.values()) expect(bytes).toBeGreaterThan(4 * (p.d + 1));
    expect(result.server.stage).toBe('done');
  });
});

describe('dropouts and aborts', () => {
  it('aborts with TOO_FEW_SURVIVORS and tells the live clients', async () => {
    const { result } = await smallRound(7, undefined, {
      dropouts: { 'masked-input': [100, 101, 102, 103, 104] },
    });
    expect(result.outcome.kind).toBe('aborted');
    if (result.outcome.kind !== 'aborted') return;
    expect(result.outcome.error).toBeInstanceOf(SecAggError);
    expect(result.outcome.error.code).toBe('TOO_FEW_SURVIVORS');
    for (const id of [105, 106]) {
      expect(result.clients.get(id)!.stage).toBe('aborted');
      expect(result.clients.get(id)!.failure?.code).toBe('ABORTED');
    }
  });

  it('aborts with TOO_FEW_NEIGHBOURS when a live client loses its neighbourhood', async () => {
    const n = 20;
    const ids = Array.from({ length: n }, (_, i) => 100 + i);
    const p = gridParams(n, 2, 4, 1); // k = 9, t = 5
    const seed = new Uint8Array(32).fill(3);
    const { NeighbourhoodGraph } = await import('./graph.js');
    const hood = new NeighbourhoodGraph(Uint32Array.from(ids), p.k, seed).neighbourhood(100);
    const victims = [...hood].filter((v) => v !== 100).slice(0, p.k - p.t + 1);
    const inputs = gridInputs(
      ids,
      ids.map(() => [1, 2]),
      ids.map(() => 1),
      p,
    );
    const r = await run({ round: 2, params: p, roundSeed: seed, inputs, dropouts: { 'share-keys': victims } });
    expect(r.outcome.kind === 'aborted' && r.outcome.error.code).toBe('TOO_FEW_NEIGHBOURS');
  });

  it('survives dropouts in the unmask stage (shares of the rest suffice)', async () => {
    const { ids, levels, weights, result } = await smallRound(9, undefined, {
      dropouts: { 'unmask-shares': [103], 'consistency-signature': [107] },
    });
    if (result.outcome.kind !== 'done') throw result.outcome.error;
    expect([...result.outcome.result.quantisedSum]).toEqual(expectedSum(ids, levels, weights, new Set(ids), 6));
  });
});

/** Runs a 7-client round where `tamper` rewrites one message of type `type` to client `victim`. */
async function attacked<T extends SecAggServerMessage['type']>(
  type: T,
  tamper: (m: Extract<SecAggServerMessage, { type: T }>, to: number) => SecAggServerMessage,
  victim = 103,
  extra: Partial<SimulationOptions> = {},
) {
  const { result } = await smallRound(
    7,
    (to, m) => (to === victim && m.type === type ? tamper(m as Extract<SecAggServerMessage, { type: T }>, to) : m),
    extra,
  );
  return result;
}

describe('an honest client refuses a misbehaving coordinator', () => {
  it('an unmask request naming a peer both as survivor and as dropped', async () => {
    const r = await attacked('secagg/unmask-request', (m) => ({
      ...m,
      dropped: Uint32Array.from(new Set([...m.dropped, ...m.survivors.filter((v) => v !== 103)])).sort(),
    }));
    expect(r.refusals.get(103)?.code).toBe('BOTH_SHARES_REQUESTED');
    expect(r.clients.get(103)!.stage).toBe('refused');
  });

  it('a survivor list that differs from the one it signed', async () => {
    const r = await attacked('secagg/unmask-request', (m) => ({
      ...m,
      survivors: m.survivors.filter((v) => v !== 104),
    }));
    expect(r.refusals.get(103)?.code).toBe('SURVIVOR_LIST_MISMATCH');
  });

  it('fewer than t consistency signatures, or a forged one', async () => {
    const few = await attacked('secagg/unmask-request', (m) => ({ ...m, signatures: m.signatures.slice(0, 1) }));
    expect(few.refusals.get(103)?.code).toBe('TOO_FEW_NEIGHBOURS');
    const forged = await attacked('secagg/unmask-request', (m) => ({
      ...m,
      signatures: m.signatures.map((s, i) =>
        i === 0 ? { ...s, signature: s.signature.map((b, j) => (j ? b : b ^ 1)) } : s,
      ),
    }));
    expect(forged.refusals.get(103)?.code).toBe('BAD_SIGNATURE');
  });

  it('a key list with a duplicate entry or a duplicated key', async () => {
    const dupEntry = await attacked('secagg/key-list', (m) => ({ ...m, entries: [...m.entries, m.entries[0]] }));
    expect(dupEntry.refusals.get(103)?.code).toBe('DUPLICATE_KEY');
    const dupKey = await attacked('secagg/key-list', (m) => ({
      ...m,
      entries: m.entries.map((e, i) => (i === 1 ? { ...e, maskKey: m.entries[0].maskKey } : e)),
    }));
    expect(dupKey.refusals.get(103)?.code).toBe('DUPLICATE_KEY');
  });

  it('a key list with unsigned, badly signed or substituted keys', async () => {
    const zeroSig = await attacked('secagg/key-list', (m) => ({
      ...m,
      entries: m.entries.map((e, i) => (i === 0 ? { ...e, signature: new Uint8Array(64) } : e)),
    }));
    expect(zeroSig.refusals.get(103)?.code).toBe('BAD_SIGNATURE');
    const swapped = await attacked('secagg/key-list', (m) => ({
      ...m,
      entries: m.entries.map((e, i) =>
        i === 0 ? { ...e, maskKey: nobleX25519.publicKey(new Uint8Array(32).fill(9)) } : e,
      ),
    }));
    expect(swapped.refusals.get(103)?.code).toBe('BAD_SIGNATURE');
  });

  it('a session key certified by another wallet, or not by the expected one', async () => {
    const other = await attacked('secagg/key-list', (m) => ({
      ...m,
      entries: m.entries.map((e, i) => (i === 0 ? { ...e, certificate: m.entries[1].certificate } : e)),
    }));
    expect(other.refusals.get(103)?.code).toBe('BAD_CERTIFICATE');
    const wrongSig = await attacked(
      'secagg/key-list',
      (m) => ({
        ...m,
        entries: m.entries.map((e, i) =>
          i === 0
            ? { ...e, certificate: { ...e.certificate, signature: e.certificate.signature.map((b) => b ^ 2) } }
            : e,
        ),
      }),
      103,
      { certificatesOf: () => new CertificateCache() },
    );
    expect(wrongSig.refusals.get(103)?.code).toBe('BAD_CERTIFICATE');
  });

  it('a key list naming a non-neighbour', async () => {
    const r = await attacked('secagg/key-list', (m) => ({
      ...m,
      entries: m.entries.map((e, i) => (i === 0 ? { ...e, id: 103 } : e)),
    }));
    expect(r.refusals.get(103)?.code).toBe('INVALID_MESSAGE');
  });

  it('tampered or misattributed share bundles', async () => {
    const flipped = await attacked('secagg/forward-shares', (m) => ({
      ...m,
      shares: m.shares.map((s, i) =>
        i === 0 ? { ...s, ciphertext: s.ciphertext.map((b, j) => (j === 9 ? b ^ 1 : b)) } : s,
      ),
    }));
    expect(flipped.refusals.get(103)?.code).toBe('DECRYPTION_FAILED');
    const swapped = await attacked('secagg/forward-shares', (m) => ({
      ...m,
      shares: m.shares.map((s, i) => ({ ...s, ciphertext: m.shares[(i + 1) % m.shares.length].ciphertext })),
    }));
    expect(swapped.refusals.get(103)?.code).toBe('DECRYPTION_FAILED');
  });

  it('messages from another round or job', async () => {
    const round = await attacked('secagg/consistency-request', (m) => ({ ...m, round: m.round + 1 }));
    expect(round.refusals.get(103)?.code).toBe('WRONG_ROUND');
    const job = await attacked('secagg/key-list', (m) => ({ ...m, jobId: 'another-job' }));
    expect(job.refusals.get(103)?.code).toBe('WRONG_JOB');
  });

  it('a survivor list that omits the client itself', async () => {
    const r = await attacked('secagg/consistency-request', (m) => ({
      ...m,
      survivors: m.survivors.filter((v) => v !== 103),
    }));
    expect(r.refusals.get(103)?.code).toBe('INVALID_MESSAGE');
  });

  it('parameters other than the job’s, or out of range', async () => {
    const client = new SecAggClient({
      jobId: JOB,
      round: 1,
      id: 100,
      session: dir.identities.get(100)!,
      walletOf: dir.walletOf,
      input: { update: [0], weight: 1 },
      expectedParams: { bits: 8 },
    });
    const setup = {
      type: 'secagg/setup' as const,
      jobId: JOB,
      round: 1,
      sender: 0xffffffff,
      params: makeParams({ n: 3, d: 1, clip: 1, bits: 9, maxWeight: 1 }),
      roundSeed: new Uint8Array(32),
      clients: Uint32Array.from([100, 101, 102]),
    };
    await expect(client.handle(setup)).rejects.toMatchObject({ code: 'INVALID_PARAMS' });
    expect(client.stage).toBe('refused');
    await expect(client.handle(setup)).rejects.toMatchObject({ code: 'UNEXPECTED_MESSAGE' });
  });

  it('a setup listing clients other than the expected roster (a ghost id, or a roster member left out)', async () => {
    const params = makeParams({ n: 3, d: 1, clip: 1, bits: 8, maxWeight: 1 });
    const setupWith = (clients: number[]) => ({
      type: 'secagg/setup' as const,
      jobId: JOB,
      round: 1,
      sender: 0xffffffff,
      params,
      roundSeed: new Uint8Array(32),
      clients: Uint32Array.from(clients),
    });
    const client = () =>
      new SecAggClient({
        jobId: JOB,
        round: 1,
        id: 100,
        session: dir.identities.get(100)!,
        walletOf: dir.walletOf,
        input: { update: [0], weight: 1 },
        expectedParams: params,
        expectedClients: [102, 101, 100],
      });
    await expect(client().handle(setupWith([100, 101, 999]))).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });
    const fine = client();
    await expect(fine.handle(setupWith([100, 101, 102]))).resolves.toMatchObject({ type: 'secagg/advertise-keys' });
    expect(fine.stage).toBe('key-list');
  });

  it('a message out of stage order', async () => {
    const r = await attacked('secagg/key-list', (m) => ({
      type: 'secagg/consistency-request',
      jobId: m.jobId,
      round: m.round,
      sender: m.sender,
      survivors: Uint32Array.from([103]),
    }));
    expect(r.refusals.get(103)?.code).toBe('UNEXPECTED_MESSAGE');
  });
});

describe('the server', () => {
  it('refuses replies from the wrong sender, a repeated reply and a share reveal it did not ask for', async () => {
    const { result } = await smallRound(5);
    expect(() =>
      result.server.receive(100, {
        type: 'secagg/consistency-signature',
        jobId: JOB,
        round: 1,
        sender: 100,
        signature: new Uint8Array(64),
      }),
    ).toThrow(SecAggError);
    const { SecAggServer } = await import('./server.js');
    const server = new SecAggServer({ jobId: JOB, round: 1, params: gridParams(5, 1, 4, 1), clients: [1, 2, 3, 4, 5] });
    server.start();
    const adv = {
      type: 'secagg/advertise-keys' as const,
      jobId: JOB,
      round: 1,
      sender: 2,
      encryptionKey: new Uint8Array(32),
      maskKey: new Uint8Array(32).fill(1),
      sessionKey: new Uint8Array(32),
      certificate: { wallet: new Uint8Array(20), signature: new Uint8Array(65) },
      signature: new Uint8Array(64),
    };
    expect(() => server.receive(1, adv)).toThrow(/claims sender/);
    server.receive(2, adv);
    expect(() => server.receive(2, adv)).toThrow(/second message/);
    expect(() => server.receive(9, { ...adv, sender: 9 })).toThrow(/no message expected/);
    expect(server.complete).toBe(false);
    expect([...server.pending]).toEqual([1, 3, 4, 5]);
    const step = await server.advance();
    expect(step.kind === 'aborted' && step.error.code).toBe('TOO_FEW_SURVIVORS');
  });
});
