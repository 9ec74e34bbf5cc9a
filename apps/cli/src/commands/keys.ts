// `sealfold keys init|show`: the owner's wallet key and age identity in <home>/keystore. Secrets are never printed.
import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CommandResult, Context } from '../context.js';
import { CliError } from '../errors.js';
import { loadOwner } from '../owner.js';
import { JSON_NOTE, type Runner } from '../program.js';

async function init(ctx: Context, options: Record<string, unknown>): Promise<CommandResult> {
  const { initKeystore, KeystoreError } = await import('@sealfold/crypto');
  const force = options.force === true;
  // The home holds the keystore and the CLI's records: private to the user.
  await mkdir(ctx.paths.home, { recursive: true, mode: 0o700 });
  let ks;
  try {
    ks = await initKeystore(ctx.paths.keystore, { force });
  } catch (error) {
    if (error instanceof KeystoreError && error.code === 'EXISTS')
      throw new CliError(
        'KEYSTORE_EXISTS',
        `a keystore already exists in ${ctx.paths.keystore}; \`keys init --force\` replaces it (its keys are lost)`,
      );
    throw error;
  }
  const json = {
    keystore: ctx.paths.keystore,
    address: ks.address,
    recipient: ks.ageRecipient,
    walletKey: ks.walletKey,
    overwritten: force,
  };
  return {
    json,
    text: [
      `keystore  ${ctx.paths.keystore} (directory 0700, files 0600)`,
      `address   ${ks.address}`,
      `recipient ${ks.ageRecipient}`,
      `wallet key ${ks.walletKey === 'plain' ? 'protected by file mode 0600 only (set SEALFOLD_KEYSTORE_PASSPHRASE to encrypt it)' : 'encrypted (scrypt) with SEALFOLD_KEYSTORE_PASSPHRASE'}`,
      'Back up the keystore directory: the age identity is the only key to your sealed datasets.',
    ].join('\n'),
  };
}

async function show(ctx: Context): Promise<CommandResult> {
  const owner = await loadOwner(ctx);
  return {
    json: { keystore: ctx.paths.keystore, address: owner.address, recipient: owner.recipient },
    text: `address   ${owner.address}\nrecipient ${owner.recipient}`,
  };
}

export function registerKeys(program: Command, runner: Runner): void {
  const keys = program.command('keys').description('your wallet key and age identity (the keystore in --home)');
  keys
    .command('init')
    .description('create a wallet key and an age identity in <home>/keystore (0700 directory, 0600 files)')
    .option('--force', 'replace an existing keystore (the old keys are lost: sealed datasets become unreadable)')
    .addHelpText(
      'after',
      `${JSON_NOTE}
  {"keystore": path, "address": "0x…" (EIP-55), "recipient": "age1…", "walletKey": "plain"|"encrypted-json",
   "overwritten": boolean}
Refuses (exit 1) when a keystore exists, unless --force. No secret is ever printed. With SEALFOLD_KEYSTORE_PASSPHRASE
set, the wallet key is encrypted at rest (scrypt) and every command needs the variable to sign.`,
    )
    .action(runner.action((ctx, _args, options) => init(ctx, options)));
  keys
    .command('show')
    .description('print the public parts: wallet address and age recipient')
    .addHelpText('after', `${JSON_NOTE}\n  {"keystore": path, "address": "0x…", "recipient": "age1…"}`)
    .action(runner.action((ctx) => show(ctx)));
}
