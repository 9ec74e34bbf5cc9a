// What every command gets: the resolved global options, output helpers and a list of resources to close at exit.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CliError } from './errors.js';

/** Global options as commander parses them (before defaults from the environment are applied). */
export interface RawGlobalOptions {
  json?: boolean;
  home?: string;
  dataDir?: string;
}

export interface Paths {
  /** Private per-user directory: the keystore and the CLI's own records (`--home`, SEALFOLD_HOME, ~/.sealfold). */
  home: string;
  /** `<home>/keystore`: wallet key + age identity (0700 directory, 0600 files). */
  keystore: string;
  /** Shared local infrastructure: IPFS blocks and the embedded chain (`--data-dir`, SEALFOLD_DATA_DIR, ./.sealfold). */
  dataDir: string;
}

/**
 * Defaults: the keystore lives in the user's home (`~/.sealfold`), never in a project checkout; the data directory
 * defaults to `./.sealfold` like the coordinator's SEALFOLD_DATA_DIR, so a CLI and a coordinator started in the
 * same directory share the embedded IPFS store and the embedded chain.
 */
export function resolvePaths(raw: RawGlobalOptions, env: NodeJS.ProcessEnv = process.env): Paths {
  const pick = (option: string | undefined, variable: string, fallback: string): string => {
    const value = option ?? env[variable] ?? fallback;
    if (value.trim() === '') throw new CliError('INVALID_OPTION', `${variable} / its option must not be empty`);
    return resolve(value);
  };
  const home = pick(raw.home, 'SEALFOLD_HOME', join(homedir(), '.sealfold'));
  return { home, keystore: join(home, 'keystore'), dataDir: pick(raw.dataDir, 'SEALFOLD_DATA_DIR', '.sealfold') };
}

/** A command's result: one JSON object for --json, and the text printed otherwise. */
export interface CommandResult {
  json: Record<string, unknown>;
  text: string;
  /** Defaults to 0; `doctor` returns 1 when a required check fails (after printing its full report). */
  exitCode?: number;
  /** The command printed its output itself (long-running commands such as `chain start`). */
  printed?: boolean;
}

export class Context {
  readonly json: boolean;
  readonly paths: Paths;
  private readonly closers: (() => Promise<void> | void)[] = [];

  constructor(raw: RawGlobalOptions, env: NodeJS.ProcessEnv = process.env) {
    this.json = raw.json === true;
    this.paths = resolvePaths(raw, env);
  }

  /** Registers a resource to release when the command ends (in reverse order), whatever the outcome. */
  onClose(close: () => Promise<void> | void): void {
    this.closers.push(close);
  }

  /** Human progress/status notes go to stderr and only without --json, so stdout stays machine-readable. */
  note(text: string): void {
    if (!this.json) process.stderr.write(`${text}\n`);
  }

  async close(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        process.stderr.write(`sealfold: warning: cleanup failed: ${(error as Error).message}\n`);
      }
    }
  }
}

/** JSON.stringify that writes bigints (wei amounts, token ids) as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
