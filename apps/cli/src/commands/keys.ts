// `sealfold keys init|show|passphrase`: the owner's wallet key and age identity in <home>/keystore. Secrets are never
// printed. New identities are hybrid post-quantum (age1pq1… recipients, C2SP age mlkem768x25519).
import { mkdir, readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CommandResult, Context } from '../context.js';
import { CliError } from '../errors.js';
import { loadOwner } from '../owner.js';
import { JSON_NOTE, type Runner } from '../program.js';
import { askHidden, askNewPassphrase, canPrompt } from '../prompt.js';

/** Whether the environment names a passphrase (SEALFOLD_KEYSTORE_PASSPHRASE or SEALFOLD_KEYSTORE_PASSPHRASE_FILE). */
function envHasPassphrase(env: { PASSPHRASE_ENV: string; PASSPHRASE_FILE_ENV: string }): boolean {
  return Boolean(process.env[env.PASSPHRASE_ENV] || process.env[env.PASSPHRASE_FILE_ENV]);
}

function protectionText(walletKey: string): string {
  return walletKey === 'plain'
    ? 'protected by file mode 0600 only (no passphrase)'
    : 'encrypted with your passphrase (wallet: scrypt JSON keystore; age identity: age passphrase file)';
}

async function init(ctx: Context, options: Record<string, unknown>): Promise<CommandResult> {
  const crypto = await import('@sealfold/crypto');
  const force = options.force === true;
  // --no-passphrase: none. Else the environment's, else ask twice on a terminal; unattended runs without a
  // passphrase source keep the keys protected by file modes only, and say so.
  let passphrase: string | null | undefined;
  if (options.passphrase === false) passphrase = null;
  else if (envHasPassphrase(crypto)) passphrase = undefined;
  else if (canPrompt()) passphrase = await askNewPassphrase(`the keystore in ${ctx.paths.keystore}`);
  else passphrase = null;
  // The home holds the keystore and the CLI's records: private to the user.
  await mkdir(ctx.paths.home, { recursive: true, mode: 0o700 });
  let ks;
  try {
    ks = await crypto.initKeystore(ctx.paths.keystore, {
      force,
      passphrase,
      ageIdentityType: options.x25519 === true ? 'X25519' : 'mlkem768x25519',
    });
  } catch (error) {
    if (error instanceof crypto.KeystoreError && error.code === 'EXISTS')
      throw new CliError(
        'KEYSTORE_EXISTS',
        `a keystore already exists in ${ctx.paths.keystore}; \`keys init --force\` replaces it (its keys are lost)`,
      );
    throw error;
  }
  const recipientType = ks.ageRecipient.startsWith('age1pq1') ? 'mlkem768x25519' : 'X25519';
  const json = {
    keystore: ctx.paths.keystore,
    address: ks.address,
    recipient: ks.ageRecipient,
    recipientType,
    walletKey: ks.walletKey,
    ageIdentity: ks.ageIdentity,
    overwritten: force,
  };
  return {
    json,
    text: [
      `keystore  ${ctx.paths.keystore} (directory 0700, files 0600)`,
      `address   ${ks.address}`,
      `recipient ${ks.ageRecipient.slice(0, 24)}… (${recipientType === 'X25519' ? 'X25519' : 'hybrid post-quantum, ML-KEM-768 + X25519'}; \`keys show\` prints it whole)`,
      `keys      ${protectionText(ks.walletKey)}`,
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

async function passphrase(ctx: Context, options: Record<string, unknown>): Promise<CommandResult> {
  const crypto = await import('@sealfold/crypto');
  const dir = ctx.paths.keystore;
  const info = await crypto.readKeystoreInfo(dir);
  const encrypted = info.walletKey !== 'plain' || info.ageIdentity !== 'plain';
  // The current passphrase: the environment's, else asked on a terminal.
  let current: string | undefined;
  if (encrypted && !envHasPassphrase(crypto)) {
    if (!canPrompt())
      throw new CliError(
        'PASSPHRASE_REQUIRED',
        `the keystore in ${dir} is encrypted: set ${crypto.PASSPHRASE_ENV} or ${crypto.PASSPHRASE_FILE_ENV}`,
      );
    current = await askHidden(`Current passphrase for the keystore in ${dir}: `);
  }
  let next: string | null;
  if (options.remove === true) next = null;
  else if (typeof options.newPassphraseFile === 'string') {
    const path = options.newPassphraseFile;
    next = (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
    if (next.length === 0) throw new CliError('INVALID_PASSPHRASE', `${path} holds an empty passphrase`);
  } else if (canPrompt()) next = await askNewPassphrase(`the keystore in ${dir}`);
  else
    throw new CliError(
      'NEW_PASSPHRASE_REQUIRED',
      'no terminal to ask for the new passphrase: pass --new-passphrase-file <path> or --remove',
    );
  const changed = await crypto.changeKeystorePassphrase(dir, { passphrase: current, newPassphrase: next });
  return {
    json: { keystore: dir, address: changed.address, walletKey: changed.walletKey, ageIdentity: changed.ageIdentity },
    text: `keystore ${dir}: keys ${protectionText(changed.walletKey)}`,
  };
}

export function registerKeys(program: Command, runner: Runner): void {
  const keys = program.command('keys').description('your wallet key and age identity (the keystore in --home)');
  keys
    .command('init')
    .description('create a wallet key and an age identity in <home>/keystore (0700 directory, 0600 files)')
    .option('--force', 'replace an existing keystore (the old keys are lost: sealed datasets become unreadable)')
    .option('--no-passphrase', 'do not encrypt the keys (protected by file modes only; for unattended nodes)')
    .option('--x25519', 'a classic X25519 age identity instead of the default hybrid post-quantum one')
    .addHelpText(
      'after',
      `${JSON_NOTE}
  {"keystore": path, "address": "0x…" (EIP-55), "recipient": "age1pq1…" | "age1…",
   "recipientType": "mlkem768x25519"|"X25519", "walletKey": "plain"|"encrypted-json",
   "ageIdentity": "plain"|"passphrase", "overwritten": boolean}
The age identity is hybrid post-quantum (ML-KEM-768 + X25519, age1pq1… recipients) unless --x25519.
Passphrase: from SEALFOLD_KEYSTORE_PASSPHRASE or the file named by SEALFOLD_KEYSTORE_PASSPHRASE_FILE; otherwise asked
twice on a terminal (unless --no-passphrase). With one, the wallet key is an encrypted JSON keystore and the age
identity an age passphrase-encrypted file (age-identity.age: \`age -d\` opens it), and every command that signs or
decrypts needs it. Without a terminal and without those variables the keys are protected by file modes only.
Refuses (exit 1) when a keystore exists, unless --force. No secret is ever printed.`,
    )
    .action(runner.action((ctx, _args, options) => init(ctx, options)));
  keys
    .command('show')
    .description('print the public parts: wallet address and age recipient')
    .addHelpText('after', `${JSON_NOTE}\n  {"keystore": path, "address": "0x…", "recipient": "age1pq1…" | "age1…"}`)
    .action(runner.action((ctx) => show(ctx)));
  keys
    .command('passphrase')
    .description("change the keystore's passphrase (or remove it), atomically: same keys, re-encrypted")
    .option('--new-passphrase-file <path>', 'read the new passphrase from this file (one line) instead of asking')
    .option('--remove', 'remove the passphrase: keys protected by file modes only')
    .addHelpText(
      'after',
      `${JSON_NOTE}
  {"keystore": path, "address": "0x…", "walletKey": "plain"|"encrypted-json", "ageIdentity": "plain"|"passphrase"}
The current passphrase comes from SEALFOLD_KEYSTORE_PASSPHRASE(_FILE) or is asked on a terminal; the new one is asked
twice unless --new-passphrase-file or --remove. A wrong current passphrase changes nothing (exit 1).`,
    )
    .action(runner.action((ctx, _args, options) => passphrase(ctx, options)));
}
