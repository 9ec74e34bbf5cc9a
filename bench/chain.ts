// `npm run bench -- chain [--json] [--txs N]`
// The embedded chain's restart cost and the contracts' gas, each beside a same-run baseline:
// - replay per journaled request at restart ÷ the live cost of the same request through the client (ethers estimate,
//   send, receipt): the journal design is only viable if a restart costs no more than the history did live
//   (target: ratio ≤ 1);
// - gas of DatasetNFT.register and DatasetLicence.purchase ÷ a plain ETH transfer (21,000 gas) measured in the same
//   run, with the ceilings as value targets (register ≤ 150k, purchase ≤ 120k);
// - gas of the job escrow and model-asset paths (issue 20 targets, bench/lib/escrow-gas.ts): open for 3 datasets
//   ≤ 160k, settle with 3 silo signatures ≤ 230k and with 20 ≤ 820k, withdraw ≤ 40k, registering a model with 20
//   parents ≤ 250k, a model-licence sale ≤ 140k whatever the number of parents (3 and 20 measured);
// - gas of ModelRegistry.record for a job on 20 and on 1024 datasets (JOB_MAX_DATASETS): the record of the largest
//   job must fit one transaction, ≤ 2^24 = 16,777,216 gas (EIP-7825's per-transaction cap).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Wallet } from 'ethers';
import { CID } from 'multiformats/cid';
import { connectChain, startEmbeddedChain } from '@sealfold/chain';
import { JOB_MAX_DATASETS } from '@sealfold/protocol';
import { type Figure, figure, median, report } from './lib/report.js';
import { measureEscrowGas } from './lib/escrow-gas.js';
import { positiveIntegerArg } from './lib/args.js';

const txs = positiveIntegerArg('txs', 200);
const cidOf = (text: string) =>
  CID.decode(Uint8Array.from([0x01, 0x55, 0x12, 0x20, ...createHash('sha256').update(text).digest()])).toString();

const dir = mkdtempSync(join(tmpdir(), 'sealfold-bench-chain-'));
try {
  let chain = await startEmbeddedChain({ dataDir: dir });
  const owner = await connectChain({ embedded: chain, signer: chain.accounts[1].privateKey });
  const buyer = await connectChain({ embedded: chain, signer: chain.accounts[2].privateKey });

  const transfer = await (
    await new Wallet(chain.accounts[3].privateKey, owner.provider).sendTransaction({
      to: chain.accounts[4].address,
      value: 1n,
    })
  ).wait();
  const transferGas = Number(transfer!.gasUsed);

  const { datasetId, gasUsed: registerGas } = await owner.registerDataset({
    manifestCid: cidOf('bench'),
    commitment: '0x' + 'ab'.repeat(32),
    terms: { priceWei: 10n ** 15n, licenceDuration: 86_400n },
  });
  const purchaseGas: number[] = [];
  const liveMs: number[] = [];
  for (let i = 0; i < txs; i++) {
    const start = performance.now();
    const p = await buyer.purchaseLicence(datasetId, { value: 10n ** 15n });
    liveMs.push(performance.now() - start);
    purchaseGas.push(Number(p.gasUsed));
  }
  owner.close();
  buyer.close();
  await chain.close();

  // The restart replays exactly the history measured live above (a transfer, a registration and the purchases), so
  // the ratio compares like with like; the escrow gas below runs on the restarted chain.
  const start = performance.now();
  chain = await startEmbeddedChain({ dataDir: dir });
  const restartMs = performance.now() - start;
  const records = chain.replayed.records;

  const client = await connectChain({ embedded: chain, signer: chain.accounts[1].privateKey });
  const wallet = (i: number) => new Wallet(chain.accounts[i].privateKey, client.provider);
  const escrowGas = await measureEscrowGas({
    provider: client.provider,
    deployer: wallet(0),
    owner: wallet(5),
    buyer: wallet(6),
    buyer2: wallet(7),
    datasetNFT: client.addresses!.datasetNFT,
    datasetLicence: client.addresses!.datasetLicence,
    feeBps: 250,
  });

  // Model records: the deployer holds COORDINATOR_ROLE. Fresh datasets, so the ids are known without a scan.
  const datasetIds: bigint[] = [];
  for (let i = 0; i < JOB_MAX_DATASETS; i++) {
    const r = await client.registerDataset({
      manifestCid: cidOf(`record-${i}`),
      commitment: '0x' + 'cd'.repeat(32),
      terms: { priceWei: 1n },
    });
    datasetIds.push(r.datasetId);
  }
  const coordinator = await connectChain({ embedded: chain, signer: chain.accounts[0].privateKey });
  const recordGas = async (n: number) => {
    const r = await coordinator.recordModel({
      jobId: '0x' + n.toString(16).padStart(64, '0'),
      modelCid: cidOf(`model-${n}`),
      datasetIds: datasetIds.slice(0, n),
      rounds: 10,
      epsilonSpentMilli: 2500,
    });
    return Number(r.gasUsed);
  };
  const record20 = await recordGas(20);
  const recordMax = await recordGas(JOB_MAX_DATASETS);
  // Reading the largest record back: its ids come from the ModelRecorded event, checked against the stored hash.
  const readStart = performance.now();
  const read = await coordinator.getModel(
    coordinator.signerAddress!,
    '0x' + JOB_MAX_DATASETS.toString(16).padStart(64, '0'),
  );
  const readMs = performance.now() - readStart;
  if (read.datasetIds.length !== JOB_MAX_DATASETS) throw new Error('getModel returned the wrong dataset list');
  coordinator.close();
  client.close();
  await chain.close();

  const figures: Figure[] = [
    figure('replay per journaled request', restartMs / records, 'ms', median(liveMs), {
      op: '<=',
      of: 'ratio',
      value: 1,
    }),
    figure(`restart with ${records} journal records`, restartMs, 'ms', null),
    figure('DatasetNFT.register gas', Number(registerGas), 'gas', transferGas, {
      op: '<=',
      of: 'value',
      value: 150_000,
    }),
    figure('DatasetLicence.purchase gas (median)', median(purchaseGas), 'gas', transferGas, {
      op: '<=',
      of: 'value',
      value: 120_000,
    }),
    ...(
      [
        ['JobEscrow.open gas (3 datasets)', escrowGas.open3, 160_000],
        ['JobEscrow.open gas (20 datasets)', escrowGas.open20, null],
        ['JobEscrow.settle gas (coordinator + 3 silo signatures, payees first credited)', escrowGas.settle3, 230_000],
        ['JobEscrow.settle gas (coordinator + 20 silo signatures, payees first credited)', escrowGas.settle20, 820_000],
        ['JobEscrow.withdraw gas', escrowGas.withdraw, 40_000],
        ['JobEscrow.refund gas', escrowGas.refund, null],
        ['ModelAsset.register gas (3 parents)', escrowGas.registerModel3, null],
        ['ModelAsset.register gas (20 parents)', escrowGas.registerModel20, 250_000],
        ['ModelAsset.buyLicence gas (3 parents)', escrowGas.licenceSale3, 140_000],
        ['ModelAsset.buyLicence gas (20 parents)', escrowGas.licenceSale20, 140_000],
        ['ModelRegistry.record gas (20 datasets)', record20, null],
        [`ModelRegistry.record gas (${JOB_MAX_DATASETS} datasets)`, recordMax, 16_777_216],
      ] as const
    ).map(([name, gas, limit]) =>
      figure(name, gas, 'gas', transferGas, limit === null ? undefined : { op: '<=', of: 'value', value: limit }),
    ),
    figure(`ModelRegistry getModel with ${JOB_MAX_DATASETS} datasets (read and checked)`, readMs, 'ms', null),
  ];
  report('chain', figures);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
