// Job escrows, owners' earnings and model royalties (issue 20) for the REST API. Read-only: state comes from the
// chain at the time of the request; the index (escrow.repository.ts) only lists what happened. The coordinator's
// key moves no money here.
import { Inject, Injectable } from '@nestjs/common';
import type { EarningsView, EscrowJobView, EscrowPhase, ModelAssetView } from '@sealfold/protocol';
import { z } from 'zod';
import { ChainService } from '../chain/chain.service.js';
import type { CoordinatorChain, EscrowJob } from '../chain/chain.port.js';
import { ApiError, parseOr400 } from '../common/api-error.js';
import { EscrowRepository } from './escrow.repository.js';

/** A job or model id: 64 hex digits, 0x optional, any case → 0x + lowercase. */
export const escrowIdSchema = z
  .string()
  .regex(/^(0x)?[0-9a-fA-F]{64}$/, 'must be 64 hex digits (a job escrow or model id)')
  .transform((s) => `0x${s.replace(/^0x/, '').toLowerCase()}`);
export const addressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be an address (0x + 40 hex digits)');

/** The escrow's phase on the chain's clock: windows are disjoint (settle < settleEnd ≤ refund), ECONOMICS §2.6. */
export function escrowPhase(
  refunded: boolean,
  now: bigint,
  runDeadline: bigint,
  confirmEnd: bigint,
  settleEnd: bigint,
): EscrowPhase {
  if (refunded) return 'closed';
  if (now < runDeadline) return 'running';
  if (now < confirmEnd) return 'confirming';
  if (now < settleEnd) return 'fallback';
  return 'refundable';
}

function jobView(j: EscrowJob): EscrowJobView {
  const { info, terms } = j;
  const h = terms.header;
  const confirmEnd = h.runDeadline + BigInt(h.confirmWindow);
  const paidBy = new Map(j.payments.map((p) => [p.datasetId, p]));
  return {
    jobId: info.jobId,
    buyer: info.buyer,
    currency: info.currency,
    phase: escrowPhase(info.refunded, j.chainTime, info.runDeadline, confirmEnd, info.settleEnd),
    locked: info.locked.toString(),
    paid: info.paid.toString(),
    refunded: info.refunded ? (j.refund?.amount ?? info.locked - info.paid).toString() : null,
    coordinator: h.coordinator,
    threshold: h.threshold,
    rounds: h.rounds,
    feeBps: h.feeBps,
    windows: {
      runDeadline: Number(info.runDeadline),
      confirmEnd: Number(confirmEnd),
      settleEnd: Number(info.settleEnd),
      chainTime: Number(j.chainTime),
    },
    datasets: terms.pinned.map((p, index) => {
      const pay = paidBy.get(p.datasetId);
      return {
        index,
        datasetId: p.datasetId.toString(),
        licenceId: terms.licenceIds[index].toString(),
        payee: p.payee,
        signer: p.signer,
        ratePerRowRound: p.rate.toString(),
        rows: p.rows.toString(),
        maxPay: (p.rate * p.rows * BigInt(h.rounds)).toString(),
        derivativesAllowed: p.derivativesAllowed,
        derivativeShareMicros: p.derivativeShareMicros,
        paid: info.paidIndices.includes(index),
        roundsPaid: pay?.rounds ?? null,
        amount: pay?.amount.toString() ?? null,
        fee: pay?.fee.toString() ?? null,
        net: pay?.net.toString() ?? null,
        txHash: pay?.txHash ?? null,
      };
    }),
    requestDigest: terms.requestDigest,
    openTx: terms.openTx,
    openBlock: Number(terms.openBlock),
  };
}

@Injectable()
export class EscrowService {
  constructor(
    @Inject(ChainService) private readonly chain: ChainService,
    @Inject(EscrowRepository) private readonly repo: EscrowRepository,
  ) {}

  /** The chain, with JobEscrow and ModelAsset deployed (503 otherwise). */
  private escrowChain(): CoordinatorChain {
    const chain = this.chain.require();
    if (!chain.escrowDeployed)
      throw new ApiError(503, 'ESCROW_UNAVAILABLE', 'this deployment has no JobEscrow and ModelAsset (issue 20)');
    return chain;
  }

  async job(id: string): Promise<EscrowJobView> {
    const jobId = parseOr400(escrowIdSchema, id, 'JOB_ID');
    const job = await this.escrowChain().escrowJob(jobId);
    if (!job) throw new ApiError(404, 'ESCROW_NOT_FOUND', `no job escrow ${jobId} on chain`);
    return jobView(job);
  }

  async earnings(address: string): Promise<EarningsView> {
    const owner = parseOr400(addressSchema, address, 'ADDRESS');
    const chain = this.escrowChain();
    const [owed, payments, claims, next] = await Promise.all([
      chain.escrowOwed(owner),
      this.repo.paymentsTo(owner),
      this.repo.claimsFor(owner),
      this.repo.indexedTo(),
    ]);
    const jobs = new Map<string, EarningsView['jobs'][number]>();
    let totalNet = 0n;
    for (const p of payments) {
      const net = BigInt(p.amount) - BigInt(p.fee);
      totalNet += net;
      const job = jobs.get(p.jobId) ?? {
        jobId: p.jobId,
        amount: '0',
        fee: '0',
        net: '0',
        datasets: [],
        modelId: p.modelRegistered ? p.jobId : null,
      };
      job.amount = (BigInt(job.amount) + BigInt(p.amount)).toString();
      job.fee = (BigInt(job.fee) + BigInt(p.fee)).toString();
      job.net = (BigInt(job.net) + net).toString();
      job.datasets.push({
        datasetId: p.datasetId,
        rounds: p.rounds,
        amount: p.amount,
        fee: p.fee,
        net: net.toString(),
        txHash: p.txHash,
      });
      jobs.set(p.jobId, job);
    }
    return {
      address: owner,
      jobs: [...jobs.values()],
      totalNet: totalNet.toString(),
      royalties: claims.map((c) => ({
        modelId: c.modelId,
        datasetId: c.datasetId,
        amount: c.amount,
        txHash: c.txHash,
      })),
      withdrawable: {
        jobEscrow: owed.jobEscrow.toString(),
        modelAsset: owed.modelAsset.toString(),
        total: (owed.jobEscrow + owed.modelAsset).toString(),
      },
      indexedToBlock: next === undefined ? null : next.toString(),
    };
  }

  async model(id: string): Promise<ModelAssetView> {
    const modelId = parseOr400(escrowIdSchema, id, 'MODEL_ID');
    const [read, sales] = await Promise.all([this.escrowChain().modelAsset(modelId), this.repo.salesOf(modelId)]);
    if (!read) throw new ApiError(404, 'MODEL_NOT_REGISTERED', `no model ${modelId} registered on chain`);
    const m = read.model;
    return {
      modelId,
      owner: m.owner,
      price: m.price.toString(),
      gross: m.gross.toString(),
      stackMicros: m.stackMicros,
      upstreamPot: read.upstreamPot.toString(),
      receiptDigest: read.receiptDigest,
      parentsRoot: m.parentsRoot,
      parents: read.parents.map((p) => ({
        datasetId: p.datasetId.toString(),
        shareMicros: p.shareMicros,
        owner: p.owner,
        claimed: p.taken.toString(),
        due: p.due.toString(),
      })),
      sales: sales.map((s) => ({
        buyer: s.buyer,
        price: s.price,
        fee: s.fee,
        upstream: s.upstream,
        txHash: s.txHash,
        blockNumber: s.blockNumber,
      })),
    };
  }
}
