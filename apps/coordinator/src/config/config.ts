// Typed, validated configuration from environment variables. Every variable is declared once here, with its
// default and a description; `describeConfig()` renders the table that README.md shows (a test keeps them in step).
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';

interface VariableSpec<T> {
  readonly name: string;
  readonly description: string;
  /** The expected form, as shown to an operator who got it wrong. */
  readonly form: string;
  readonly default: string;
  readonly schema: z.ZodType<T>;
}

const port = z.coerce.number().int().min(0).max(65535);
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const CONFIG_VARIABLES = {
  profile: {
    name: 'SEALFOLD_PROFILE',
    description: 'Which infrastructure to use: `embedded` (in-process chain, embedded IPFS, SQLite) or `external`.',
    form: 'embedded | external',
    default: 'embedded',
    schema: z.enum(['embedded', 'external']),
  },
  dataDir: {
    name: 'SEALFOLD_DATA_DIR',
    description:
      'Directory for all local state (database, IPFS blocks, chain journal). Relative to the working directory.',
    form: 'a directory path',
    default: '.sealfold',
    schema: z.string().min(1),
  },
  host: {
    name: 'SEALFOLD_HOST',
    description: 'Interface the coordinator listens on.',
    form: 'an IP address or host name',
    default: '127.0.0.1',
    schema: z.string().min(1),
  },
  port: {
    name: 'SEALFOLD_PORT',
    description: 'TCP port of the coordinator (REST, WebSocket); 0 picks a free port.',
    form: 'an integer 0-65535',
    default: '8080',
    schema: port,
  },
  logLevel: {
    name: 'SEALFOLD_LOG_LEVEL',
    description: 'Minimum level of the JSON log lines written to stdout.',
    form: 'fatal | error | warn | info | debug | trace | silent',
    default: 'info',
    schema: logLevel,
  },
  shutdownTimeoutMs: {
    name: 'SEALFOLD_SHUTDOWN_TIMEOUT_MS',
    description: 'How long a graceful shutdown may take before the process exits anyway.',
    form: 'an integer number of milliseconds, 100-600000',
    default: '10000',
    schema: z.coerce.number().int().min(100).max(600_000),
  },
} as const satisfies Record<string, VariableSpec<unknown>>;

type Variables = typeof CONFIG_VARIABLES;
export type CoordinatorConfig = { readonly [K in keyof Variables]: z.output<Variables[K]['schema']> };

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly form: string,
    readonly got: string,
  ) {
    super(`invalid configuration: ${variable} must be ${form} (got ${JSON.stringify(got)})`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): CoordinatorConfig {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(CONFIG_VARIABLES) as [string, VariableSpec<unknown>][]) {
    const raw = env[spec.name];
    const value = raw === undefined || raw === '' ? spec.default : raw;
    const parsed = spec.schema.safeParse(value);
    if (!parsed.success) throw new ConfigError(spec.name, spec.form, value);
    out[key] = parsed.data;
  }
  const dataDir = out.dataDir as string;
  out.dataDir = isAbsolute(dataDir) ? dataDir : resolve(process.cwd(), dataDir);
  return Object.freeze(out) as CoordinatorConfig;
}

/** The configuration table in Markdown, as README.md shows it. */
export function describeConfig(): string {
  const rows = Object.values(CONFIG_VARIABLES).map(
    (v) => `| \`${v.name}\` | \`${v.default}\` | ${v.form.replaceAll('|', '\\|')} | ${v.description} |`,
  );
  return ['| variable | default | form | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
