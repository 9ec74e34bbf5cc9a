import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { AbiCoder, Wallet, hexlify, keccak256 } from 'ethers';
import { SignatureError, InvalidArgumentError } from './errors.js';
import {
  hashJobReceipt,
  jobReceiptDomain,
  roundsByDatasetOf,
  signJobReceipt,
  survivorsBitmap,
  transcriptRoot,
  verifyJobReceipt,
  type JobReceipt,
} from './job-receipt.js';

const h = (n: number) => '0x' + n.toString(16).padStart(64, '0');
const receipt: JobReceipt = {
  jobId: h(1),
  roundsCompleted: 5,
  modelDigest: h(2),
  modelCidDigest: h(3),
  transcriptRoot: h(4),
  roundsByDataset: [5, 5, 2],
  epsilonSpentMilli: 2500,
  valuationDigest: h(5),
};
const escrow = '0x5FC8d32690cc91D4c39d9d3abcBD16989F875707';

describe('JobReceipt EIP-712', () => {
  const silo = Wallet.createRandom();
  const domain = jobReceiptDomain(31337n, escrow);

  it('a silo signature verifies under its own key only', async () => {
    const sig = await signJobReceipt(silo, domain, receipt);
    expect(() => verifyJobReceipt(domain, receipt, sig, silo.address)).not.toThrow();
    expect(() => verifyJobReceipt(domain, receipt, sig, Wallet.createRandom().address)).toThrow(SignatureError);
  });

  it('binds the job, the rounds, the chain and the escrow', async () => {
    const sig = await signJobReceipt(silo, domain, receipt);
    const other = [
      [domain, { ...receipt, jobId: h(9) }],
      [domain, { ...receipt, roundsByDataset: [5, 5, 3] }],
      [jobReceiptDomain(1n, escrow), receipt],
      [jobReceiptDomain(31337n, Wallet.createRandom().address), receipt],
    ] as const;
    for (const [d, r] of other) {
      expect(hashJobReceipt(d, r)).not.toBe(hashJobReceipt(domain, receipt));
      expect(() => verifyJobReceipt(d, r, sig, silo.address)).toThrow(SignatureError);
    }
  });

  it('refuses malformed receipts and signatures', () => {
    expect(() => hashJobReceipt(domain, { ...receipt, roundsByDataset: [6] })).toThrow(InvalidArgumentError);
    expect(() => hashJobReceipt(domain, { ...receipt, jobId: '0x12' })).toThrow(InvalidArgumentError);
    expect(() => hashJobReceipt(domain, { ...receipt, epsilonSpentMilli: -1 })).toThrow(InvalidArgumentError);
    expect(() => jobReceiptDomain(0n, escrow)).toThrow(InvalidArgumentError);
    expect(() => verifyJobReceipt(domain, receipt, '0x1234', silo.address)).toThrow(SignatureError);
  });
});

describe('job transcript root (ECONOMICS §2.3)', () => {
  const round = (r: number, survivors: number[], digestByte: number) => ({
    round: r,
    survivors,
    modelDigest: '0x' + digestByte.toString(16).padStart(2, '0').repeat(32),
  });

  it('is h_0 = jobId for no round and chains keccak(h, r, bitmap, digest) (known answer)', () => {
    expect(transcriptRoot(h(1), [])).toBe(h(1));
    const one = round(1, [0, 2], 0xaa);
    const expected = keccak256(
      AbiCoder.defaultAbiCoder().encode(['bytes32', 'uint32', 'uint256', 'bytes32'], [h(1), 1, 5n, one.modelDigest]),
    );
    expect(transcriptRoot(h(1), [one])).toBe(expected);
  });

  it('changes with any round number, survivor or digest, and counts rounds per dataset (property)', () => {
    const rounds = fc.array(
      fc.record({
        round: fc.integer({ min: 1, max: 10_000 }),
        survivors: fc.uniqueArray(fc.integer({ min: 0, max: 4 }), { maxLength: 5 }),
        modelDigest: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b)),
      }),
      { minLength: 1, maxLength: 6 },
    );
    fc.assert(
      fc.property(rounds, fc.nat(), (rs, pick) => {
        const root = transcriptRoot(h(9), rs);
        const i = pick % rs.length;
        const bumped = rs.map((r, j) => (j === i ? { ...r, round: r.round + 1 } : r));
        expect(transcriptRoot(h(9), bumped)).not.toBe(root);
        const flipped = rs.map((r, j) =>
          j === i
            ? { ...r, survivors: r.survivors.includes(0) ? r.survivors.filter((s) => s !== 0) : [...r.survivors, 0] }
            : r,
        );
        expect(transcriptRoot(h(9), flipped)).not.toBe(root);
        const counts = roundsByDatasetOf(5, rs);
        expect(counts.reduce((a, b) => a + b, 0)).toBe(rs.reduce((a, r) => a + r.survivors.length, 0));
        expect(survivorsBitmap(rs[i].survivors).toString(2).split('1').length - 1).toBe(rs[i].survivors.length);
      }),
      { numRuns: 100 },
    );
  });
});
