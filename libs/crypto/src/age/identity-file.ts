// Identity files in age-keygen's format: '#' comment lines, blank lines, one AGE-SECRET-KEY-1… or (age-keygen -pq)
// AGE-SECRET-KEY-PQ-1… per line.
import { randomUUID } from 'node:crypto';
import { link, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AgeError } from '../errors.js';
import { parseIdentity, type NativeIdentity } from './recipients.js';

/** Formats an identity file like age-keygen: created time, public key comment, secret line. */
export function formatIdentityFile(identity: NativeIdentity, created: Date = new Date()): string {
  const when = created.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `# created: ${when}\n# public key: ${identity.recipient.toString()}\n${identity.toSecretString()}\n`;
}

/** Parses an identity file. Errors name the line number, never its content. */
export function parseIdentityFile(text: string): NativeIdentity[] {
  if (typeof text !== 'string') throw new AgeError('INVALID_IDENTITY', 'identity file must be text');
  const identities: NativeIdentity[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.startsWith('#')) return;
    try {
      identities.push(parseIdentity(line.trim()));
    } catch {
      throw new AgeError(
        'INVALID_IDENTITY',
        `identity file line ${index + 1} is not an AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1… identity`,
      );
    }
  });
  if (identities.length === 0) throw new AgeError('INVALID_IDENTITY', 'identity file holds no identities');
  return identities;
}

export interface SaveIdentityOptions {
  /** Replace an existing file. Default false: refuse (AgeError IO, cause EEXIST). */
  readonly overwrite?: boolean;
  readonly created?: Date;
}

/**
 * Writes the identity file atomically with mode 0600: a temporary file in the same directory (created 0600, so
 * the secret is never world-readable, even briefly), fsync, then link (no overwrite) or rename (overwrite).
 */
export async function saveIdentityFile(
  path: string,
  identity: NativeIdentity,
  options: SaveIdentityOptions = {},
): Promise<void> {
  await writeSecretFileAtomic(path, formatIdentityFile(identity, options.created), options.overwrite ?? false);
}

/** Writes `content` to `path` with mode 0600 atomically. Shared with the keystore. */
export async function writeSecretFileAtomic(path: string, content: string, overwrite: boolean): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.chmod(0o600); // independent of the umask
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (overwrite) await rename(tmp, path);
    else await link(tmp, path); // fails with EEXIST rather than replacing
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AgeError('IO', `cannot write ${basename(path)}: ${code ?? 'error'}`, { cause: err });
  } finally {
    await rm(tmp, { force: true });
  }
}

export interface LoadIdentityOptions {
  /** Accept a file readable or writable by group/others. Default false. */
  readonly allowInsecureMode?: boolean;
}

/** Reads and parses an identity file, refusing one that group or others can access. */
export async function loadIdentityFile(path: string, options: LoadIdentityOptions = {}): Promise<NativeIdentity[]> {
  let text: string;
  try {
    const info = await stat(path);
    if (!options.allowInsecureMode && (info.mode & 0o077) !== 0)
      throw new AgeError(
        'INSECURE_PERMISSIONS',
        `identity file ${basename(path)} has mode ${(info.mode & 0o777).toString(8)}; expected 600`,
      );
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof AgeError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new AgeError('IO', `cannot read identity file ${basename(path)}: ${code ?? 'error'}`, { cause: err });
  }
  return parseIdentityFile(text);
}
