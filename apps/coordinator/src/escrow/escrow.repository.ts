// JobEscrow and ModelAsset events (issue 20) indexed into the coordinator's database: what lists need (an owner's
// payments per job, a model's licence sales, royalties claimed). Every write is keyed by the event's identity, so a
// batch delivered twice (the indexer is at-least-once) changes nothing.
import { Inject, Injectable } from '@nestjs/common';
import type { ChainCursor, EscrowEvent } from '../chain/chain.port.js';
import { CoordinatorDatabase } from '../database/database.js';
import { indexCursor } from '../database/index-cursor.js';
import type { SqlExecutor } from '../database/sql.js';

export interface IndexedPayment {
  jobId: string;
  datasetId: string;
  payee: string;
  rounds: number;
  /** Wei before the fee (decimal). */
  amount: string;
  fee: string;
  txHash: string;
  blockNumber: number;
  /** The job's model was registered (ModelAsset; its id is the job id). */
  modelRegistered: boolean;
}

export interface IndexedClaim {
  modelId: string;
  datasetId: string;
  account: string;
  amount: string;
  txHash: string;
  blockNumber: number;
}

export interface IndexedSale {
  modelId: string;
  buyer: string;
  owner: string;
  price: string;
  fee: string;
  upstream: string;
  txHash: string;
  blockNumber: number;
}

export interface IndexedModel {
  modelId: string;
  registeredTo: string;
  stackMicros: number;
  parentCount: number;
  blockNumber: number;
}

/** The cursor the escrow indexer moves (apart from the dataset indexer's: it starts at the deployment block). */
export const ESCROW_CURSOR = 'escrow';

async function record(tx: SqlExecutor, e: EscrowEvent): Promise<void> {
  const block = Number(e.blockNumber);
  switch (e.kind) {
    case 'JobOpened':
      await tx.run(
        `INSERT INTO escrow_jobs (job_id, buyer, request_digest, terms_hash, locked, run_deadline, block_number)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING`,
        e.jobId,
        e.buyer,
        e.requestDigest,
        e.termsHash,
        e.locked.toString(),
        Number(e.runDeadline),
        block,
      );
      return;
    case 'ContributionPaid':
      await tx.run(
        `INSERT INTO escrow_payments (job_id, dataset_id, payee, rounds, amount, fee, tx_hash, block_number)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id, dataset_id) DO NOTHING`,
        e.jobId,
        e.datasetId.toString(),
        e.payee,
        e.rounds,
        e.amount.toString(),
        e.fee.toString(),
        e.txHash,
        block,
      );
      return;
    case 'JobRefunded':
      await tx.run('UPDATE escrow_jobs SET refunded = ? WHERE job_id = ?', e.amount.toString(), e.jobId);
      return;
    case 'ModelRegistered':
      await tx.run(
        `INSERT INTO model_assets (model_id, registered_to, receipt_digest, parents_root, stack_micros, parent_count,
           block_number) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (model_id) DO NOTHING`,
        e.modelId,
        e.owner,
        e.receiptDigest,
        e.parentsRoot,
        e.stackMicros,
        e.parentCount,
        block,
      );
      return;
    case 'ModelLicenceSold':
      await tx.run(
        `INSERT INTO model_licence_sales (tx_hash, log_index, model_id, buyer, owner, price, fee, upstream, block_number)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tx_hash, log_index) DO NOTHING`,
        e.txHash,
        e.logIndex,
        e.modelId,
        e.buyer,
        e.owner,
        e.price.toString(),
        e.fee.toString(),
        e.upstream.toString(),
        block,
      );
      return;
    case 'UpstreamClaimed':
      await tx.run(
        `INSERT INTO upstream_claims (tx_hash, log_index, model_id, dataset_id, account, amount, block_number)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tx_hash, log_index) DO NOTHING`,
        e.txHash,
        e.logIndex,
        e.modelId,
        e.datasetId.toString(),
        e.account,
        e.amount.toString(),
        block,
      );
      return;
  }
}

@Injectable()
export class EscrowRepository {
  constructor(@Inject(CoordinatorDatabase) private readonly db: CoordinatorDatabase) {}

  cursor(): ChainCursor {
    return indexCursor(this.db, ESCROW_CURSOR);
  }

  /** Records a batch of events in chain order, atomically (all or none). */
  async record(events: readonly EscrowEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const e of events) await record(tx, e);
    });
  }

  /** The next block the escrow indexer reads (undefined before its first pass). */
  async indexedTo(): Promise<bigint | undefined> {
    return this.cursor().load();
  }

  /** Payments to `payee` (any case), oldest first. */
  async paymentsTo(payee: string): Promise<IndexedPayment[]> {
    const rows = await this.db.all<{
      job_id: string;
      dataset_id: string;
      payee: string;
      rounds: number;
      amount: string;
      fee: string;
      tx_hash: string;
      block_number: number;
      model_id: string | null;
    }>(
      `SELECT p.*, m.model_id FROM escrow_payments p LEFT JOIN model_assets m ON m.model_id = p.job_id
        WHERE lower(p.payee) = ? ORDER BY p.block_number, p.job_id, p.dataset_id`,
      payee.toLowerCase(),
    );
    return rows.map((r) => ({
      jobId: r.job_id,
      datasetId: r.dataset_id,
      payee: r.payee,
      rounds: Number(r.rounds),
      amount: r.amount,
      fee: r.fee,
      txHash: r.tx_hash,
      blockNumber: Number(r.block_number),
      modelRegistered: r.model_id !== null,
    }));
  }

  /** Royalties claimed for `account` (any case) from models' upstream pots, oldest first. */
  async claimsFor(account: string): Promise<IndexedClaim[]> {
    const rows = await this.db.all<{
      model_id: string;
      dataset_id: string;
      account: string;
      amount: string;
      tx_hash: string;
      block_number: number;
    }>(
      `SELECT * FROM upstream_claims WHERE lower(account) = ? ORDER BY block_number, log_index`,
      account.toLowerCase(),
    );
    return rows.map((r) => ({
      modelId: r.model_id,
      datasetId: r.dataset_id,
      account: r.account,
      amount: r.amount,
      txHash: r.tx_hash,
      blockNumber: Number(r.block_number),
    }));
  }

  /** Licence sales of a model, oldest first. */
  async salesOf(modelId: string): Promise<IndexedSale[]> {
    const rows = await this.db.all<{
      model_id: string;
      buyer: string;
      owner: string;
      price: string;
      fee: string;
      upstream: string;
      tx_hash: string;
      block_number: number;
    }>('SELECT * FROM model_licence_sales WHERE model_id = ? ORDER BY block_number, log_index', modelId);
    return rows.map((r) => ({
      modelId: r.model_id,
      buyer: r.buyer,
      owner: r.owner,
      price: r.price,
      fee: r.fee,
      upstream: r.upstream,
      txHash: r.tx_hash,
      blockNumber: Number(r.block_number),
    }));
  }

  /** Registered models, newest first. */
  async models(): Promise<IndexedModel[]> {
    const rows = await this.db.all<{
      model_id: string;
      registered_to: string;
      stack_micros: number;
      parent_count: number;
      block_number: number;
    }>('SELECT * FROM model_assets ORDER BY block_number DESC, model_id');
    return rows.map((r) => ({
      modelId: r.model_id,
      registeredTo: r.registered_to,
      stackMicros: Number(r.stack_micros),
      parentCount: Number(r.parent_count),
      blockNumber: Number(r.block_number),
    }));
  }
}
