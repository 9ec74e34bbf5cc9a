// The owner's keys, from the keystore in <home>/keystore (@sealfold/crypto): the wallet that signs chain
// transactions and the age identity that seals datasets to the owner alone. Secrets stay in this process.
import { existsSync } from 'node:fs';
import type { Wallet } from 'ethers';
import type { Context } from './context.js';
import { CliError } from './errors.js';

type NativeIdentity = import('@sealfold/crypto').NativeIdentity;

export interface Owner {
  /** EIP-55 wallet address. */
  address: string;
  /** The age recipient (`age1…`) datasets are sealed to. */
  recipient: string;
  wallet: Wallet;
  identity: NativeIdentity;
}

let cached: Owner | undefined;

/** Loads the keystore, or fails with a user error telling how to create one. */
export async function loadOwner(ctx: Context): Promise<Owner> {
  if (cached) return cached;
  if (!existsSync(ctx.paths.keystore))
    throw new CliError('NO_KEYSTORE', `no keystore in ${ctx.paths.keystore}: run \`sealfold keys init\` first`);
  const { loadKeystore } = await import('@sealfold/crypto');
  // The passphrase of an encrypted wallet key comes from SEALFOLD_KEYSTORE_PASSPHRASE (never from argv).
  const ks = await loadKeystore(ctx.paths.keystore);
  cached = { address: ks.address, recipient: ks.ageRecipient, wallet: ks.wallet, identity: ks.ageIdentity };
  return cached;
}
