// Chain configuration from the environment, for any EVM chain (anvil, a testnet, mainnet):
//   SEALFOLD_CHAIN_RPC   JSON-RPC URL (http/https)
//   SEALFOLD_CHAIN_ID    decimal chain id the endpoint must serve
//   SEALFOLD_KEY_FILE    the signing key: a file holding a 0x-hex private key, or an encrypted JSON keystore (V3)
//                        whose password is in SEALFOLD_KEY_PASSWORD
//   SEALFOLD_CONTRACTS   contract addresses: inline JSON or a path to a JSON file, either a deployment.json
//                        ({ contracts: {...}, deployBlock }) or a bare { DatasetNFT, DatasetLicence, ModelRegistry }
import { existsSync, readFileSync, statSync } from 'node:fs';
import { Wallet } from 'ethers';
import { ChainError, InvalidArgumentError } from './errors.js';
import { connectChain, parseDeployment, type SealfoldAddresses, type SealfoldChain } from './client.js';

export const CHAIN_ENV = {
  rpc: 'SEALFOLD_CHAIN_RPC',
  chainId: 'SEALFOLD_CHAIN_ID',
  keyFile: 'SEALFOLD_KEY_FILE',
  keyPassword: 'SEALFOLD_KEY_PASSWORD',
  contracts: 'SEALFOLD_CONTRACTS',
} as const;

export interface ChainEnvConfig {
  rpcUrl: string;
  chainId: bigint;
  keyFile: string | undefined;
  addresses: SealfoldAddresses | undefined;
}

type Env = Record<string, string | undefined>;

const configError = (message: string, cause?: unknown) =>
  new ChainError('CONFIG', message, cause === undefined ? undefined : { cause });

/** Parses SEALFOLD_CONTRACTS (inline JSON or a file path). */
export function parseContractsSetting(value: string): SealfoldAddresses {
  const trimmed = value.trim();
  let text = trimmed;
  if (!trimmed.startsWith('{')) {
    if (!existsSync(trimmed)) throw configError(`${CHAIN_ENV.contracts}: no such file ${trimmed}`);
    text = readFileSync(trimmed, 'utf8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw configError(`${CHAIN_ENV.contracts}: not valid JSON`, cause);
  }
  return parseDeployment(parsed, CHAIN_ENV.contracts).addresses;
}

/** Reads the chain settings; returns undefined when SEALFOLD_CHAIN_RPC is unset (use the embedded chain). */
export function chainConfigFromEnv(env: Env = process.env): ChainEnvConfig | undefined {
  const rpcUrl = env[CHAIN_ENV.rpc]?.trim();
  if (rpcUrl === undefined || rpcUrl === '') return undefined;
  const rawId = env[CHAIN_ENV.chainId]?.trim();
  if (rawId === undefined || !/^[1-9][0-9]*$/.test(rawId))
    throw configError(
      `${CHAIN_ENV.rpc} is set, so ${CHAIN_ENV.chainId} must be a decimal chain id (got ${rawId ?? 'nothing'})`,
    );
  const keyFile = env[CHAIN_ENV.keyFile]?.trim() || undefined;
  const contracts = env[CHAIN_ENV.contracts]?.trim();
  return {
    rpcUrl,
    chainId: BigInt(rawId),
    keyFile,
    addresses: contracts ? parseContractsSetting(contracts) : undefined,
  };
}

/**
 * Loads a signing key from a file: a 0x-hex private key (one line), or an encrypted JSON keystore (password required).
 * The key never leaves the returned Wallet and is never logged.
 */
export async function loadSignerFromKeyFile(path: string, password?: string): Promise<Wallet> {
  if (!existsSync(path)) throw configError(`key file ${path} does not exist`);
  if (!statSync(path).isFile()) throw configError(`key file ${path} is not a file`);
  const text = readFileSync(path, 'utf8').trim();
  if (text.startsWith('{')) {
    if (password === undefined)
      throw configError(`key file ${path} is an encrypted keystore: set ${CHAIN_ENV.keyPassword}`);
    try {
      const w = await Wallet.fromEncryptedJson(text, password);
      return new Wallet(w.privateKey);
    } catch (cause) {
      throw configError(`key file ${path}: cannot decrypt (wrong password or damaged keystore)`, cause);
    }
  }
  const hex = text.startsWith('0x') ? text : `0x${text}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex))
    throw configError(`key file ${path} holds neither a hex private key nor a keystore`);
  try {
    return new Wallet(hex);
  } catch (cause) {
    throw new InvalidArgumentError(`key file ${path}: invalid private key`, { cause });
  }
}

/** Connects using the SEALFOLD_CHAIN_* environment (the signer is optional: read-only without a key file). */
export async function connectFromEnv(env: Env = process.env): Promise<SealfoldChain> {
  const config = chainConfigFromEnv(env);
  if (config === undefined) throw configError(`${CHAIN_ENV.rpc} is not set`);
  const signer =
    config.keyFile !== undefined ? await loadSignerFromKeyFile(config.keyFile, env[CHAIN_ENV.keyPassword]) : undefined;
  return connectChain({ rpcUrl: config.rpcUrl, chainId: config.chainId, signer, addresses: config.addresses });
}
