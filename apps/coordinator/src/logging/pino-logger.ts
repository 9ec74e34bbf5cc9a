// Nest's LoggerService on top of pino: one JSON object per line on stdout.
import { type LoggerService } from '@nestjs/common';
import { pino, type Logger } from 'pino';

export function createPinoLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { service: 'coordinator' } }, destination ?? process.stdout);
}

export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
  fatal(message: unknown, context?: string): void {
    this.logger.fatal({ context }, String(message));
  }
}
