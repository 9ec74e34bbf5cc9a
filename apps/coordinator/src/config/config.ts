// Typed, validated configuration from environment variables. Every variable is declared once here, with its
// default and a description; `describeConfig()` renders the table that README.md shows (a test keeps them in step).
import { isAbsolute, join, resolve } from 'node:path';
import { SealfoldError } from '@sealfold/protocol';
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
  dataDir: {
    name: 'SEALFOLD_DATA_DIR',
    description:
      'Directory for all local state (database, IPFS blocks, chain journal). Relative to the working directory.',
    form: 'a directory path',
    default: '.sealfold',
    schema: z.string().min(1),
  },
  databaseUrl: {
    name: 'SEALFOLD_DATABASE_URL',
    description:
      'PostgreSQL for the coordinator state (several coordinators may share it: each job is run by one of them under a lease, and another takes it over if that one dies). Empty: SQLite in `<SEALFOLD_DATA_DIR>/coordinator.db`.',
    form: 'a postgres:// or postgresql:// URL, or empty',
    default: '',
    schema: z.string().regex(/^(postgres(ql)?:\/\/\S+)?$/i),
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
  chainRpc: {
    name: 'SEALFOLD_CHAIN_RPC',
    description:
      'JSON-RPC URL of the chain (the embedded chain prints it). Empty: no chain — job submission and silo dataset checks answer 503.',
    form: 'an http(s) URL or empty',
    default: '',
    schema: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
  },
  chainDeployment: {
    name: 'SEALFOLD_CONTRACTS',
    description:
      'Contract addresses: a deployment.json as the embedded chain writes it ({chainId, contracts}); the CLI reads the same variable. Empty: `<data dir>/chain/deployment.json`.',
    form: 'a file path or empty',
    default: '',
    schema: z.string(),
  },
  coordinatorKeyFile: {
    name: 'SEALFOLD_COORDINATOR_KEY_FILE',
    description:
      'Private key file of the coordinator wallet (records model provenance). Empty: `<data dir>/coordinator.key`, created on first start.',
    form: 'a file path or empty',
    default: '',
    schema: z.string(),
  },
  ipfsApi: {
    name: 'SEALFOLD_IPFS_API',
    description: 'Kubo RPC API URL. Empty: the embedded Helia node under `<data dir>/ipfs`.',
    form: 'an http(s) URL or empty',
    default: '',
    schema: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
  },
  indexIntervalMs: {
    name: 'SEALFOLD_INDEX_INTERVAL_MS',
    description: 'How often the chain event indexer polls for new blocks.',
    form: 'an integer number of milliseconds, 50-600000',
    default: '1000',
    schema: z.coerce.number().int().min(50).max(600_000),
  },
  maxFrameBytes: {
    name: 'SEALFOLD_MAX_FRAME_BYTES',
    description: 'Largest silo WebSocket frame; a larger one closes that connection (1009).',
    form: 'an integer number of bytes, 1024-1073741824',
    default: '16842752',
    schema: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1 << 30),
  },
  authTimeoutMs: {
    name: 'SEALFOLD_AUTH_TIMEOUT_MS',
    description: 'Lifetime of a silo authentication challenge; an unauthenticated silo is closed after it (4408).',
    form: 'an integer number of milliseconds, 100-600000',
    default: '10000',
    schema: z.coerce.number().int().min(100).max(600_000),
  },
  heartbeatMs: {
    name: 'SEALFOLD_HEARTBEAT_MS',
    description: 'WebSocket ping interval; a connection that misses a whole interval is considered dead.',
    form: 'an integer number of milliseconds, 100-600000',
    default: '15000',
    schema: z.coerce.number().int().min(100).max(600_000),
  },
  stageTimeoutMs: {
    name: 'SEALFOLD_STAGE_TIMEOUT_MS',
    description: 'How long a SecAgg+ stage waits for silos before the missing ones count as dropped.',
    form: 'an integer number of milliseconds, 100-3600000',
    default: '60000',
    schema: z.coerce.number().int().min(100).max(3_600_000),
  },
  trainTimeoutMs: {
    name: 'SEALFOLD_TRAIN_TIMEOUT_MS',
    description: 'How long the masked-input stage (local training included) and evaluation wait for silos.',
    form: 'an integer number of milliseconds, 100-86400000',
    default: '600000',
    schema: z.coerce.number().int().min(100).max(86_400_000),
  },
  jobLeaseMs: {
    name: 'SEALFOLD_JOB_LEASE_MS',
    description:
      'How long a coordinator holds a job without renewing its lease (renewed every third of it); when its holder dies, another coordinator on the same database takes the job over after this long.',
    form: 'an integer number of milliseconds, 300-600000',
    default: '15000',
    schema: z.coerce.number().int().min(300).max(600_000),
  },
  minSilos: {
    name: 'SEALFOLD_MIN_SILOS',
    description:
      'Fewest silos a round may start (and end) with; below it the job fails. A job always needs at least its signed `secagg.minContributors` (≥ 3) silos, one per dataset, whatever this says (fewer datasets are refused at submission).',
    form: 'an integer 1-65535',
    default: '2',
    schema: z.coerce.number().int().min(1).max(65_535),
  },
  publicUrl: {
    name: 'SEALFOLD_PUBLIC_URL',
    description:
      'URL clients use to reach the coordinator; its host is the domain and its origin the URI a Sign-In with Ethereum (EIP-4361) message must name. Empty: the listening address (`http://<host>:<port>`).',
    form: 'an http(s) URL or empty',
    default: '',
    schema: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
  },
  operators: {
    name: 'SEALFOLD_OPERATORS',
    description:
      'Addresses that may read every job, its rounds, model and progress (besides the coordinator wallet itself), comma-separated.',
    form: 'comma-separated 0x addresses or empty',
    default: '',
    schema: z
      .string()
      .regex(/^\s*(0x[0-9a-fA-F]{40}(\s*,\s*0x[0-9a-fA-F]{40})*)?\s*$/)
      .transform((s) =>
        s
          .split(',')
          .map((a) => a.trim().toLowerCase())
          .filter((a) => a !== ''),
      ),
  },
} as const satisfies Record<string, VariableSpec<unknown>>;

type Variables = typeof CONFIG_VARIABLES;
export type CoordinatorConfig = { readonly [K in keyof Variables]: z.output<Variables[K]['schema']> };

export class ConfigError extends SealfoldError<'CONFIG'> {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    readonly form: string,
    readonly got: string,
  ) {
    super('CONFIG', `invalid configuration: ${variable} must be ${form} (got ${JSON.stringify(got)})`);
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
  // Paths that default to a place inside the data directory.
  const inDataDir = (value: string, ...fallback: string[]) =>
    value === '' ? join(out.dataDir as string, ...fallback) : resolve(process.cwd(), value);
  out.chainDeployment = inDataDir(out.chainDeployment as string, 'chain', 'deployment.json');
  out.coordinatorKeyFile = inDataDir(out.coordinatorKeyFile as string, 'coordinator.key');
  return Object.freeze(out) as CoordinatorConfig;
}

/** The configuration table in Markdown, as README.md shows it. */
export function describeConfig(): string {
  const rows = Object.values(CONFIG_VARIABLES).map(
    (v) => `| \`${v.name}\` | \`${v.default}\` | ${v.form.replaceAll('|', '\\|')} | ${v.description} |`,
  );
  return ['| variable | default | form | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
