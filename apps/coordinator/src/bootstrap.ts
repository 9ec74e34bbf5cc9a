// Builds and starts the coordinator: used by main.ts and by the e2e tests (which listen on port 0).
import 'reflect-metadata';
import { mkdir } from 'node:fs/promises';
import { type AddressInfo } from 'node:net';
import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { type Logger } from 'pino';
import { AppModule } from './app.module.js';
import { type CoordinatorConfig } from './config/config.js';
import { type CoordinatorChain } from './chain/chain.port.js';
import { type CoordinatorContentStore } from './models/content-store.port.js';
import { createPinoLogger, PinoNestLogger } from './logging/pino-logger.js';
import { MetricsService } from './metrics/metrics.service.js';
import { defaultWebDir, loadWebApp, webAppMiddleware } from './web/web-app.js';

export interface RunningCoordinator {
  readonly app: INestApplication;
  readonly url: string;
  readonly logger: Logger;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where the JSON log lines go (stdout by default). */
  readonly logDestination?: NodeJS.WritableStream;
  /** A chain adapter to use instead of connecting from the configuration (tests pass one built on a live chain). */
  readonly chain?: CoordinatorChain | null;
  /** A content store to use instead of opening one from the configuration. */
  readonly contentStore?: CoordinatorContentStore | null;
  /** Where the built web app is (default dist/web of the project); null serves the API only. */
  readonly webDir?: string | null;
  /**
   * The chain is the embedded dev chain (`sealfold coordinator start` without SEALFOLD_CHAIN_RPC): the web app offers
   * a dev wallet, funded through POST /dev/faucet. Never set for an RPC chain.
   */
  readonly devChain?: boolean;
}

export async function startCoordinator(
  config: CoordinatorConfig,
  options: StartOptions = {},
): Promise<RunningCoordinator> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const logger = createPinoLogger(config.logLevel, options.logDestination);
  // Loaded only when a chain is configured: a chainless coordinator does not load the contract client.
  const chain =
    options.chain !== undefined
      ? options.chain
      : config.chainRpc === ''
        ? null
        : await (await import('./chain/chain.adapter.js')).connectChain(config);
  const contentStore =
    options.contentStore !== undefined
      ? options.contentStore
      : await (await import('./models/content-store.adapter.js')).openContentStore(config);
  const app = await NestFactory.create(
    AppModule.forRoot(config, { chain, contentStore, devChain: options.devChain === true }),
    {
      logger: new PinoNestLogger(logger),
      bufferLogs: false,
    },
  );

  const metrics = app.get(MetricsService);
  app.use((req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      // The matched route pattern keeps label cardinality bounded (never the raw URL).
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      metrics.httpDuration.labels(req.method, route, String(res.statusCode)).observe(seconds);
      logger.debug({ method: req.method, route, status: res.statusCode, ms: seconds * 1000 }, 'http request');
    });
    next();
  });

  const webDir = options.webDir !== undefined ? options.webDir : defaultWebDir();
  const web = webDir === null ? null : loadWebApp(webDir);
  if (web) app.use(webAppMiddleware(web));
  else logger.info({ webDir }, 'no built web app (npm run build:web): serving the API only');

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Sealfold coordinator')
      .setDescription('Datasets, licences, federated training jobs and models. Silos connect over WebSocket.')
      .setVersion('0.1.0')
      // Jobs, rounds, models and progress need a read session: Sign-In with Ethereum (EIP-4361) → bearer token.
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'token from POST /auth/session' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });

  // No enableShutdownHooks(): main.ts owns SIGTERM/SIGINT and calls close(), which also closes the chain and store
  // (Nest's own handler would re-raise the signal after app.close() and kill the process before they are closed).
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info(
    {
      url,
      dataDir: config.dataDir,
      node: process.version,
      // glibc malloc settings (scripts/malloc-tuning.mjs): null means defaults, about 2x slower SecAgg+ buffers
      glibcTunables: process.env.GLIBC_TUNABLES ?? null,
    },
    'coordinator listening',
  );
  return {
    app,
    url,
    logger,
    close: async () => {
      await app.close();
      // A chain this function connected is ours to close; one passed in belongs to the caller.
      if (options.chain === undefined) await chain?.close();
      if (options.contentStore === undefined) await contentStore?.close();
    },
  };
}
