// A real embedded EDR chain with the Sealfold contracts, plus helpers to build signed job requests.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  connectChain,
  sealfoldDomain,
  signJobRequest,
  startEmbeddedChain,
  type EmbeddedChain,
  type SealfoldChain,
} from '@sealfold/chain';
import {
  jobRequestToJson,
  jobSchemaHash,
  jobTraining,
  NO_ESCROW,
  type JobRequest,
  type JobRequestJson,
  type JobSchema,
} from '@sealfold/protocol';
import { modelSpecHash } from '@sealfold/fl';
import { CID } from 'multiformats/cid';
import { shardJobSchema } from './sealed-shard.js';
import { Wallet } from 'ethers';

export const cidOf = (text: string): string => {
  const digest = createHash('sha256').update(text).digest();
  return CID.decode(Uint8Array.from([0x01, 0x55, 0x12, 0x20, ...digest])).toString();
};
export const commitmentOf = (text: string): string => `0x${createHash('sha256').update(`plain:${text}`).digest('hex')}`;

export interface ChainFixture {
  chain: EmbeddedChain;
  /** Clients for dev accounts 1..n (0 is the deployer/admin). */
  client(index: number): Promise<SealfoldChain>;
  deploymentPath: string;
  /** Sends `wei` (default 1 ETH) from dev account 0: the coordinator's own wallet pays for its ModelRegistry records. */
  fund(address: string, wei?: bigint): Promise<void>;
  close(): Promise<void>;
}

export async function startChainFixture(dataDir: string, recorders?: readonly string[]): Promise<ChainFixture> {
  const chain = await startEmbeddedChain({ dataDir, recorders });
  const clients: SealfoldChain[] = [];
  const client = async (index: number): Promise<SealfoldChain> => {
    const c = await connectChain({ embedded: chain, signer: chain.accounts[index].privateKey });
    clients.push(c);
    return c;
  };
  return {
    chain,
    deploymentPath: join(dataDir, 'chain', 'deployment.json'),
    client,
    async fund(address, wei = 10n ** 18n) {
      const funder = new Wallet(chain.accounts[0].privateKey, (await client(0)).provider);
      await (await funder.sendTransaction({ to: address, value: wei })).wait();
    },
    async close() {
      for (const c of clients) c.close();
      await chain.close();
    },
  };
}

/** A small MLP (4 features → 3 classes, as for Iris). */
export const TEST_MODEL_SPEC = {
  inputShape: [4],
  layers: [
    { type: 'dense', units: 8, activation: 'relu' },
    { type: 'dense', units: 3, activation: 'softmax' },
  ],
};

/** The job schema of the Iris owners' shards (helpers/owners.ts: features f0..f3, label `label`, classes 0, 1, 2). */
export const TEST_JOB_SCHEMA: JobSchema = shardJobSchema(4, 3, (j) => `f${j}`);

/** An age X25519 recipient (Bech32 `age1` + 58 characters, from age's README) for tests where only its form matters. */
export const TEST_RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

/** The coordinator's chain account, as a buyer learns it (GET /info coordinatorAddress). */
export async function coordinatorAddressOf(coordinatorUrl: string): Promise<string> {
  const info = (await (await fetch(`${coordinatorUrl}/info`)).json()) as { coordinatorAddress: string | null };
  if (!info.coordinatorAddress) throw new Error(`${coordinatorUrl} has no coordinator account`);
  return info.coordinatorAddress;
}

/** A JobRequest v3 with test defaults (the Iris job schema) (3 rounds of FedAvg, SecAgg+ with ≥ 3 contributors, default training). */
export function jobRequest(
  buyer: string,
  fields: Partial<JobRequest> & Pick<JobRequest, 'datasets' | 'licences' | 'coordinator'>,
): JobRequest {
  return {
    buyer,
    modelSpecHash: modelSpecHash(TEST_MODEL_SPEC),
    jobSchemaHash: jobSchemaHash(TEST_JOB_SCHEMA),
    recipient: TEST_RECIPIENT,
    strategy: 'fedavg',
    rounds: 3,
    training: jobTraining(),
    dp: { noiseMultiplierMilli: 0, clipNormMicro: 1_000_000n, deltaAtto: 0n, level: 'record' },
    secagg: { enabled: true, minContributors: 3 },
    escrow: NO_ESCROW,
    nonce: 1n,
    deadline: BigInt(Math.floor(Date.now() / 1000) + 3600),
    chainId: 31337n,
    ...fields,
  };
}

/** Signs `req` as `signer` in the domain of `client`'s DatasetLicence contract. */
export async function signedBody(
  client: SealfoldChain,
  signer: Wallet,
  req: JobRequest,
  domainChainId: bigint = client.chainId,
  jobSchema: JobSchema = TEST_JOB_SCHEMA,
): Promise<{ request: JobRequestJson; signature: string; modelSpec: Record<string, unknown>; jobSchema: JobSchema }> {
  const domain = sealfoldDomain(domainChainId, client.addresses!.datasetLicence);
  // signJobRequest refuses to sign for someone else; a forged request is signed through ethers directly.
  const signature =
    signer.address.toLowerCase() === req.buyer.toLowerCase() && req.chainId === domainChainId
      ? await signJobRequest(signer, domain, req)
      : await forge(signer, domain, req);
  return { request: jobRequestToJson(req), signature, modelSpec: TEST_MODEL_SPEC, jobSchema };
}

async function forge(signer: Wallet, domain: ReturnType<typeof sealfoldDomain>, req: JobRequest): Promise<string> {
  const { JOB_REQUEST_TYPES } = await import('@sealfold/chain');
  const types = Object.fromEntries(
    Object.entries(JOB_REQUEST_TYPES).map(([name, fields]) => [name, fields.map((f) => ({ ...f }))]),
  );
  return signer.signTypedData({ ...domain }, types, {
    ...req,
    datasets: [...req.datasets],
    licences: [...req.licences],
    training: { ...req.training },
    dp: { ...req.dp },
    secagg: { ...req.secagg },
    escrow: { ...req.escrow },
  });
}
