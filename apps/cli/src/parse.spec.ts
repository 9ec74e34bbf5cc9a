import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CliError, toFailure } from './errors.js';
import { formatEpsilon, formatEth, parseAddress, parseDuration, parseEpsilon, parseId, parseUint } from './parse.js';

describe('command-line value parsing', () => {
  it('durations: 0 or an integer with a unit, in seconds', () => {
    expect(parseDuration('0')).toBe(0n);
    expect(parseDuration('90s')).toBe(90n);
    expect(parseDuration('15m')).toBe(900n);
    expect(parseDuration('12h')).toBe(43_200n);
    expect(parseDuration('30d')).toBe(2_592_000n);
    for (const bad of ['', '5', '1.5d', '-1d', '3w', 'd'])
      expect(() => parseDuration(bad)).toThrow(/--duration must be 0 .* or a number with a unit/);
  });

  it('epsilon: decimals with up to 3 places, stored in thousandths', () => {
    expect(parseEpsilon('8')).toEqual({ epsilon: 8, milli: 8000 });
    expect(parseEpsilon('2.5')).toEqual({ epsilon: 2.5, milli: 2500 });
    expect(parseEpsilon('0.001')).toEqual({ epsilon: 0.001, milli: 1 });
    for (const bad of ['-1', '1e3', '0.0001', 'x', '', '0', '4294967.296'])
      expect(() => parseEpsilon(bad)).toThrow(CliError);
    // `unlimited` and the chain's maximum it stands for are the same budget, for `dataset add`, `terms` and `grant`.
    expect(parseEpsilon('unlimited')).toEqual({ epsilon: 4294967.295, milli: 0xffffffff });
    expect(parseEpsilon('4294967.295')).toEqual(parseEpsilon('Unlimited'));
    expect(formatEpsilon(0xffffffff)).toBe('unlimited');
    expect(formatEpsilon(8000)).toBe('8');
  });

  it('ids and amounts are non-negative integers of any size; ids start at 1', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 256n }), (n) => {
        expect(parseUint(n.toString(), 'x')).toBe(n);
      }),
    );
    expect(() => parseId('0', 'dataset id')).toThrow('dataset id must be at least 1');
    expect(() => parseUint('-3', '--price-wei')).toThrow('--price-wei must be a non-negative integer');
    expect(() => parseUint('1.0', '--price-wei')).toThrow(CliError);
  });

  it('addresses: 0x + 40 hex digits', () => {
    expect(parseAddress('0x' + 'aB'.repeat(20), 'to')).toBe('0x' + 'aB'.repeat(20));
    for (const bad of ['0x123', 'ab'.repeat(20), '0x' + 'g'.repeat(40)])
      expect(() => parseAddress(bad, 'recipient address')).toThrow(/recipient address is not a valid address/);
  });

  it('formats wei as ETH without losing digits', () => {
    expect(formatEth(0n)).toBe('0 ETH');
    expect(formatEth(10n ** 18n)).toBe('1 ETH');
    expect(formatEth(1_500_000_000_000_000_001n)).toBe('1.500000000000000001 ETH');
  });
});

describe('error mapping to exit codes', () => {
  const named = (name: string, code?: string, message = 'm') => Object.assign(new Error(message), { name, code });

  it('library validation and chain errors are user errors (1)', () => {
    for (const name of ['DatasetError', 'AgeError', 'ContractRevertError', 'RpcUnavailableError', 'WrongChainError'])
      expect(toFailure(named(name, 'X')).exitCode).toBe(1);
    expect(toFailure(new CliError('USAGE', 'bad')).exitCode).toBe(1);
  });

  it('a corrupt journal, an unknown error or a non-Error is internal (2)', () => {
    expect(toFailure(named('JournalCorruptError', 'JOURNAL_CORRUPT')).exitCode).toBe(2);
    expect(toFailure(new TypeError('x is undefined'))).toEqual({
      exitCode: 2,
      code: 'INTERNAL',
      message: 'internal error: x is undefined',
    });
    expect(toFailure('boom').exitCode).toBe(2);
  });

  it('a missing file the user named is a user error; an I/O fault is internal', () => {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x.csv'"), {
      code: 'ENOENT',
      syscall: 'open',
    });
    expect(toFailure(enoent)).toMatchObject({ exitCode: 1, code: 'ENOENT' });
    const eio = Object.assign(new Error('EIO: i/o error'), { code: 'EIO', syscall: 'read' });
    expect(toFailure(eio).exitCode).toBe(2);
    const ageIo = Object.assign(named('AgeError', 'IO'), { cause: eio });
    expect(toFailure(ageIo).exitCode).toBe(2);
  });

  it('messages are printed on one line', () => {
    expect(toFailure(named('DatasetError', 'X', 'line 3:\n  bad\nthing')).message).toBe('line 3:; bad; thing');
  });
});
