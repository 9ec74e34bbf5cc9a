// The embedded dev chain's wallet for trying Sealfold without a browser wallet (offered only when GET /info says
// devWallet). A fresh random key is made here, in the browser (ethers Wallet.createRandom: crypto.getRandomValues),
// kept in this tab's sessionStorage, and funded with dev ETH by POST /dev/faucet; transactions are signed here and
// sent through the coordinator's dev-only JSON-RPC proxy (POST /dev/rpc). No key ever comes from the server.
// Loaded on demand: signing (secp256k1) is not part of the first load.
import { type TypedDataField } from 'ethers/hash';
import { JsonRpcProvider } from 'ethers/providers';
import { getBytes } from 'ethers/utils';
import { Wallet } from 'ethers/wallet';
import { api } from './api.js';
import type { Eip1193Provider } from './wallet.js';

const KEY = 'sealfold.devWallet';

function storedOrNewKey(): string {
  const kept = sessionStorage.getItem(KEY);
  if (kept && /^0x[0-9a-f]{64}$/.test(kept)) return kept;
  const key = Wallet.createRandom().privateKey;
  sessionStorage.setItem(KEY, key);
  return key;
}

/** An EIP-1193 provider over a dev key, funded from the dev faucet; its address is the wallet's only account. */
export async function createDevWallet(chainId: bigint): Promise<{ provider: Eip1193Provider; address: string }> {
  const rpc = new JsonRpcProvider(new URL('/dev/rpc', location.href).href, chainId, {
    staticNetwork: true,
    batchMaxCount: 1,
  });
  const wallet = new Wallet(storedOrNewKey(), rpc);
  await api('/dev/faucet', { method: 'POST', body: { address: wallet.address } });
  const provider: Eip1193Provider = {
    async request({ method, params = [] }) {
      switch (method) {
        case 'eth_requestAccounts':
        case 'eth_accounts':
          return [wallet.address];
        case 'eth_chainId':
          return `0x${chainId.toString(16)}`;
        case 'wallet_switchEthereumChain':
          return null;
        case 'personal_sign':
          return wallet.signMessage(getBytes(params[0] as string));
        case 'eth_signTypedData_v4': {
          const typed = JSON.parse(params[1] as string) as {
            domain: Record<string, unknown>;
            types: Record<string, TypedDataField[]>;
            message: Record<string, unknown>;
          };
          const { EIP712Domain: _domain, ...types } = typed.types;
          return wallet.signTypedData(typed.domain, types, typed.message);
        }
        case 'eth_sendTransaction': {
          const tx = params[0] as { to: string; data: string; value?: string };
          return (await wallet.sendTransaction({ to: tx.to, data: tx.data, value: BigInt(tx.value ?? 0) })).hash;
        }
        default:
          return rpc.send(method, params);
      }
    },
  };
  return { provider, address: wallet.address };
}
