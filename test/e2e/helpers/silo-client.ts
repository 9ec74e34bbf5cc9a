// A minimal silo side of the gateway for tests: connects, answers the challenge with a real wallet signature.
import {
  WIRE_SUBPROTOCOL,
  decodeControlPayload,
  decodeWireFrame,
  encodeControlFrame,
  siloAuthMessage,
  type WireControl,
  type WireFrame,
} from '@sealfold/protocol';
import WebSocket from 'ws';

/** What the test silo needs of a wallet (ethers Wallet and HDNodeWallet both fit). */
export interface SiloWallet {
  readonly address: string;
  signMessage(message: string): Promise<string>;
}

export interface TestSilo {
  readonly ws: WebSocket;
  readonly frames: WireFrame[];
  next(type?: string): Promise<WireFrame>;
  closed: Promise<{ code: number; reason: string }>;
}

export async function connectSilo(url: string): Promise<TestSilo> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/silo`, WIRE_SUBPROTOCOL);
  const frames: WireFrame[] = [];
  const waiters: { type?: string; resolve: (f: WireFrame) => void }[] = [];
  ws.on('message', (data: Buffer) => {
    const frame = decodeWireFrame(new Uint8Array(data));
    const i = waiters.findIndex((w) => w.type === undefined || w.type === frame.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(frame);
    else frames.push(frame);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    closed,
    next(type) {
      const i = frames.findIndex((f) => type === undefined || f.type === type);
      if (i >= 0) return Promise.resolve(frames.splice(i, 1)[0]);
      return new Promise((resolve) => waiters.push({ type, resolve }));
    },
  };
}

/** Connects and authenticates as `wallet`; returns the silo after auth-ok. */
export async function authenticatedSilo(
  url: string,
  wallet: SiloWallet,
): Promise<TestSilo & { challenge: WireControl<'challenge'> }> {
  const silo = await connectSilo(url);
  const challenge = decodeControlPayload('challenge', (await silo.next('challenge')).payload);
  const signature = await wallet.signMessage(siloAuthMessage(challenge, wallet.address));
  silo.ws.send(encodeControlFrame('auth', { address: wallet.address, signature }));
  const ok = await Promise.race([
    silo.next('auth-ok'),
    silo.closed.then((c) => Promise.reject(new Error(`closed ${c.code} ${c.reason}`))),
  ]);
  decodeControlPayload('auth-ok', ok.payload);
  return { ...silo, challenge };
}
