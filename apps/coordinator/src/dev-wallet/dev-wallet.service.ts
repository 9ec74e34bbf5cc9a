// The embedded profile's dev wallet support (issue 15): a browser makes a fresh random key itself and asks for gas
// money from the dev faucet — the last account of the PUBLIC Hardhat dev mnemonic, as the CLI's faucet — and reaches
// the dev chain through a JSON-RPC proxy limited to what a wallet needs. No key of the coordinator or of any owner is
// involved, and none of this exists unless the coordinator runs on the embedded dev chain (`sealfold coordinator
// start` without SEALFOLD_CHAIN_RPC): on an RPC chain the module is not loaded and the routes answer 404.
import { Inject, Injectable } from '@nestjs/common';
import { DEV_MNEMONIC, deriveDevAccounts } from '@sealfold/chain';
import { getAddress, JsonRpcProvider, Wallet } from 'ethers';
import { ApiError } from '../common/api-error.js';
import { COORDINATOR_CONFIG } from '../config/config.module.js';
import { type CoordinatorConfig } from '../config/config.js';

/** What the faucet gives a dev wallet below DEV_FUND_BELOW_WEI (the CLI's dev faucet amounts). */
export const DEV_FUND_WEI = 100n * 10n ** 18n;
export const DEV_FUND_BELOW_WEI = 10n ** 18n;

/**
 * JSON-RPC methods the proxy forwards: reads, fee data, and signed transactions (eth_sendRawTransaction). Never
 * eth_sendTransaction, eth_sign* or eth_accounts (EDR's dev accounts are unlocked), nor the evm_ and hardhat_ controls.
 */
export const DEV_RPC_METHODS = new Set([
  'eth_chainId',
  'net_version',
  'eth_blockNumber',
  'eth_call',
  'eth_estimateGas',
  'eth_gasPrice',
  'eth_maxPriorityFeePerGas',
  'eth_feeHistory',
  'eth_getBalance',
  'eth_getBlockByNumber',
  'eth_getCode',
  'eth_getTransactionCount',
  'eth_getTransactionByHash',
  'eth_getTransactionReceipt',
  'eth_sendRawTransaction',
]);

@Injectable()
export class DevWalletService {
  private readonly provider: JsonRpcProvider;
  private readonly faucet: Wallet;
  private rpcId = 0;
  /** One faucet transfer at a time (the faucet's nonce). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(@Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig) {
    this.provider = new JsonRpcProvider(config.chainRpc, undefined, { batchMaxCount: 1 });
    const accounts = deriveDevAccounts(DEV_MNEMONIC, 10);
    this.faucet = new Wallet(accounts[accounts.length - 1].privateKey, this.provider);
  }

  /** Funds `address` with DEV_FUND_WEI when it holds less than DEV_FUND_BELOW_WEI. */
  async fund(input: unknown): Promise<{ address: string; fundedWei: string; balanceWei: string }> {
    const raw = (input as { address?: unknown } | null)?.address;
    let address: string;
    try {
      if (typeof raw !== 'string') throw new Error('missing');
      address = getAddress(raw);
    } catch {
      throw new ApiError(400, 'INVALID_ADDRESS', 'body must be {"address": "0x…"} with a valid address');
    }
    const run = this.queue.then(async () => {
      let funded = 0n;
      if ((await this.provider.getBalance(address)) < DEV_FUND_BELOW_WEI) {
        await (await this.faucet.sendTransaction({ to: address, value: DEV_FUND_WEI })).wait();
        funded = DEV_FUND_WEI;
      }
      return {
        address,
        fundedWei: funded.toString(),
        balanceWei: (await this.provider.getBalance(address)).toString(),
      };
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Forwards one JSON-RPC 2.0 request (no batch) whose method is in DEV_RPC_METHODS; returns the node's answer. */
  async rpc(input: unknown): Promise<unknown> {
    const req = input as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown } | null;
    if (!req || typeof req !== 'object' || Array.isArray(req) || typeof req.method !== 'string')
      throw new ApiError(400, 'INVALID_RPC', 'one JSON-RPC 2.0 request object, no batch');
    const id = typeof req.id === 'number' || typeof req.id === 'string' ? req.id : null;
    if (!DEV_RPC_METHODS.has(req.method))
      return { jsonrpc: '2.0', id, error: { code: -32601, message: `method ${req.method} is not available here` } };
    const params = Array.isArray(req.params) ? req.params : [];
    const res = await fetch(this.config.chainRpc, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++this.rpcId, method: req.method, params }),
    });
    const answer = (await res.json()) as { result?: unknown; error?: unknown };
    return { jsonrpc: '2.0', id, ...('error' in answer ? { error: answer.error } : { result: answer.result }) };
  }

  close(): void {
    this.provider.destroy();
  }
}
