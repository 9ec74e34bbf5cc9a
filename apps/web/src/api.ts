// The coordinator's REST API, same origin. Errors carry the API's machine-readable code and its message.
export interface ApiProblem {
  statusCode: number;
  code: string;
  message: string;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface FeatureColumn {
  name: string;
  type: string;
}

export interface DatasetView {
  id: string;
  owner: string;
  tokenUri: string;
  manifestCid: string | null;
  manifestError: string | null;
  name: string | null;
  features: FeatureColumn[] | null;
  label: string | null;
  classes: string[] | null;
  rows: number | null;
  /** The validated public manifest; its schema gives the model's input width (categorical columns one-hot). */
  manifest: {
    schema: {
      columns: {
        name: string;
        type: string;
        role?: string;
        levels?: string[];
        encoding?: string;
        buckets?: number;
        parts?: string[];
      }[];
      label: string;
    };
  } | null;
  blockNumber: number;
}

export interface TermsView {
  datasetId: string;
  priceWei: string;
  paymentToken: string;
  priceToken: string;
  licenceDuration: string;
  maxJobs: number;
  epsilonBudgetMilli: number;
  /** What ε protects: 'record' (any one row of the dataset) or 'owner' (the whole dataset). */
  dpLevel: 'record' | 'owner';
  minOwners: number;
  royaltyBps: number;
  listed: boolean;
  termsHash: string;
}

export interface LicenceView {
  id: string;
  datasetId: string;
  holder: string;
  expiresAt: number;
  maxJobs: number | null;
  epsilonBudgetMilli: number | null;
  revoked: boolean;
  active: boolean;
  blockNumber: number;
}

export interface Info {
  coordinatorId: string;
  chainId: string | null;
  domain: { name: string; version: string; chainId: string; verifyingContract: string } | null;
  coordinatorAddress: string | null;
  /** DatasetNFT (job terms) and JobEscrow (a paid job's escrow); jobEscrow null before issue 20's contracts. */
  contracts?: { datasetNFT: string; jobEscrow: string | null } | null;
  /** The embedded dev chain: the page may offer a dev wallet (POST /dev/faucet). */
  devWallet?: boolean;
  silos: { address: string; datasets: string[] }[];
}

export interface JobView {
  id: string;
  buyer: string;
  status: 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
  reasonCode: string | null;
  reason: string | null;
  rounds: number;
  currentRound: number;
  request: { datasets: string[]; strategy: string; rounds: number } & Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface RoundRecord {
  round: number;
  status: 'completed' | 'aborted';
  participants: number;
  dropouts: number;
  loss: number | null;
  accuracy: number | null;
  reason: string | null;
}

export interface JobRounds {
  rounds: RoundRecord[];
  participants: { datasetId: string; clientId: number; silo: string; accepted: boolean; reason: string | null }[];
}

export interface ModelRecord {
  jobId: string;
  cid: string;
  recipient: string;
  bytes: number;
  sha256: string;
  txHash: string | null;
  metadata: Record<string, unknown>;
  createdAt: string;
}

/** GET /models/:jobId/provenance: the ModelRegistry record read on chain (libs/protocol ModelProvenanceView). */
export type { ModelProvenanceView } from '../../../libs/protocol/src/rest.js';

/** GET /escrow/earnings/:address and GET /escrow/models/:modelId (issue 20; libs/protocol rest.ts). */
export type { EarningsView, ModelAssetView } from '../../../libs/protocol/src/rest.js';

/** One `progress` message of GET /progress (WebSocket). */
export interface Progress {
  type: 'progress';
  jobId: string;
  status: JobView['status'];
  round: number;
  rounds: number;
  stage: string;
  participants: number;
  dropouts: number;
  loss?: number;
  accuracy?: number;
  reason?: string;
  at: string;
}

export interface SessionView {
  token: string;
  address: string;
  operator: boolean;
  expiresAt: string;
}

/** GET/POST a JSON resource; `token` adds the session's bearer token (RFC 6750 §2.1). */
export async function api<T>(path: string, opts: { token?: string; method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'the coordinator cannot be reached');
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'BAD_RESPONSE', `the coordinator answered ${res.status} with something not JSON`);
  }
  if (!res.ok) {
    const p = (json ?? {}) as Partial<ApiProblem>;
    throw new ApiError(res.status, p.code ?? `HTTP_${res.status}`, p.message ?? res.statusText);
  }
  return json as T;
}
