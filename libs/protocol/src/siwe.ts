// Sign-In with Ethereum (EIP-4361, https://eips.ethereum.org/EIPS/eip-4361): the message a wallet signs with
// personal_sign (EIP-191) to open a read session on the coordinator. Formatting and strict parsing only; the
// coordinator checks the signature, the nonce and the times. Resources are not used (and refused when parsing).
import { SealfoldError } from './errors.js';

export interface SiweMessage {
  /** RFC 3986 authority (host[:port]) of the relying party. */
  readonly domain: string;
  /** EIP-55 address that signs. */
  readonly address: string;
  /** Human-readable assertion; no line breaks. */
  readonly statement?: string;
  /** RFC 3986 URI of the resource the session is for. */
  readonly uri: string;
  /** EIP-155 chain id. */
  readonly chainId: bigint;
  /** At least 8 alphanumeric characters, issued by the relying party. */
  readonly nonce: string;
  /** RFC 3339 date-times. */
  readonly issuedAt: string;
  readonly expirationTime?: string;
  readonly notBefore?: string;
  readonly requestId?: string;
}

export class SiweFormatError extends SealfoldError<'INVALID_SIWE_MESSAGE'> {
  override readonly name = 'SiweFormatError';
  constructor(message: string) {
    super('INVALID_SIWE_MESSAGE', message);
  }
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
/** EIP-4361 "Message Fields": nonce = 8*( ALPHA / DIGIT ). */
const NONCE = /^[A-Za-z0-9]{8,}$/;
/** RFC 3339 date-time (as the EIP requires), with a numeric offset or Z. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const AUTHORITY = /^[A-Za-z0-9.\-[\]:]+$/;
const PREAMBLE = ' wants you to sign in with your Ethereum account:';

function check(m: SiweMessage): void {
  if (!AUTHORITY.test(m.domain)) throw new SiweFormatError(`domain is not an RFC 3986 authority: ${m.domain}`);
  if (!ADDRESS.test(m.address)) throw new SiweFormatError('address must be 0x + 40 hex digits');
  if (m.statement !== undefined && /[\n\r]/.test(m.statement))
    throw new SiweFormatError('statement must not contain a line break');
  if (!URL.canParse(m.uri) || /\s/.test(m.uri)) throw new SiweFormatError(`uri is not a URI: ${m.uri}`);
  if (m.chainId < 0n) throw new SiweFormatError('chain id must not be negative');
  if (!NONCE.test(m.nonce)) throw new SiweFormatError('nonce must be at least 8 letters or digits');
  for (const [name, v] of [
    ['issued-at', m.issuedAt],
    ['expiration-time', m.expirationTime],
    ['not-before', m.notBefore],
  ] as const)
    if (v !== undefined && (!DATE_TIME.test(v) || Number.isNaN(Date.parse(v))))
      throw new SiweFormatError(`${name} is not an RFC 3339 date-time: ${v}`);
  if (m.requestId !== undefined && /[\n\r]/.test(m.requestId))
    throw new SiweFormatError('request-id must not contain a line break');
}

/** EIP-4361 "Message Format" (ABNF `sign-in-with-ethereum`), version 1, without resources. */
export function formatSiweMessage(m: SiweMessage): string {
  check(m);
  const lines = [`${m.domain}${PREAMBLE}`, m.address, ''];
  if (m.statement !== undefined) lines.push(m.statement, '');
  else lines.push('');
  lines.push(`URI: ${m.uri}`, 'Version: 1', `Chain ID: ${m.chainId}`, `Nonce: ${m.nonce}`, `Issued At: ${m.issuedAt}`);
  if (m.expirationTime !== undefined) lines.push(`Expiration Time: ${m.expirationTime}`);
  if (m.notBefore !== undefined) lines.push(`Not Before: ${m.notBefore}`);
  if (m.requestId !== undefined) lines.push(`Request ID: ${m.requestId}`);
  return lines.join('\n');
}

/**
 * Parses a message in the EIP-4361 format. Strict: the text must be exactly what formatSiweMessage produces from
 * the fields read, so one text has one meaning (no extra lines, spaces or fields; `Resources:` is refused).
 */
export function parseSiweMessage(text: string): SiweMessage {
  if (typeof text !== 'string' || text.length > 4096)
    throw new SiweFormatError('message must be a string ≤ 4096 chars');
  const lines = text.split('\n');
  const header = lines[0] ?? '';
  if (!header.endsWith(PREAMBLE)) throw new SiweFormatError('not a Sign-In with Ethereum message');
  const domain = header.slice(0, -PREAMBLE.length);
  const address = lines[1] ?? '';
  if (lines[2] !== '') throw new SiweFormatError('expected an empty line after the address');
  let i: number;
  let statement: string | undefined;
  if (lines[3] === '') i = 4;
  else {
    statement = lines[3];
    if (lines[4] !== '') throw new SiweFormatError('expected an empty line after the statement');
    i = 5;
  }
  const fields = new Map<string, string>();
  const ORDER = ['URI', 'Version', 'Chain ID', 'Nonce', 'Issued At', 'Expiration Time', 'Not Before', 'Request ID'];
  for (; i < lines.length; i++) {
    const sep = lines[i].indexOf(': ');
    const key = sep > 0 ? lines[i].slice(0, sep) : lines[i];
    if (!ORDER.includes(key) || fields.has(key)) throw new SiweFormatError(`unexpected line: ${lines[i].slice(0, 40)}`);
    fields.set(key, lines[i].slice(sep + 2));
  }
  for (const required of ['URI', 'Version', 'Chain ID', 'Nonce', 'Issued At'])
    if (!fields.has(required)) throw new SiweFormatError(`missing ${required}`);
  if (fields.get('Version') !== '1') throw new SiweFormatError('Version must be 1');
  const chainId = fields.get('Chain ID')!;
  if (!/^(0|[1-9]\d{0,77})$/.test(chainId)) throw new SiweFormatError('Chain ID must be a decimal integer');
  const message: SiweMessage = {
    domain,
    address,
    ...(statement === undefined ? {} : { statement }),
    uri: fields.get('URI')!,
    chainId: BigInt(chainId),
    nonce: fields.get('Nonce')!,
    issuedAt: fields.get('Issued At')!,
    ...(fields.has('Expiration Time') ? { expirationTime: fields.get('Expiration Time') } : {}),
    ...(fields.has('Not Before') ? { notBefore: fields.get('Not Before') } : {}),
    ...(fields.has('Request ID') ? { requestId: fields.get('Request ID') } : {}),
  };
  if (formatSiweMessage(message) !== text) throw new SiweFormatError('message is not in canonical EIP-4361 form');
  return message;
}
