import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Wallet } from 'ethers';
import { dpParamsFromFloats, jobRequestToJson, parseJobRequest, type JobRequest } from '@sealfold/protocol';
import { hashJobRequest, sealfoldDomain, signJobRequest, verifyJobRequest } from './eip712.js';
import { InvalidArgumentError, SignatureError } from './errors.js';

const buyer = new Wallet('0x' + '11'.repeat(32));
const other = new Wallet('0x' + '22'.repeat(32));
const licenceContract = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const domain = sealfoldDomain(31337n, licenceContract);

const baseRequest = (): JobRequest => ({
  buyer: buyer.address,
  datasets: [1n, 7n],
  licences: [3n, 4n],
  modelSpecHash: '0x' + 'ab'.repeat(32),
  strategy: 'fedavg',
  rounds: 5,
  dp: dpParamsFromFloats({ noiseMultiplier: 1.1, clipNorm: 1.0, delta: 1e-5 }),
  nonce: 42n,
  deadline: 2_000_000_000n,
  chainId: 31337n,
});
const now = 1_800_000_000n;

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof SignatureError) return err.reason;
    throw err;
  }
}

describe('EIP-712 JobRequest', () => {
  it('signs and verifies, returning the buyer', async () => {
    const req = baseRequest();
    const sig = await signJobRequest(buyer, domain, req);
    expect(verifyJobRequest(domain, req, sig, { now })).toBe(buyer.address);
    expect(hashJobRequest(domain, req)).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('DP params round-trip to fixed point exactly', () => {
    expect(baseRequest().dp).toEqual({
      noiseMultiplierMilli: 1100,
      clipNormMicro: 1_000_000n,
      deltaAtto: 10_000_000_000_000n,
    });
  });

  it('the JSON form round-trips through the zod schema', () => {
    const req = baseRequest();
    expect(parseJobRequest(JSON.parse(JSON.stringify(jobRequestToJson(req))))).toEqual(req);
    expect(() => parseJobRequest({ ...jobRequestToJson(req), licences: ['3'] })).toThrow(/one licence per dataset/);
    expect(() => parseJobRequest({ ...jobRequestToJson(req), nonce: '-1' })).toThrow(/nonce/);
  });

  it('rejects a signature for another chain id (domain and request)', async () => {
    const req = baseRequest();
    const sig = await signJobRequest(buyer, domain, req);
    const otherDomain = sealfoldDomain(1n, licenceContract);
    expect(reasonOf(() => verifyJobRequest(otherDomain, req, sig, { now }))).toBe('wrong-chain');
    // the attacker also rewrites the request's chain id: the signature no longer recovers to the buyer
    expect(reasonOf(() => verifyJobRequest(otherDomain, { ...req, chainId: 1n }, sig, { now }))).toBe(
      'signer-mismatch',
    );
    // and another verifying contract is another domain
    const otherContract = sealfoldDomain(31337n, other.address);
    expect(reasonOf(() => verifyJobRequest(otherContract, req, sig, { now }))).toBe('signer-mismatch');
  });

  it('rejects expired requests, malformed signatures and a signer who is not the buyer', async () => {
    const req = baseRequest();
    const sig = await signJobRequest(buyer, domain, req);
    expect(reasonOf(() => verifyJobRequest(domain, req, sig, { now: 2_000_000_001n }))).toBe('expired');
    expect(reasonOf(() => verifyJobRequest(domain, req, '0x1234', { now }))).toBe('malformed');
    await expect(signJobRequest(other, domain, req)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => sealfoldDomain(31337n, '0x123')).toThrow(InvalidArgumentError);
  });

  it('any tampered field invalidates the signature (property)', async () => {
    const req = baseRequest();
    const sig = await signJobRequest(buyer, domain, req);
    const tamper = fc.oneof(
      fc.constant<Partial<JobRequest>>({ buyer: other.address }),
      fc.bigInt({ min: 8n, max: 2n ** 64n }).map((d) => ({ datasets: [1n, d] })),
      fc.bigInt({ min: 5n, max: 2n ** 64n }).map((l) => ({ licences: [3n, l] })),
      fc.constant({ datasets: [7n, 1n] }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ({
        modelSpecHash: '0x' + Buffer.from(b).toString('hex'),
      })),
      fc.constantFrom('fedprox', 'fedadam', 'fedavg-x').map((strategy) => ({ strategy })),
      fc.integer({ min: 6, max: 10_000 }).map((rounds) => ({ rounds })),
      fc.integer({ min: 0, max: 1099 }).map((n) => ({ dp: { ...req.dp, noiseMultiplierMilli: n } })),
      fc.bigInt({ min: 1_000_001n, max: 2n ** 63n }).map((c) => ({ dp: { ...req.dp, clipNormMicro: c } })),
      fc.bigInt({ min: 0n, max: 9_999_999_999_999n }).map((d) => ({ dp: { ...req.dp, deltaAtto: d } })),
      fc.bigInt({ min: 43n, max: 2n ** 255n }).map((nonce) => ({ nonce })),
      fc.bigInt({ min: 2_000_000_001n, max: 2n ** 63n }).map((deadline) => ({ deadline })),
    );
    fc.assert(
      fc.property(tamper, (patch) => {
        const reason = reasonOf(() => verifyJobRequest(domain, { ...req, ...patch }, sig, { now }));
        expect(reason).toBe('signer-mismatch');
      }),
      { numRuns: 200 },
    );
  });

  it('sign/verify round-trips for arbitrary valid requests (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
        async (ids, rounds, nonce) => {
          const datasets = [...new Set(ids)];
          const req = { ...baseRequest(), datasets, licences: datasets.map((d) => d ^ 1n), rounds, nonce };
          const sig = await signJobRequest(buyer, domain, req);
          expect(verifyJobRequest(domain, req, sig, { now })).toBe(buyer.address);
        },
      ),
      { numRuns: 25 },
    );
  });
});
