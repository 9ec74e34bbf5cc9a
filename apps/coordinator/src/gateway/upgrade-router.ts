// One `upgrade` listener on the HTTP server, dispatching WebSocket handshakes by path (/silo, /progress).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void;

@Injectable()
export class UpgradeRouter implements OnApplicationBootstrap {
  private readonly routes = new Map<string, UpgradeHandler>();

  constructor(@Inject(HttpAdapterHost) private readonly host: HttpAdapterHost) {}

  register(path: string, handler: UpgradeHandler): void {
    this.routes.set(path, handler);
  }

  onApplicationBootstrap(): void {
    const server = this.host.httpAdapter.getHttpServer() as import('node:http').Server;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://coordinator');
      const handler = this.routes.get(url.pathname);
      if (!handler) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      handler(req, socket, head, url);
    });
  }
}

/** Refuses a handshake with an HTTP status (the client sees it as an `unexpected-response`). */
export function refuseUpgrade(socket: Duplex, status: number, text: string, body = ''): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
