// An injected EIP-1193 wallet (window.ethereum: MetaMask and the like). Every failure becomes a WalletError whose
// kind the UI turns into a clear message: no wallet, rejected in the wallet (EIP-1193 §"Provider Errors" 4001),
// wrong chain (EIP-155 id differs from the coordinator's), not enough ETH, or what the wallet said.
import { Interface, type InterfaceAbi } from 'ethers/abi';
import { getAddress } from 'ethers/address';
import { abi as licenceAbi } from '../../../libs/chain/src/generated/DatasetLicence.js';
import { abi as datasetAbi } from '../../../libs/chain/src/generated/DatasetNFT.js';
import { abi as escrowAbi } from '../../../libs/chain/src/generated/JobEscrow.js';

export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
  on?(event: string, listener: (...args: unknown[]) => void): void;
  removeListener?(event: string, listener: (...args: unknown[]) => void): void;
}

export type WalletProblem = 'NO_WALLET' | 'REJECTED' | 'WRONG_CHAIN' | 'NO_FUNDS' | 'REVERTED' | 'WALLET_ERROR';

export class WalletError extends Error {
  override readonly name = 'WalletError';
  constructor(
    readonly kind: WalletProblem,
    message: string,
  ) {
    super(message);
  }
}

export const licenceInterface = new Interface(licenceAbi as InterfaceAbi);
export const datasetInterface = new Interface(datasetAbi as InterfaceAbi);
export const escrowInterface = new Interface(escrowAbi as InterfaceAbi);

/** The embedded dev chain's in-page wallet, once the user chose it (dev-wallet.ts); it replaces window.ethereum. */
let devProvider: Eip1193Provider | null = null;

export function useDevProvider(provider: Eip1193Provider): void {
  devProvider = provider;
}

export function injectedProvider(): Eip1193Provider | null {
  if (devProvider) return devProvider;
  const eth = (window as unknown as { ethereum?: Eip1193Provider }).ethereum;
  return eth && typeof eth.request === 'function' ? eth : null;
}

function need(): Eip1193Provider {
  const p = injectedProvider();
  if (!p) throw new WalletError('NO_WALLET', 'No wallet found: install a browser wallet (e.g. MetaMask) to continue.');
  return p;
}

/** Maps an EIP-1193 / JSON-RPC error to a WalletError (codes from EIP-1193 and EIP-1474). */
export function walletError(err: unknown, action: string): WalletError {
  if (err instanceof WalletError) return err;
  const e = err as { code?: number; message?: string; data?: unknown };
  const text = String(e?.message ?? err);
  if (e?.code === 4001 || /user (rejected|denied)/i.test(text))
    return new WalletError('REJECTED', `You rejected the ${action} in your wallet; nothing was sent.`);
  if (/insufficient funds/i.test(text))
    return new WalletError('NO_FUNDS', `Not enough ETH in this account for the ${action} and its gas.`);
  const revert = revertReason(e?.data);
  if (revert) return new WalletError('REVERTED', `The contract refused the ${action}: ${revert}.`);
  return new WalletError('WALLET_ERROR', `The wallet could not complete the ${action}: ${text}`);
}

/** A custom error of DatasetLicence or JobEscrow decoded from revert data (e.g. TermsChanged), or null. */
function revertReason(data: unknown): string | null {
  const hex = typeof data === 'string' ? data : (data as { data?: unknown } | undefined)?.data;
  if (typeof hex !== 'string' || !/^0x[0-9a-f]{8}/i.test(hex)) return null;
  for (const iface of [licenceInterface, escrowInterface]) {
    try {
      const parsed = iface.parseError(hex);
      if (!parsed) continue;
      if (parsed.name === 'TermsChanged')
        return 'the owner changed the terms since you saw them (TermsChanged) — reload and review them';
      if (parsed.name === 'IncorrectPayment')
        return `the price at the rates in force now is ${String(parsed.args[0])} wei, not ${String(parsed.args[1])} (IncorrectPayment) — an owner changed a job rate: reload and review the price`;
      return parsed.args.length ? `${parsed.name}(${parsed.args.map(String).join(', ')})` : parsed.name;
    } catch {
      // not this contract's error: try the next one
    }
  }
  return null;
}

async function call<T>(method: string, params: unknown[], action: string): Promise<T> {
  try {
    return (await need().request({ method, params })) as T;
  } catch (err) {
    throw walletError(err, action);
  }
}

/** eth_requestAccounts (EIP-1102): the selected account, checksummed (EIP-55). */
export async function connectWallet(): Promise<string> {
  const accounts = await call<string[]>('eth_requestAccounts', [], 'connection request');
  if (!accounts?.length) throw new WalletError('WALLET_ERROR', 'The wallet returned no account.');
  return getAddress(accounts[0]);
}

export async function walletChainId(): Promise<bigint> {
  return BigInt(await call<string>('eth_chainId', [], 'chain query'));
}

/** Throws WRONG_CHAIN unless the wallet is on `expected` (the coordinator's chain, GET /info). */
export async function ensureChain(expected: bigint): Promise<void> {
  const actual = await walletChainId();
  if (actual !== expected)
    throw new WalletError(
      'WRONG_CHAIN',
      `Wrong network: your wallet is on chain ${actual}, this marketplace runs on chain ${expected}. ` +
        'Switch network in your wallet.',
    );
}

/** EIP-3326 wallet_switchEthereumChain. */
export async function switchChain(chainId: bigint): Promise<void> {
  await call('wallet_switchEthereumChain', [{ chainId: `0x${chainId.toString(16)}` }], 'network switch');
}

/** personal_sign (EIP-191) of a UTF-8 message. */
export async function personalSign(address: string, message: string): Promise<string> {
  const hex = `0x${Array.from(new TextEncoder().encode(message), (b) => b.toString(16).padStart(2, '0')).join('')}`;
  return call<string>('personal_sign', [hex, address], 'signature request');
}

/** eth_signTypedData_v4 (EIP-712). */
export async function signTypedData(address: string, typedData: unknown): Promise<string> {
  return call<string>('eth_signTypedData_v4', [address, JSON.stringify(typedData)], 'signature request');
}

export async function balanceOf(address: string): Promise<bigint> {
  return BigInt(await call<string>('eth_getBalance', [address, 'latest'], 'balance query'));
}

export interface TxRequest {
  from: string;
  to: string;
  data: string;
  value: bigint;
}

const hexValue = (v: bigint) => `0x${v.toString(16)}`;

/** Simulates the call first (eth_call), so a revert is named before the wallet asks for approval. */
export async function sendTransaction(tx: TxRequest, action: string): Promise<string> {
  const params = { from: tx.from, to: tx.to, data: tx.data, value: hexValue(tx.value) };
  await call('eth_call', [params, 'latest'], action);
  return call<string>('eth_sendTransaction', [params], action);
}

export interface Receipt {
  status: string;
  transactionHash: string;
  logs: { address: string; topics: string[]; data: string }[];
}

/** Polls eth_getTransactionReceipt until mined (or `timeoutMs`). */
export async function waitForReceipt(hash: string, timeoutMs = 120_000): Promise<Receipt> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await call<Receipt | null>('eth_getTransactionReceipt', [hash], 'receipt query');
    if (r) {
      if (r.status !== '0x1') throw new WalletError('REVERTED', `Transaction ${hash} was mined but reverted.`);
      return r;
    }
    if (Date.now() > until) throw new WalletError('WALLET_ERROR', `Transaction ${hash} was not mined in time.`);
    await new Promise((ok) => setTimeout(ok, 500));
  }
}

/** A read of a contract through the wallet's node (eth_call), decoded with its ABI: every output, in order. */
export async function readContract(
  iface: Interface,
  contract: string,
  fn: string,
  args: unknown[],
): Promise<readonly unknown[]> {
  const data = iface.encodeFunctionData(fn, args);
  const out = await call<string>('eth_call', [{ to: contract, data }, 'latest'], 'chain read');
  return iface.decodeFunctionResult(fn, out);
}

/** A read of DatasetLicence through the wallet's node (eth_call), decoded with the contract's ABI. */
export async function readLicenceContract(contract: string, fn: string, args: unknown[]): Promise<unknown> {
  return (await readContract(licenceInterface, contract, fn, args))[0];
}

/** The latest block's timestamp (unix seconds): the chain's clock, which escrow deadlines are measured on. */
export async function latestBlockTimestamp(): Promise<bigint> {
  const block = await call<{ timestamp: string } | null>('eth_getBlockByNumber', ['latest', false], 'chain read');
  if (!block) throw new WalletError('WALLET_ERROR', 'The wallet returned no latest block.');
  return BigInt(block.timestamp);
}
