// Late attestations (issue 20, docs/ECONOMICS.md §2.6): a silo that was offline when its job's receipt was collected
// (it dropped out mid-job and came back later) is asked again when it announces its datasets. It checks the same
// receipt against its own ledger — it signs only for the rounds it contributed to — and the coordinator settles that
// one dataset on the receipt it already confirmed (JobEscrow pays each dataset once, until the settlement window
// closes). The job record's settlement moves the dataset from `unsigned` to `siloSignatures`.
import { verifyJobReceipt } from '@sealfold/chain';
import { type JobSettlementView, type WireControl } from '@sealfold/protocol';
import type { CoordinatorChain } from '../chain/chain.port.js';
import type { SiloSession } from '../gateway/silo-session.js';
import type { JobsRepository } from '../jobs/jobs.repository.js';
import { receiptRequestFrame, transcriptOf } from './receipt-collection.js';
import type { RoundsRepository } from './rounds.repository.js';

export class LateReceipts {
  /** (job id, dataset id) asked, and on which session. */
  private readonly asked = new Map<string, SiloSession>();

  constructor(
    private readonly deps: {
      readonly jobs: JobsRepository;
      readonly rounds: RoundsRepository;
      readonly chain: () => CoordinatorChain | undefined;
      readonly log: (message: string) => void;
    },
  ) {}

  /** A silo announced: ask it to sign the receipts of completed jobs its datasets have not signed yet. */
  async onReady(session: SiloSession): Promise<void> {
    const chain = this.deps.chain();
    if (!chain) return;
    for (const job of await this.deps.jobs.withUnsignedSettlement()) {
      const s = job.settlement!;
      const mine = Object.keys(s.unsigned).filter((id) => session.datasets.has(id));
      if (mine.length === 0) continue;
      const escrow = await chain.escrowOf(job.buyer, job.id);
      if (!escrow || escrow.info.refunded) continue;
      const transcript = transcriptOf(escrow.terms, await this.deps.rounds.transcript(job.id));
      for (const datasetId of mine) {
        this.asked.set(`${job.id}:${datasetId}`, session);
        session.sendRaw(receiptRequestFrame(job.id, datasetId, s.receipt, transcript));
      }
    }
  }

  /** Whether a receipt-signature frame is one this handler asked for (else it belongs to a running job). */
  expects(jobId: string, datasetId: string): boolean {
    return this.asked.has(`${jobId}:${datasetId}`);
  }

  /** The silo's late answer: verified against the pinned signer, settled, recorded. */
  async onSignature(session: SiloSession, reply: WireControl<'receipt-signature'>): Promise<void> {
    const key = `${reply.jobId}:${reply.datasetId}`;
    if (this.asked.get(key) !== session) return;
    this.asked.delete(key);
    const chain = this.deps.chain();
    const job = await this.deps.jobs.get(reply.jobId);
    const s = job?.settlement;
    if (!chain || !job || !s || !(reply.datasetId in s.unsigned)) return;
    const update = async (next: JobSettlementView) => this.deps.jobs.setSettlement(job.id, next);
    if (reply.refused !== undefined)
      return update({ ...s, unsigned: { ...s.unsigned, [reply.datasetId]: reply.refused } });
    const escrow = await chain.escrowOf(job.buyer, job.id);
    const pinned = escrow?.terms.pinned.find((p) => String(p.datasetId) === reply.datasetId);
    if (!pinned) return;
    try {
      verifyJobReceipt(await chain.receiptDomain(), s.receipt, reply.signature!, pinned.signer);
      const r = await chain.settleJob(s.escrowJobId, {
        receipt: s.receipt,
        coordinatorSignature: s.coordinatorSignature,
        siloSignatures: { [reply.datasetId]: reply.signature! },
      });
      const { [reply.datasetId]: _signed, ...unsigned } = s.unsigned;
      this.deps.log(`job ${job.id}: dataset ${reply.datasetId} signed late, settled in ${r.txHash}`);
      await update({
        ...s,
        siloSignatures: { ...s.siloSignatures, [reply.datasetId]: reply.signature! },
        unsigned,
        paidWei: String(BigInt(s.paidWei ?? '0') + r.paidWei),
        lateSettlements: [
          ...(s.lateSettlements ?? []),
          { datasetId: reply.datasetId, txHash: r.txHash, paidWei: String(r.paidWei) },
        ],
      });
    } catch (error) {
      this.deps.log(
        `job ${job.id}: late receipt of dataset ${reply.datasetId} not settled: ${(error as Error).message}`,
      );
      await update({
        ...s,
        unsigned: { ...s.unsigned, [reply.datasetId]: `late: ${(error as Error).message}`.slice(0, 1024) },
      });
    }
  }
}
