// The job's end under escrow (issue 20, docs/ECONOMICS.md §2.3–2.4): the coordinator builds the JobReceipt from its
// committed rounds (the transcript: per round the datasets whose input entered the sum and the SHA-256 of the model it
// produced), asks each dataset's silo to co-sign it (wire `receipt-request`; the silo checks it against its own
// ledger), adds its own signature (the normal-path confirmation) and settles on chain. Dataset i is paid only with
// silo i's signature; the bundle is kept in the job record, so anyone can settle it again (e.g. after a failed send).
import {
  roundsByDatasetOf,
  transcriptRoot,
  verifyJobReceipt,
  type EscrowTerms,
  type JobReceipt,
  type TranscriptRound,
} from '@sealfold/chain';
import { encodeControlFrame, type JobSettlementView, type WireControl } from '@sealfold/protocol';
import type { CoordinatorChain } from '../chain/chain.port.js';
import type { SiloSession } from '../gateway/silo-session.js';
import type { RunScope } from './run-context.js';

const ZERO32 = `0x${'00'.repeat(32)}`;

/** The delivered model a receipt names: SHA-256 of its age ciphertext (hex) and the ε provenance records. */
export interface DeliveredModel {
  readonly sha256: string;
  readonly epsilonSpentMilli: number;
}

/** The receipt transcript of committed rounds: contributors as escrow indices (increasing dataset id order). */
export function transcriptOf(
  terms: EscrowTerms,
  rows: readonly { round: number; contributors: readonly string[]; modelDigest: string }[],
): TranscriptRound[] {
  const indexOf = new Map(terms.pinned.map((p, i) => [String(p.datasetId), i]));
  return rows.map((r) => ({
    round: r.round,
    survivors: r.contributors.map((id) => indexOf.get(id)).filter((i): i is number => i !== undefined),
    modelDigest: r.modelDigest,
  }));
}

/** The receipt-request frame asking the silo of `datasetId` to sign. */
export function receiptRequestFrame(
  jobId: string,
  datasetId: string,
  receipt: JobReceipt,
  transcript: readonly TranscriptRound[],
): Uint8Array {
  return encodeControlFrame(
    'receipt-request',
    {
      jobId,
      datasetId,
      receipt: { ...receipt, roundsByDataset: [...receipt.roundsByDataset] },
      transcript: transcript.map((r) => ({ ...r, survivors: [...r.survivors] })),
    },
    { jobId },
  );
}

export class ReceiptCollection {
  private readonly replies = new Map<string, WireControl<'receipt-signature'>>();
  private asked = new Map<string, SiloSession>();

  constructor(private readonly scope: RunScope) {}

  /** A silo's answer; only from the session it was asked on, for a dataset it was asked about. */
  onSignature(session: SiloSession, reply: WireControl<'receipt-signature'>): void {
    if (this.asked.get(reply.datasetId) !== session) return;
    this.replies.set(reply.datasetId, reply);
  }

  /**
   * Collects the co-signed receipt and settles it. Undefined when the job has no escrow (a licence-only job). Never
   * throws for a settlement failure: the error is recorded with the bundle.
   */
  async collect(chain: CoordinatorChain, model: DeliveredModel): Promise<JobSettlementView | undefined> {
    const { job, ctx } = this.scope;
    const escrow = await chain.escrowOf(job.buyer, job.id);
    if (!escrow) return undefined;
    const { terms } = escrow;
    const transcript = transcriptOf(terms, await ctx.rounds.transcript(job.id));
    if (transcript.length === 0) return undefined;
    const receipt: JobReceipt = {
      jobId: terms.jobId,
      roundsCompleted: transcript.length,
      modelDigest: transcript[transcript.length - 1].modelDigest,
      modelCidDigest: `0x${model.sha256}`,
      transcriptRoot: transcriptRoot(terms.jobId, transcript),
      roundsByDataset: roundsByDatasetOf(terms.pinned.length, transcript),
      epsilonSpentMilli: model.epsilonSpentMilli,
      valuationDigest: ZERO32,
    };

    // Ask every dataset's silo that is online now, including one that dropped out and came back.
    this.asked = new Map();
    this.replies.clear();
    for (const p of terms.pinned) {
      const datasetId = String(p.datasetId);
      const session = ctx.siloFor(datasetId);
      if (!session) continue;
      this.asked.set(datasetId, session);
      session.sendRaw(receiptRequestFrame(job.id, datasetId, receipt, transcript));
    }
    await this.scope.until(() => this.replies.size >= this.asked.size, ctx.settings.stageTimeoutMs);

    const domain = await chain.receiptDomain();
    const siloSignatures: Record<string, string> = {};
    const unsigned: Record<string, string> = {};
    terms.pinned.forEach((p) => {
      const datasetId = String(p.datasetId);
      const reply = this.replies.get(datasetId);
      if (!this.asked.has(datasetId)) unsigned[datasetId] = 'silo offline';
      else if (!reply) unsigned[datasetId] = 'no answer';
      else if (reply.refused !== undefined) unsigned[datasetId] = reply.refused;
      else {
        try {
          verifyJobReceipt(domain, receipt, reply.signature!, p.signer);
          siloSignatures[datasetId] = reply.signature!;
        } catch (error) {
          unsigned[datasetId] = `bad signature: ${(error as Error).message}`;
        }
      }
    });
    const coordinatorSignature = await chain.signReceipt(receipt);
    const settlement: JobSettlementView = {
      escrowJobId: terms.jobId,
      receipt: { ...receipt, roundsByDataset: [...receipt.roundsByDataset] },
      coordinatorSignature,
      siloSignatures,
      unsigned,
      txHash: null,
      paidWei: null,
      error: null,
      settledAt: new Date().toISOString(),
    };
    if (Object.keys(siloSignatures).length === 0) return { ...settlement, error: 'no silo signed the receipt' };
    try {
      const r = await chain.settleJob(terms.jobId, { receipt, coordinatorSignature, siloSignatures });
      ctx.log('job receipt settled', { job: job.id, escrow: terms.jobId, tx: r.txHash, paidWei: String(r.paidWei) });
      return { ...settlement, txHash: r.txHash, paidWei: String(r.paidWei) };
    } catch (error) {
      ctx.log('job receipt not settled', { job: job.id, escrow: terms.jobId, err: (error as Error).message });
      return { ...settlement, error: (error as Error).message.slice(0, 1024) };
    }
  }
}
