// One authenticated silo connection as the rest of the coordinator sees it.
import type { WebSocket } from 'ws';
import { encodeWireFrame, type WireFrame } from '@sealfold/protocol';

export interface SiloSession {
  /** EIP-55 address the silo proved it controls. */
  readonly address: string;
  readonly sessionId: string;
  /** Dataset ids (decimal) the silo announced and owns on chain. */
  readonly datasets: ReadonlySet<string>;
  readonly connectedAt: number;
  /** Sends one frame; false when the connection is no longer open. */
  send(frame: WireFrame): boolean;
  /** Sends pre-encoded frame bytes (e.g. one global model shared by all silos). */
  sendRaw(bytes: Uint8Array): boolean;
  readonly open: boolean;
  close(code: number, reason: string): void;
}

export class SocketSiloSession implements SiloSession {
  datasets = new Set<string>();
  readonly connectedAt = Date.now();

  constructor(
    readonly address: string,
    readonly sessionId: string,
    private readonly socket: WebSocket,
    private readonly onSent: (bytes: number, type: string) => void,
    private readonly closeWith: (code: number, reason: string) => void,
  ) {}

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  send(frame: WireFrame): boolean {
    const bytes = encodeWireFrame(frame);
    if (!this.open) return false;
    this.socket.send(bytes, { binary: true });
    this.onSent(bytes.length, frame.type);
    return true;
  }

  sendRaw(bytes: Uint8Array): boolean {
    if (!this.open) return false;
    this.socket.send(bytes, { binary: true });
    this.onSent(bytes.length, 'raw');
    return true;
  }

  close(code: number, reason: string): void {
    this.closeWith(code, reason);
  }
}
