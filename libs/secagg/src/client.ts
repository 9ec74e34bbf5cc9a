// The SecAgg+ client stage machine (Bonawitz et al. CCS 2017 Fig. 4, actively secure variant §6; sparse graph of
// Bell et al. CCS 2020 §4). It only consumes and produces typed messages: the silo moves the bytes.
//
//   setup ──► advertise-keys ─ key-list ──► share-keys ─ forward-shares ──► masked-input
//         ─ consistency-request ──► consistency-signature ─ unmask-request ──► unmask-shares (done)
//
// Any refusal throws SecAggError and leaves the machine in `refused`: it answers nothing more this round.
import { randomBytes } from 'node:crypto';
import { ed25519 as nodeEd25519, x25519 as nodeX25519, type Ed25519, type X25519 } from '@sealfold/crypto';
import {
  SECAGG_SERVER_ID,
  type SecAggClientMessage,
  type SecAggConsistencyRequest,
  type SecAggForwardShares,
  type SecAggKeyList,
  type SecAggMaskedInput,
  type SecAggParams,
  type SecAggServerMessage,
  type SecAggSetup,
  type SecAggUnmaskRequest,
  type SecAggUnmaskShares,
  type SecAggRevealedShare,
} from '@sealfold/protocol';
import { SecAggError, refuse } from './errors.js';
import { NeighbourhoodGraph } from './graph.js';
import { validateParams, sameParams } from './params.js';
import { keyAgreement } from './keyobjects.js';
import { defaultMaskThreads, maskedInputParallel } from './parallel.js';
import { pairwiseMaskKey, pairwiseSign, selfMaskKey, shareEncryptionKey, type MaskTerm } from './prg.js';
import { CertificateCache, keysSignedMessage, survivorsSignedMessage, type SessionIdentity } from './session.js';
import { decryptShareBundle, encryptShareBundle, type ShareBundle } from './shares.js';
import { shareSecret } from './shamir.js';

/** The client's contribution: the update (length d) and its weight (sample count, ≤ maxWeight). */
export interface SecAggInput {
  readonly update: ArrayLike<number>;
  readonly weight: number;
}

export interface Curves {
  readonly x25519: X25519;
  readonly ed25519: Ed25519;
}

export interface SecAggClientOptions {
  readonly jobId: string;
  readonly round: number;
  readonly id: number;
  /** The per-job session identity (Ed25519 key certified by the wallet). */
  readonly session: SessionIdentity;
  /** The wallet address each client id must have certified its session key with (e.g. from the chain). */
  readonly walletOf: (clientId: number) => string | undefined;
  /** The input, or a function producing it when stage 2 begins (e.g. local training). */
  readonly input: SecAggInput | (() => SecAggInput | Promise<SecAggInput>);
  /**
   * Checked against the server's params when given. A silo passes the full set it derived itself
   * (deriveRoundParams from the verified roster size and the signed job), so the server chooses none of n, k, t.
   */
  readonly expectedParams?: Partial<SecAggParams>;
  /**
   * The exact client ids the setup must list (any order) when given: the verified roster. Without it a server
   * could add ids no owner answers for (ghosts) and, with a small k and t, isolate one client's input.
   */
  readonly expectedClients?: ArrayLike<number>;
  /** Verified certificates of this job; share one instance across the client's rounds. */
  readonly certificates?: CertificateCache;
  /** node:crypto by default; pass the noble twins where node:crypto is absent. */
  readonly curves?: Curves;
  /**
   * Threads (this one included) expanding the masks in stage 2 when d·k is large (a persistent worker pool; the
   * silo is idle while it waits). Default: the available cores, up to 8; 1 keeps all work in this thread.
   */
  readonly workers?: number;
}

export type SecAggClientStage =
  'setup' | 'key-list' | 'forward-shares' | 'consistency-request' | 'unmask-request' | 'done' | 'aborted' | 'refused';

interface Peer {
  readonly encryptionKey: Uint8Array;
  readonly maskKey: Uint8Array;
  readonly sessionKey: Uint8Array;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export class SecAggClient {
  private stageValue: SecAggClientStage = 'setup';
  private params!: SecAggParams;
  private graph!: NeighbourhoodGraph;
  private hood!: Uint32Array;
  private readonly curves: Curves;
  private readonly certificates: CertificateCache;
  private cSk!: Uint8Array;
  private cPk!: Uint8Array;
  private sSk!: Uint8Array;
  private sPk!: Uint8Array;
  private selfSeed!: Uint8Array;
  private readonly peers = new Map<number, Peer>();
  /** AES-GCM keys of the share bundles per neighbour, derived once in stage 1 and reused in stage 2. */
  private readonly shareKeys = new Map<number, Uint8Array>();
  /** Shares this client holds: from each peer that sent a bundle (and its own). */
  private readonly held = new Map<number, ShareBundle>();
  private signedSurvivors: Uint32Array | null = null;
  /** Why the machine stopped, when aborted or refused. */
  failure: SecAggError | null = null;

  constructor(private readonly options: SecAggClientOptions) {
    if (!Number.isInteger(options.id) || options.id < 0 || options.id >= SECAGG_SERVER_ID)
      throw new SecAggError('INVALID_PARAMS', 'client id must be a uint32 below 0xffffffff');
    this.curves = options.curves ?? { x25519: nodeX25519, ed25519: nodeEd25519 };
    this.certificates = options.certificates ?? new CertificateCache();
  }

  get id(): number {
    return this.options.id;
  }

  /** The next message type the client expects, or a final state. */
  get stage(): SecAggClientStage {
    return this.stageValue;
  }

  /**
   * Handles one server message and returns the reply, or null when there is none (abort).
   * Throws SecAggError on refusal; the client then stays `refused`.
   */
  async handle(message: SecAggServerMessage): Promise<SecAggClientMessage | null> {
    if (this.stageValue === 'done' && message.type === 'secagg/abort') {
      // The server could not finish after this client revealed its shares: nothing more to do.
      this.checkEnvelope(message);
      this.stageValue = 'aborted';
      this.failure = new SecAggError('ABORTED', `server aborted: ${message.code}: ${message.reason}`);
      return null;
    }
    if (this.stageValue === 'done' || this.stageValue === 'aborted' || this.stageValue === 'refused')
      throw new SecAggError('UNEXPECTED_MESSAGE', `client is ${this.stageValue}`);
    try {
      this.checkEnvelope(message);
      if (message.type === 'secagg/abort') {
        this.stageValue = 'aborted';
        this.failure = new SecAggError('ABORTED', `server aborted: ${message.code}: ${message.reason}`);
        return null;
      }
      const expected = `secagg/${this.stageValue}`;
      if (message.type !== expected) refuse('UNEXPECTED_MESSAGE', `expected ${expected}, got ${message.type}`);
      switch (message.type) {
        case 'secagg/setup':
          return this.onSetup(message);
        case 'secagg/key-list':
          return await this.onKeyList(message);
        case 'secagg/forward-shares':
          return await this.onForwardShares(message);
        case 'secagg/consistency-request':
          return this.onConsistencyRequest(message);
        case 'secagg/unmask-request':
          return this.onUnmaskRequest(message);
      }
    } catch (err) {
      this.stageValue = 'refused';
      this.failure =
        err instanceof SecAggError ? err : new SecAggError('INVALID_MESSAGE', `client error: ${String(err)}`);
      throw this.failure;
    }
    return refuse('UNEXPECTED_MESSAGE', 'unreachable');
  }

  private envelope() {
    return { jobId: this.options.jobId, round: this.options.round, sender: this.options.id } as const;
  }

  private checkEnvelope(m: SecAggServerMessage) {
    if (m.jobId !== this.options.jobId) refuse('WRONG_JOB', `message for job ${m.jobId}`);
    if (m.round !== this.options.round) refuse('WRONG_ROUND', `message for round ${m.round}`);
    if (m.sender !== SECAGG_SERVER_ID) refuse('INVALID_MESSAGE', 'server messages come from the server id');
  }

  /** Stage 0 (Fig. 4 round 0, AdvertiseKeys): fresh c and s key pairs, signed with the session key. */
  private onSetup(m: SecAggSetup): SecAggClientMessage {
    const params = validateParams(m.params);
    const want = this.options.expectedParams ?? {};
    if (!sameParams({ ...params, ...want } as SecAggParams, params))
      refuse('INVALID_PARAMS', 'server parameters differ from the job');
    if (m.clients.length !== params.n)
      refuse('INVALID_MESSAGE', `setup lists ${m.clients.length} clients, n = ${params.n}`);
    if (this.options.expectedClients !== undefined) {
      const want = Array.from(this.options.expectedClients).sort((a, b) => a - b);
      const got = Array.from(m.clients).sort((a, b) => a - b);
      if (want.length !== got.length || want.some((id, i) => id !== got[i]))
        refuse('INVALID_MESSAGE', 'the setup lists clients other than the verified roster');
    }
    this.params = params;
    this.graph = new NeighbourhoodGraph(m.clients, params.k, m.roundSeed);
    if (!this.graph.has(this.id)) refuse('INVALID_MESSAGE', 'this client is not in the round');
    this.hood = this.graph.neighbourhood(this.id);
    const { x25519, ed25519 } = this.curves;
    this.cSk = x25519.generateSecretKey();
    this.cPk = x25519.publicKey(this.cSk);
    this.sSk = x25519.generateSecretKey();
    this.sPk = x25519.publicKey(this.sSk);
    const session = this.options.session;
    const signature = ed25519.sign(
      keysSignedMessage(this.options.jobId, this.options.round, this.id, this.cPk, this.sPk),
      session.secretKey,
    );
    this.stageValue = 'key-list';
    return {
      type: 'secagg/advertise-keys',
      ...this.envelope(),
      encryptionKey: this.cPk,
      maskKey: this.sPk,
      sessionKey: session.publicKey,
      certificate: session.certificate,
      signature,
    };
  }

  /**
   * Stage 1 (round 1, ShareKeys): check every neighbour's certificate and signature, refuse duplicate keys, then
   * share b_u and s_u^SK t-of-k over the neighbourhood and encrypt each bundle to its neighbour.
   */
  private async onKeyList(m: SecAggKeyList): Promise<SecAggClientMessage> {
    const { jobId, round } = this.options;
    const { ed25519, x25519 } = this.curves;
    const seenKeys = new Set<string>([hex(this.cPk), hex(this.sPk)]);
    for (const e of m.entries) {
      if (e.id === this.id || !this.graph.adjacent(this.id, e.id))
        refuse('INVALID_MESSAGE', `key list names ${e.id}, not a neighbour`);
      if (this.peers.has(e.id)) refuse('DUPLICATE_KEY', `key list names ${e.id} twice`);
      for (const key of [e.encryptionKey, e.maskKey]) {
        const h = hex(key);
        if (seenKeys.has(h)) refuse('DUPLICATE_KEY', `client ${e.id} advertises a key already in use`);
        seenKeys.add(h);
      }
      this.certificates.check(jobId, e.id, e.sessionKey, e.certificate, this.options.walletOf(e.id));
      const verify = this.certificates.verifier(ed25519, e.sessionKey);
      if (!verify(e.signature, keysSignedMessage(jobId, round, e.id, e.encryptionKey, e.maskKey)))
        refuse('BAD_SIGNATURE', `keys of client ${e.id} are not signed by its session key`);
      this.peers.set(e.id, { encryptionKey: e.encryptionKey, maskKey: e.maskKey, sessionKey: e.sessionKey });
    }
    const { k, t } = this.params;
    if (this.peers.size + 1 < t) refuse('TOO_FEW_NEIGHBOURS', `${this.peers.size + 1} live of ${k}, need ${t}`);
    this.selfSeed = new Uint8Array(randomBytes(32));
    // One share per neighbourhood member, in increasing id order (self included).
    const bShares = await shareSecret(this.selfSeed, k, t);
    const sShares = await shareSecret(this.sSk, k, t);
    const shares = [];
    const agree = keyAgreement(x25519, this.cSk);
    for (let i = 0; i < this.hood.length; i++) {
      const v = this.hood[i];
      const bundle = { selfMaskShare: bShares[i], maskKeyShare: sShares[i] };
      if (v === this.id) {
        this.held.set(v, bundle);
        continue;
      }
      const peer = this.peers.get(v);
      if (!peer) continue; // dropped before stage 0 ended: its share is discarded
      const key = shareEncryptionKey(agree(peer.encryptionKey), jobId, round, this.id, v);
      this.shareKeys.set(v, key);
      shares.push({ peer: v, ciphertext: encryptShareBundle(key, jobId, round, this.id, v, bundle) });
    }
    this.stageValue = 'forward-shares';
    return { type: 'secagg/share-keys', ...this.envelope(), shares };
  }

  /** Stage 2 (round 2, MaskedInputCollection): y_u = w·x_u + PRG(b_u) + Σ_v ±PRG(s_{u,v}) mod 2^32. */
  private async onForwardShares(m: SecAggForwardShares): Promise<SecAggMaskedInput> {
    const { jobId, round } = this.options;
    const { x25519 } = this.curves;
    for (const s of m.shares) {
      const peer = this.peers.get(s.peer);
      if (!peer) refuse('INVALID_MESSAGE', `share from ${s.peer}, who is not a live neighbour`);
      if (this.held.has(s.peer)) refuse('INVALID_MESSAGE', `two shares from ${s.peer}`);
      const key =
        this.shareKeys.get(s.peer) ??
        shareEncryptionKey(x25519.sharedSecret(this.cSk, peer.encryptionKey), jobId, round, s.peer, this.id);
      this.held.set(s.peer, decryptShareBundle(key, jobId, round, s.peer, this.id, s.ciphertext));
    }
    this.shareKeys.clear();
    const { t, d } = this.params;
    if (this.held.size < t) refuse('TOO_FEW_NEIGHBOURS', `${this.held.size} live of the neighbourhood, need ${t}`);
    const input = typeof this.options.input === 'function' ? await this.options.input() : this.options.input;
    const masks: MaskTerm[] = [{ key: selfMaskKey(this.selfSeed, jobId, round, this.id), sign: 1 }];
    const agree = keyAgreement(x25519, this.sSk);
    for (const v of this.held.keys()) {
      if (v === this.id) continue;
      const shared = agree(this.peers.get(v)!.maskKey);
      masks.push({ key: pairwiseMaskKey(shared, jobId, round, this.id, v), sign: pairwiseSign(this.id, v) });
    }
    // Quantisation and masking in one pass per chunk, split across the mask worker pool for large vectors.
    const threads = this.options.workers ?? defaultMaskThreads();
    const vector = await maskedInputParallel(input.update, input.weight, this.params, masks, threads);
    if (vector.length !== d + 1) refuse('INVALID_MESSAGE', 'internal: vector length');
    this.stageValue = 'consistency-request';
    return { type: 'secagg/masked-input', ...this.envelope(), vector };
  }

  /** Stage 3 (round 3, ConsistencyCheck, §6): sign the survivor list U3. */
  private onConsistencyRequest(m: SecAggConsistencyRequest): SecAggClientMessage {
    const survivors = m.survivors;
    for (let i = 1; i < survivors.length; i++)
      if (survivors[i] <= survivors[i - 1]) refuse('INVALID_MESSAGE', 'survivor list must be strictly increasing');
    if (!survivors.includes(this.id)) refuse('INVALID_MESSAGE', 'the survivor list omits this client');
    for (const v of survivors) if (!this.graph.has(v)) refuse('INVALID_MESSAGE', `survivor ${v} is not in the round`);
    const live = this.hood.filter((v) => survivors.includes(v)).length;
    if (survivors.length < this.params.t) refuse('TOO_FEW_SURVIVORS', `${survivors.length} survivors`);
    if (live < this.params.t) refuse('TOO_FEW_NEIGHBOURS', `${live} surviving neighbours, need ${this.params.t}`);
    this.signedSurvivors = Uint32Array.from(survivors);
    const signature = this.curves.ed25519.sign(
      survivorsSignedMessage(this.options.jobId, this.options.round, this.signedSurvivors),
      this.options.session.secretKey,
    );
    this.stageValue = 'unmask-request';
    return { type: 'secagg/consistency-signature', ...this.envelope(), signature };
  }

  /**
   * Stage 4 (round 4, Unmasking): check the survivor list is the one signed and carries ≥ t valid neighbour
   * signatures, then reveal b-shares of survivors and sk-shares of dropped peers — never both for one peer.
   */
  private onUnmaskRequest(m: SecAggUnmaskRequest): SecAggUnmaskShares {
    const signed = this.signedSurvivors!;
    if (m.survivors.length !== signed.length || m.survivors.some((v, i) => v !== signed[i]))
      refuse('SURVIVOR_LIST_MISMATCH', 'the survivor list differs from the one this client signed');
    const survivors = new Set(signed);
    const dropped = new Set<number>();
    for (const v of m.dropped) {
      if (survivors.has(v)) refuse('BOTH_SHARES_REQUESTED', `peer ${v} is named as survivor and as dropped`);
      if (dropped.has(v)) refuse('INVALID_MESSAGE', `peer ${v} is named twice as dropped`);
      if (!this.held.has(v) || v === this.id) refuse('INVALID_MESSAGE', `no share of ${v} is held`);
      dropped.add(v);
    }
    // Consistency check (§6): every forwarded signature valid, from a surviving neighbour, and ≥ t of them.
    const message = survivorsSignedMessage(this.options.jobId, this.options.round, signed);
    const signers = new Set<number>([this.id]);
    for (const s of m.signatures) {
      if (s.id === this.id) continue;
      const peer = this.peers.get(s.id);
      if (!peer || !survivors.has(s.id)) refuse('INVALID_MESSAGE', `signature from ${s.id}, not a surviving neighbour`);
      if (signers.has(s.id)) refuse('INVALID_MESSAGE', `two signatures from ${s.id}`);
      if (!this.certificates.verifier(this.curves.ed25519, peer.sessionKey)(s.signature, message))
        refuse('BAD_SIGNATURE', `survivor list signature of ${s.id} is invalid`);
      signers.add(s.id);
    }
    if (signers.size < this.params.t)
      refuse('TOO_FEW_NEIGHBOURS', `${signers.size} neighbours signed the survivor list, need ${this.params.t}`);
    const selfMaskShares: SecAggRevealedShare[] = [];
    const maskKeyShares: SecAggRevealedShare[] = [];
    for (const [v, bundle] of this.held) {
      if (survivors.has(v)) selfMaskShares.push({ owner: v, share: bundle.selfMaskShare });
      else if (dropped.has(v)) maskKeyShares.push({ owner: v, share: bundle.maskKeyShare });
    }
    this.stageValue = 'done';
    this.held.clear();
    return { type: 'secagg/unmask-shares', ...this.envelope(), selfMaskShares, maskKeyShares };
  }
}
