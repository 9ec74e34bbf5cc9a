import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { formatSiweMessage, parseSiweMessage, SiweFormatError, type SiweMessage } from './siwe.js';

const base: SiweMessage = {
  domain: '127.0.0.1:8080',
  address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  statement: 'Sign in to read your Sealfold jobs.',
  uri: 'http://127.0.0.1:8080',
  chainId: 31337n,
  nonce: 'abcDEF0123456789',
  issuedAt: '2025-01-01T00:00:00.000Z',
  expirationTime: '2025-01-01T01:00:00.000Z',
};

describe('EIP-4361 messages', () => {
  it('formats the EIP’s layout', () => {
    expect(formatSiweMessage(base)).toBe(
      [
        '127.0.0.1:8080 wants you to sign in with your Ethereum account:',
        '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
        '',
        'Sign in to read your Sealfold jobs.',
        '',
        'URI: http://127.0.0.1:8080',
        'Version: 1',
        'Chain ID: 31337',
        'Nonce: abcDEF0123456789',
        'Issued At: 2025-01-01T00:00:00.000Z',
        'Expiration Time: 2025-01-01T01:00:00.000Z',
      ].join('\n'),
    );
    // Without a statement: address LF LF LF "URI" (ABNF: address LF LF [ statement LF ] LF).
    const { statement: _s, ...bare } = base;
    expect(formatSiweMessage(bare)).toContain('92266\n\n\nURI: ');
  });

  it('parses what it formats, and nothing else', () => {
    fc.assert(
      fc.property(
        fc.record({
          statement: fc.option(
            fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/[\r\n]/.test(s)),
            {
              nil: undefined,
            },
          ),
          chainId: fc.bigInt({ min: 0n, max: 2n ** 64n }),
          nonce: fc.stringMatching(/^[A-Za-z0-9]{8,24}$/),
          expiry: fc.boolean(),
        }),
        ({ statement, chainId, nonce, expiry }) => {
          const m: SiweMessage = {
            ...base,
            statement,
            chainId,
            nonce,
            expirationTime: expiry ? base.expirationTime : undefined,
          };
          const clean = Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined));
          expect(parseSiweMessage(formatSiweMessage(m))).toEqual(clean);
        },
      ),
    );
    const text = formatSiweMessage(base);
    for (const bad of [
      text.replace('Version: 1', 'Version: 2'),
      `${text}\nResources:\n- https://x`,
      text.replace('URI: ', 'URI:  '),
      text.replace('Nonce: abcDEF0123456789', 'Nonce: short'),
      `${text}\n`,
      text.replace('\nChain ID: 31337', '\nChain ID: 031337'),
      text.replace('Issued At: 2025-01-01T00:00:00.000Z', 'Issued At: yesterday'),
      `evil.example ${text}`.replace('evil.example 127.0.0.1:8080', 'evil.example\n127.0.0.1:8080'),
    ])
      expect(() => parseSiweMessage(bad)).toThrow(SiweFormatError);
  });
});
