// The embedded chain with the Sealfold contracts deployed on first start.
import { Wallet } from 'ethers';
import { createHash } from 'node:crypto';
import { ARTIFACTS } from './artifacts.js';
import { deployContracts } from './client.js';
import { ChainError } from './errors.js';
import { startEmbeddedChainCore, type EmbeddedChain, type EmbeddedChainOptions } from './embedded-chain.js';
import { createProvider } from './rpc.js';

export type StartEmbeddedChainOptions = Omit<EmbeddedChainOptions, 'deploy'> & {
  /** Deploy DatasetNFT, DatasetLicence, ModelRegistry, JobEscrow and ModelAsset on first start (default true), from dev account 0. */
  deployContracts?: boolean;
  /** ModelRegistry COORDINATOR_ROLE holders granted at deployment (default: dev account 0). */
  recorders?: readonly string[];
  /** Protocol fee in basis points (default 0); treasury and admin are dev account 0. */
  feeBps?: number;
};

/**
 * SHA-256 (hex) over every contract's name and creation bytecode: which contracts a deployment holds. Recorded at
 * deployment; a data directory deployed with other contracts is refused at start (STALE_DEPLOYMENT).
 */
export const CONTRACTS_DIGEST: string = (() => {
  const hash = createHash('sha256');
  for (const [name, { bytecode }] of Object.entries(ARTIFACTS)) hash.update(`${name}\n${bytecode}\n`);
  return hash.digest('hex');
})();

/**
 * Refuses a deployment file whose recorded contracts digest is not this version's (STALE_DEPLOYMENT): the client's
 * ABIs would not match the contracts at its addresses. A file without a digest (written by hand, or by an operator's
 * own deployment) is trusted as it is.
 */
export function assertCurrentDeployment(file: { contractsDigest: string | undefined }, source: string): void {
  if (file.contractsDigest !== undefined && file.contractsDigest !== CONTRACTS_DIGEST)
    throw new ChainError(
      'STALE_DEPLOYMENT',
      `${source} names contracts an earlier Sealfold deployed, and this version's contracts differ: deploy this ` +
        `version's contracts (move ${source} away and run the deployment again); the old contracts' datasets and ` +
        `licences stay on the chain`,
    );
}

/**
 * Starts the embedded chain in `<dataDir>/chain`, replays its journal, and on first start deploys the contracts and
 * saves their addresses in `<dataDir>/chain/deployment.json`.
 */
export async function startEmbeddedChain(options: StartEmbeddedChainOptions): Promise<EmbeddedChain> {
  const { deployContracts: wantDeploy = true, recorders, feeBps, ...rest } = options;
  return startEmbeddedChainCore({
    ...rest,
    ...(wantDeploy ? { contractsDigest: CONTRACTS_DIGEST } : {}),
    deploy: wantDeploy
      ? async (chain) => {
          const provider = createProvider(chain.rpcUrl, chain.chainId);
          try {
            const signer = new Wallet(chain.accounts[0].privateKey, provider);
            const { addresses } = await deployContracts(signer, { recorders, feeBps });
            return {
              contracts: {
                DatasetNFT: addresses.datasetNFT,
                DatasetLicence: addresses.datasetLicence,
                ModelRegistry: addresses.modelRegistry,
                JobEscrow: addresses.jobEscrow!,
                ModelAsset: addresses.modelAsset!,
              },
              deployBlock: addresses.deployBlock,
            };
          } finally {
            provider.destroy();
          }
        }
      : undefined,
  });
}
