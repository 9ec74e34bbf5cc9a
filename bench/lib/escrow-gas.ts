// Gas of the job escrow and model-asset paths (issue 20 targets), on a chain where DatasetNFT and DatasetLicence
// are deployed: JobEscrow and ModelAsset are deployed here. Every figure is whole-transaction gas from a receipt, in
// the costlier state: payees credited for the first time, a fresh ERC-721 owner. Silo and coordinator keys are
// random wallets that only sign (JobReceipt, EIP-712, through @sealfold/chain's typed-data helper).
import { Contract, ContractFactory, Wallet, type ContractRunner, type InterfaceAbi, type Provider } from 'ethers';
import { ARTIFACTS, hashJobReceipt, jobReceiptDomain, receiptTuple, type JobReceipt } from '@sealfold/chain';

export interface EscrowGas {
  readonly open3: number;
  readonly open20: number;
  readonly settle3: number;
  readonly settle20: number;
  readonly withdraw: number;
  readonly refund: number;
  readonly registerModel3: number;
  readonly registerModel20: number;
  readonly licenceSale3: number;
  readonly licenceSale20: number;
}

const RATE = 10n ** 9n;
const ROWS = 1000n;
const ROUNDS = 5;
const LICENCE_PRICE = 10n ** 15n;
const TERMS = {
  priceWei: LICENCE_PRICE,
  paymentToken: '0x0000000000000000000000000000000000000000',
  priceToken: 0n,
  licenceDuration: 30n * 86_400n,
  maxJobs: 5,
  epsilonBudgetMilli: 3000,
  dpLevel: 0, // record level
  minOwners: 3,
  royaltyBps: 500n,
  listed: true,
};
const bytes32 = (n: number) => '0x' + n.toString(16).padStart(64, '0');
const at = (name: keyof typeof ARTIFACTS, address: string, runner: ContractRunner) =>
  new Contract(address, ARTIFACTS[name].abi as InterfaceAbi, runner);

async function gasOf(tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<number> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error('no receipt');
  return Number(receipt.gasUsed);
}

/**
 * `owner` registers the datasets and keeps the first of each job (it withdraws); the others go to fresh payees.
 * `buyer` opens the jobs and registers the models; `buyer2` buys model licences.
 */
export async function measureEscrowGas(opts: {
  provider: Provider;
  deployer: Wallet;
  owner: Wallet;
  buyer: Wallet;
  buyer2: Wallet;
  datasetNFT: string;
  datasetLicence: string;
  feeBps: number;
}): Promise<EscrowGas> {
  const { provider, deployer, owner, buyer, buyer2 } = opts;
  const deploy = async (name: 'JobEscrow' | 'ModelAsset', args: unknown[]) => {
    const f = new ContractFactory(ARTIFACTS[name].abi as InterfaceAbi, ARTIFACTS[name].bytecode, deployer);
    const c = await f.deploy(...args);
    await c.waitForDeployment();
    return c.getAddress();
  };
  const treasury = Wallet.createRandom().address;
  const escrowAddress = await deploy('JobEscrow', [opts.datasetNFT, opts.datasetLicence, treasury, opts.feeBps]);
  const modelsAddress = await deploy('ModelAsset', [escrowAddress, treasury, opts.feeBps]);
  const nft = at('DatasetNFT', opts.datasetNFT, owner);
  const licences = at('DatasetLicence', opts.datasetLicence, buyer);
  const escrow = at('JobEscrow', escrowAddress, buyer);
  const models = at('ModelAsset', modelsAddress, buyer);
  const coordinator = Wallet.createRandom();
  const { chainId } = await provider.getNetwork();
  const domain = jobReceiptDomain(chainId, escrowAddress);

  const job = async (n: number, tag: number) => {
    const silos: { address: string; signingKey: Wallet['signingKey'] }[] = [];
    const ids: bigint[] = [];
    const lids: bigint[] = [];
    for (let i = 0; i < n; i++) {
      const cid = '0x01551220' + (tag * 1000 + i).toString(16).padStart(64, 'b');
      const id = (await nft.lastDatasetId()) + 1n;
      await (await nft.register(cid, '0x' + 'c0'.repeat(32), TERMS)).wait();
      const silo = Wallet.createRandom();
      silos.push(silo);
      await (await nft.setJobTerms(id, [ZERO, RATE, ROWS, true, 100_000, silo.address])).wait();
      if (i > 0) await (await nft.transferFrom(owner.address, Wallet.createRandom().address, id)).wait();
      const tx = await licences.purchase(id, await nft.termsHashOf(id), { value: LICENCE_PRICE });
      const rc = await tx.wait();
      const minted = rc!.logs
        .map((l: { topics: readonly string[] }) => l.topics)
        .find((t: readonly string[]) => t.length === 4);
      lids.push(BigInt(minted![3]));
      ids.push(id);
    }
    const now = (await provider.getBlock('latest'))!.timestamp;
    const header = [ZERO, coordinator.address, 2, ROUNDS, now + 86_400, 86_400, 2 * 86_400, opts.feeBps] as const;
    const price = RATE * ROWS * BigInt(ROUNDS) * BigInt(n);
    const request = bytes32(tag);
    const jobId: string = await escrow.jobIdOf(buyer.address, request);
    const openGas = await gasOf(escrow.open(request, header, ids, lids, price, { value: price }));
    const pinned = await Promise.all(
      ids.map(async (id, i) => {
        const [t, payee] = await nft.jobTermsOf(id);
        return [id, payee, silos[i].address, t.ratePerRowRound, t.rows, t.derivativesAllowed, t.derivativeShareMicros];
      }),
    );
    const receipt: JobReceipt = {
      jobId,
      roundsCompleted: ROUNDS,
      modelDigest: bytes32(tag + 1),
      modelCidDigest: bytes32(tag + 2),
      transcriptRoot: bytes32(tag + 3),
      roundsByDataset: Array.from({ length: n }, () => ROUNDS),
      epsilonSpentMilli: 2500,
      valuationDigest: bytes32(tag + 4),
    };
    const digest = hashJobReceipt(domain, receipt);
    if (digest !== (await escrow.hashReceipt(receiptTuple(receipt))))
      throw new Error('JobReceipt digest differs from JobEscrow.hashReceipt');
    const sigs = [
      coordinator.signingKey.sign(digest).serialized,
      (1n << BigInt(n)) - 1n,
      '0x' + silos.map((s) => s.signingKey.sign(digest).serialized.slice(2)).join(''),
    ];
    const settleGas = await gasOf(escrow.settle(header, pinned, receiptTuple(receipt), sigs));
    const refundGas = await gasOf(escrow.refund(jobId));
    const registerGas = await gasOf(models.register(header, pinned, receiptTuple(receipt)));
    await (await models.setLicencePrice(BigInt(jobId), 10n ** 16n)).wait();
    const saleGas = await gasOf((models.connect(buyer2) as Contract).buyLicence(BigInt(jobId), { value: 10n ** 16n }));
    return { openGas, settleGas, refundGas, registerGas, saleGas };
  };

  const three = await job(3, 0x300);
  const twenty = await job(20, 0x2000);
  const withdrawGas = await gasOf((escrow.connect(owner) as Contract).withdraw(ZERO));
  return {
    open3: three.openGas,
    open20: twenty.openGas,
    settle3: three.settleGas,
    settle20: twenty.settleGas,
    withdraw: withdrawGas,
    refund: three.refundGas,
    registerModel3: three.registerGas,
    registerModel20: twenty.registerGas,
    licenceSale3: three.saleGas,
    licenceSale20: twenty.saleGas,
  };
}

const ZERO = '0x0000000000000000000000000000000000000000';
