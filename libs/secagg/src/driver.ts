// The one SecAgg+ driver loop: start the server, hand each stage's messages to the clients, wait until the stage may
// close, advance, until the round ends; an abort is passed on to the clients. The transport (a WebSocket gateway on
// the coordinator, in-process clients in the simulation, the benchmark and the tests) is all that differs — as in
// google/fcp secagg, where one driver sits apart from the client and server state machines.
import type { SecAggServerMessage } from '@sealfold/protocol';
import type { SecAggServer, SecAggServerStage, SecAggServerStep } from './server.js';

/** A stage in which the server waits for client replies. */
export type SecAggClientStep = Exclude<SecAggServerStage, 'done' | 'aborted'>;
export const CLIENT_STEPS: readonly SecAggClientStep[] = [
  'advertise-keys',
  'share-keys',
  'masked-input',
  'consistency-signature',
  'unmask-shares',
];

/** How the driver reaches the clients. Replies go to `server.receive` (during `send` or while `settle` waits). */
export interface SecAggTransport {
  /** Hands a stage's messages (by client id) to their clients; `aborted` carries the abort notices. */
  send(messages: ReadonlyMap<number, SecAggServerMessage>, stage: SecAggClientStep | 'aborted'): void | Promise<void>;
  /** Resolves when the stage may close: every pending client answered, is gone, or time is up. */
  settle?(stage: SecAggClientStep, server: SecAggServer): Promise<void>;
  /** Just before the server advances past `stage`, with the clients that did not answer it (dropped out). */
  closing?(stage: SecAggClientStep, missing: number): void;
  /** Just after the server advanced past `stage`. */
  closed?(stage: SecAggClientStep): void;
}

export interface SecAggDriveResult {
  /** How the round ended: the unmasked sum, or the abort (already sent to the clients). */
  readonly outcome: Exclude<SecAggServerStep, { kind: 'send' }>;
  /** Clients lost over all stages. */
  readonly dropouts: number;
}

/** Runs `server` from its start to its end over `transport`. */
export async function driveSecAgg(server: SecAggServer, transport: SecAggTransport): Promise<SecAggDriveResult> {
  let dropouts = 0;
  let step = server.start();
  while (step.kind === 'send') {
    const stage = step.stage as SecAggClientStep;
    await transport.send(step.messages, stage);
    await transport.settle?.(stage, server);
    const missing = server.pending.size;
    dropouts += missing;
    transport.closing?.(stage, missing);
    step = await server.advance();
    transport.closed?.(stage);
  }
  if (step.kind === 'aborted') await transport.send(step.messages, 'aborted');
  return { outcome: step, dropouts };
}
