import { describe, expect, it } from '@jest/globals';
import { Wallet } from 'ethers';
import { SignatureError, InvalidArgumentError } from './errors.js';
import { hashJobReceipt, jobReceiptDomain, signJobReceipt, verifyJobReceipt, type JobReceipt } from './job-receipt.js';

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
