import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Wallet } from 'ethers';
import { TypedDataEncoder, ZeroAddress } from 'ethers';
import {
  dpParamsFromFloats,
  jobRequestToJson,
  jobTraining,
  NO_ESCROW,
  parseJobRequest,
  type JobRequest,
} from '@sealfold/protocol';
import {
  JOB_REQUEST_TYPES,
  SEALFOLD_DOMAIN_VERSION,
  hashJobRequest,
  sealfoldDomain,
  signJobRequest,
  verifyAndHashJobRequest,
  verifyJobRequest,
} from './eip712.js';
import { InvalidArgumentError, SignatureError } from './errors.js';

const buyer = new Wallet('0x' + '11'.repeat(32));
const other = new Wallet('0x' + '22'.repeat(32));
const licenceContract = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const domain = sealfoldDomain(31337n, licenceContract);

const coordinator = new Wallet('0x' + '33'.repeat(32));
// The X25519 recipient from age's README.
const recipient = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

const baseRequest = (): JobRequest => ({
  buyer: buyer.address,
  coordinator: coordinator.address,
  datasets: [1n, 7n],
  licences: [3n, 4n],
  modelSpecHash: '0x' + 'ab'.repeat(32),
  jobSchemaHash: '0x' + 'cd'.repeat(32),
  recipient,
  strategy: 'fedavg',
  rounds: 5,
  training: jobTraining({ localEpochs: 2, batchSize: 16, learningRate: 0.05, optimizer: 'sgd' }),
  dp: dpParamsFromFloats({ noiseMultiplier: 1.1, clipNorm: 1.0, delta: 1e-5 }),
  secagg: { enabled: true, minContributors: 3 },
  escrow: {
    currency: ZeroAddress,
    runDeadline: 2_000_086_400n,
    confirmWindow: 86_400,
    fallbackWindow: 172_800,
    feeBps: 100,
  },
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
  it('has the v4 type string (known answer) under domain version "4"', () => {
    const types = Object.fromEntries(Object.entries(JOB_REQUEST_TYPES).map(([k, v]) => [k, v.map((f) => ({ ...f }))]));
    // EIP-712 encodeType: the primary type, then referenced structs sorted by name.
    expect(TypedDataEncoder.from(types).encodeType('JobRequest')).toBe(
      'JobRequest(address buyer,address coordinator,uint256[] datasets,uint256[] licences,bytes32 modelSpecHash,' +
        'bytes32 jobSchemaHash,string recipient,string strategy,uint32 rounds,Training training,DpParams dp,SecAggTerms secagg,' +
        'EscrowTerms escrow,uint256 nonce,uint64 deadline,uint256 chainId)' +
        'DpParams(uint32 noiseMultiplierMilli,uint64 clipNormMicro,uint64 deltaAtto,string level)' +
        'EscrowTerms(address currency,uint64 runDeadline,uint32 confirmWindow,uint32 fallbackWindow,uint16 feeBps)' +
        'SecAggTerms(bool enabled,uint32 minContributors)' +
        'Training(uint32 localEpochs,uint32 batchSize,uint64 learningRateMicro,string optimizer,' +
        'uint64 fedProxMuMicro,uint64 updateClipMicro,uint32 maxWeight)',
    );
    expect(SEALFOLD_DOMAIN_VERSION).toBe('4');
    expect(domain.version).toBe('4');
  });

  it('a signature made under domain version "1" does not verify', async () => {
    const req = baseRequest();
    const v1 = { ...domain, version: '1' } as unknown as typeof domain;
    const types = Object.fromEntries(Object.entries(JOB_REQUEST_TYPES).map(([k, v]) => [k, v.map((f) => ({ ...f }))]));
    const sig = await buyer.signTypedData(
      { name: v1.name, version: '1', chainId: v1.chainId, verifyingContract: v1.verifyingContract },
      types,
      { ...req, datasets: [...req.datasets], licences: [...req.licences] },
    );
    expect(reasonOf(() => verifyJobRequest(domain, req, sig, { now }))).toBe('signer-mismatch');
  });

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
      level: 'record',
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
      fc
        .bigInt({ min: 1n, max: 10n ** 8n })
        .map((fedProxMuMicro) => ({ strategy: 'fedprox', training: { ...req.training, fedProxMuMicro } })),
      fc.integer({ min: 6, max: 10_000 }).map((rounds) => ({ rounds })),
      fc.integer({ min: 0, max: 1099 }).map((n) => ({ dp: { ...req.dp, noiseMultiplierMilli: n } })),
      fc.bigInt({ min: 1_000_001n, max: 2n ** 63n }).map((c) => ({ dp: { ...req.dp, clipNormMicro: c } })),
      fc.bigInt({ min: 0n, max: 9_999_999_999_999n }).map((d) => ({ dp: { ...req.dp, deltaAtto: d } })),
      fc.constant<Partial<JobRequest>>({ dp: { ...req.dp, level: 'owner' } }),
      fc.constant<Partial<JobRequest>>({ coordinator: other.address }),
      fc.constant<Partial<JobRequest>>({ recipient: 'age1' + 'q'.repeat(58) }),
      fc.integer({ min: 3, max: 1000 }).map((localEpochs) => ({ training: { ...req.training, localEpochs } })),
      fc.integer({ min: 17, max: 65_536 }).map((batchSize) => ({ training: { ...req.training, batchSize } })),
      fc
        .bigInt({ min: 50_001n, max: 10_000_000n })
        .map((learningRateMicro) => ({ training: { ...req.training, learningRateMicro } })),
      fc.constant({ training: { ...req.training, optimizer: 'adam' as const } }),
      fc
        .bigInt({ min: 1_000_001n, max: 10n ** 12n })
        .map((updateClipMicro) => ({ training: { ...req.training, updateClipMicro } })),
      fc.integer({ min: 1, max: 9_999 }).map((maxWeight) => ({ training: { ...req.training, maxWeight } })),
      fc.constant({ secagg: { enabled: false, minContributors: 3 } }),
      fc.integer({ min: 4, max: 255 }).map((minContributors) => ({ secagg: { enabled: true, minContributors } })),
      // Issue 20: every escrow term is signed (a coordinator cannot shorten the windows or raise the fee).
      fc
        .bigInt({ min: 1n, max: 10n ** 6n })
        .map((d) => ({ escrow: { ...req.escrow, runDeadline: req.escrow.runDeadline + d } })),
      fc
        .integer({ min: 86_401, max: 30 * 86_400 })
        .map((confirmWindow) => ({ escrow: { ...req.escrow, confirmWindow } })),
      fc
        .integer({ min: 172_801, max: 30 * 86_400 })
        .map((fallbackWindow) => ({ escrow: { ...req.escrow, fallbackWindow } })),
      fc.integer({ min: 0, max: 99 }).map((feeBps) => ({ escrow: { ...req.escrow, feeBps } })),
      fc.constant({ escrow: NO_ESCROW }),
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

  it("hashJobRequest is ethers' TypedDataEncoder.hash of the request, for arbitrary requests (property)", () => {
    // The reference: ethers' generic EIP-712 encoder over the same types and message.
    const types = Object.fromEntries(Object.entries(JOB_REQUEST_TYPES).map(([k, v]) => [k, v.map((f) => ({ ...f }))]));
    const typedDomain = {
      name: domain.name,
      version: domain.version,
      chainId: domain.chainId,
      verifyingContract: domain.verifyingContract,
    };
    const uint256 = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
      fc.constantFrom(0n, 1n, 255n, 256n, 2n ** 256n - 1n),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(uint256, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 10_000 }),
        uint256,
        fc.constantFrom('fedavg', 'fedprox'),
        fc.boolean(),
        fc.integer({ min: 3, max: 200 }),
        (datasets, rounds, nonce, strategy, enabled, minContributors) => {
          const req: JobRequest = {
            ...baseRequest(),
            datasets,
            licences: datasets.map((d) => d ^ 1n),
            rounds,
            nonce,
            strategy,
            secagg: { enabled, minContributors },
          };
          const json = jobRequestToJson(req);
          const reference = TypedDataEncoder.hash(typedDomain, types, {
            ...req,
            datasets: [...req.datasets],
            licences: [...req.licences],
            training: { ...req.training },
            dp: { ...req.dp },
            secagg: { ...req.secagg },
            escrow: { ...req.escrow },
          });
          expect(hashJobRequest(domain, parseJobRequest(json))).toBe(reference);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('sign/verify round-trips for arbitrary valid requests, verifyAndHashJobRequest with them (property)', async () => {
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
          // The one-hash form (silo admission) returns the same buyer and exactly hashJobRequest's digest.
          expect(verifyAndHashJobRequest(domain, req, sig, { now })).toEqual({
            buyer: buyer.address,
            digest: hashJobRequest(domain, req),
          });
        },
      ),
      { numRuns: 25 },
    );
  });
});
