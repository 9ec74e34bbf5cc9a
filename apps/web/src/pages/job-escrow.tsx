// A paid job from the web (issue 20), run as `sealfold job create` runs one: the datasets' job rates read on chain
// (DatasetNFT.jobTermsOf through the wallet), the price Σ rate × rows × rounds and the escrow windows shown before
// anything is signed, a mix of charging and free datasets refused (MIXED_JOB_RATES), the escrow terms signed in the
// JobRequest v4 (run deadline from the chain's clock, JobEscrow's fee), then JobEscrow.open locks the exact price
// through the wallet — before the request is submitted, since silos refuse a paid job until its escrow is open.
import { hashJobRequest, sealfoldDomain } from '../../../../libs/chain/src/eip712.js';
import { escrowHeaderOf, headerTuple, jobOrder } from '../../../../libs/chain/src/escrow.js';
import { errorCode } from '../../../../libs/protocol/src/errors.js';
import {
  DEFAULT_CONFIRM_WINDOW,
  DEFAULT_ESCROW_RUN_SECONDS,
  DEFAULT_FALLBACK_WINDOW,
  ZERO_ADDRESS,
  jobEscrowTerms,
  jobPrice,
  jobRateKind,
  type JobEscrowTerms,
  type JobRequest,
} from '../../../../libs/protocol/src/job.js';
import type { Info } from '../api.js';
import { formatEth, formatTime } from '../format.js';
import {
  WalletError,
  datasetInterface,
  escrowInterface,
  latestBlockTimestamp,
  readContract,
  sendTransaction,
  waitForReceipt,
} from '../wallet.js';

/** A dataset's job terms as DatasetNFT.jobTermsOf reads them now. */
export interface DatasetRate {
  id: bigint;
  /** Wei per row and round; 0 = the dataset charges no job rate. */
  rate: bigint;
  /** The rows the owner prices (JobEscrow pins them at open). */
  rows: bigint;
  currency: string;
}

/** What the picked datasets cost: free (licences alone), paid (all charge), or a mix that cannot be escrowed. */
export type JobPricing =
  | { kind: 'free' }
  | { kind: 'paid'; rates: DatasetRate[]; feeBps: number }
  | { kind: 'refused'; code: string; problem: string };

/**
 * The job rates of `ids` and JobEscrow's fee, read through the wallet's node; free on a deployment without JobEscrow
 * (its datasets take no job pay, as `job create` treats it).
 */
export async function readJobPricing(info: Info, ids: readonly bigint[]): Promise<JobPricing> {
  const escrow = info.contracts?.jobEscrow;
  if (!escrow || !info.contracts) return { kind: 'free' };
  const nft = info.contracts.datasetNFT;
  const rates = await Promise.all(
    ids.map(async (id): Promise<DatasetRate> => {
      const [t] = (await readContract(datasetInterface, nft, 'jobTermsOf', [id])) as unknown as [
        { ratePerRowRound: bigint; rows: bigint; currency: string },
      ];
      return { id, rate: t.ratePerRowRound, rows: t.rows, currency: t.currency };
    }),
  );
  try {
    if (jobRateKind(rates) === 'free') return { kind: 'free' };
  } catch (err) {
    return { kind: 'refused', code: errorCode(err) ?? 'MIXED_JOB_RATES', problem: (err as Error).message };
  }
  const token = rates.find((r) => r.currency.toLowerCase() !== ZERO_ADDRESS);
  if (token)
    return {
      kind: 'refused',
      code: 'NOT_ETH',
      problem: `dataset ${token.id} prices jobs in token ${token.currency}, not ETH: this page opens ETH escrows only`,
    };
  const [feeBps] = await readContract(escrowInterface, escrow, 'feeBps', []);
  return { kind: 'paid', rates, feeBps: Number(feeBps) };
}

/** The job's price: Σ rate × rows × rounds (libs/protocol jobPrice, as `job create` and the silos compute it). */
export const priceOf = (pricing: Extract<JobPricing, { kind: 'paid' }>, rounds: number): bigint =>
  jobPrice(pricing.rates, rounds);

/** The escrow windows as typed, in days. */
export interface EscrowWindows {
  runDays: string;
  confirmDays: string;
  fallbackDays: string;
}

/** `job create`'s defaults: run 1 day, coordinator window 1 day, fallback 2 days. */
export const DEFAULT_WINDOWS: EscrowWindows = {
  runDays: String(DEFAULT_ESCROW_RUN_SECONDS / 86_400),
  confirmDays: String(DEFAULT_CONFIRM_WINDOW / 86_400),
  fallbackDays: String(DEFAULT_FALLBACK_WINDOW / 86_400),
};

const seconds = (days: string) => Math.round(Number(days) * 86_400);

/**
 * The escrow terms to sign now: the run deadline the run time after the chain's latest block (the clock JobEscrow
 * and the silos measure it on), the windows given and JobEscrow's fee (libs/protocol jobEscrowTerms checks the
 * contract's bounds).
 */
export async function escrowTermsNow(windows: EscrowWindows, feeBps: number): Promise<JobEscrowTerms> {
  const now = await latestBlockTimestamp();
  try {
    return jobEscrowTerms({
      now,
      feeBps,
      runSeconds: seconds(windows.runDays),
      confirmWindow: seconds(windows.confirmDays),
      fallbackWindow: seconds(windows.fallbackDays),
    });
  } catch (err) {
    throw new Error(
      `The escrow windows cannot be used: ${(err as Error).message} (run time up to 90 days, each window 1 to 30 days).`,
      { cause: err },
    );
  }
}

export interface OpenedEscrow {
  /** JobEscrow's job id, keccak256(buyer, request digest). */
  jobId: string;
  locked: bigint;
  tx: string;
}

/**
 * JobEscrow.open for the signed `request`, through the wallet: its EIP-712 digest (libs/chain hashJobRequest, as
 * `job create`), the header it signs, its datasets in JobEscrow's order and `price` as the value. Waits for the
 * receipt; a rejection or a revert throws a WalletError and nothing further is sent.
 */
export async function openEscrow(
  info: Info,
  account: string,
  request: JobRequest,
  price: bigint,
  onBusy: (what: string) => void,
): Promise<OpenedEscrow> {
  if (!info.domain || !info.contracts?.jobEscrow) throw new Error('This coordinator names no JobEscrow contract.');
  const digest = hashJobRequest(sealfoldDomain(BigInt(info.domain.chainId), info.domain.verifyingContract), request);
  const pairs = jobOrder(request.datasets.map((datasetId, i) => ({ datasetId, licenceId: request.licences[i] })));
  const data = escrowInterface.encodeFunctionData('open', [
    digest,
    headerTuple(escrowHeaderOf(request)),
    pairs.map((p) => p.datasetId),
    pairs.map((p) => p.licenceId),
    price,
  ]);
  onBusy(`Confirm the escrow deposit of ${formatEth(price)} in your wallet…`);
  const tx = await sendTransaction(
    { from: account, to: info.contracts.jobEscrow, data, value: price },
    'escrow deposit',
  );
  onBusy('Waiting for the escrow deposit to be mined…');
  const receipt = await waitForReceipt(tx);
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== info.contracts.jobEscrow.toLowerCase()) continue;
    const parsed = escrowInterface.parseLog(log);
    if (parsed?.name === 'JobOpened') return { jobId: String(parsed.args.jobId), locked: parsed.args.locked, tx };
  }
  throw new WalletError('WALLET_ERROR', `Transaction ${tx} was mined but opened no escrow (no JobOpened event).`);
}

/** The price and the escrow windows, shown before anything is signed (paid jobs only). */
export function EscrowFieldset(props: {
  pricing: Extract<JobPricing, { kind: 'paid' }>;
  rounds: number;
  windows: EscrowWindows;
  onWindows: (w: EscrowWindows) => void;
}) {
  const { pricing, rounds, windows } = props;
  const set = (k: keyof EscrowWindows) => (e: Event) =>
    props.onWindows({ ...windows, [k]: (e.target as HTMLInputElement).value });
  const roundsOk = Number.isInteger(rounds) && rounds >= 1;
  const price = roundsOk ? priceOf(pricing, rounds) : null;
  const runEnds = Date.now() / 1000 + seconds(windows.runDays);
  return (
    <fieldset class="escrow">
      <legend>Price and escrow</legend>
      <table aria-label="Job price per dataset">
        <thead>
          <tr>
            <th scope="col">Dataset</th>
            <th scope="col">Rate (wei per row per round)</th>
            <th scope="col">Rows (as the owner prices them)</th>
            <th scope="col">Rounds</th>
            <th scope="col">Subtotal</th>
          </tr>
        </thead>
        <tbody>
          {pricing.rates.map((r) => (
            <tr key={String(r.id)}>
              <td>#{String(r.id)}</td>
              <td>{String(r.rate)}</td>
              <td>{String(r.rows)}</td>
              <td>{roundsOk ? rounds : '—'}</td>
              <td>{roundsOk ? formatEth(jobPrice([r], rounds)) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="price" role="status" aria-live="polite">
        {price === null ? (
          'Set the rounds to see the price.'
        ) : (
          <>
            Price: <strong data-testid="job-price">{formatEth(price)}</strong>{' '}
            <span class="muted small" data-testid="job-price-wei">
              ({String(price)} wei)
            </span>
          </>
        )}
      </p>
      <p class="muted small">
        Submitting locks this price in JobEscrow before the job is offered (your wallet asks you to confirm the
        deposit). Each owner is paid rate × rows × the rounds its silo contributed, once the receipt is confirmed;{' '}
        {pricing.feeBps === 0
          ? 'JobEscrow takes no fee.'
          : `JobEscrow keeps a fee of ${pricing.feeBps / 100} % of each payment.`}{' '}
        What is not paid comes back to you after the windows.
      </p>
      <label>
        Run time (days; the job must end by then)
        <input type="number" step="any" min="0" max="90" value={windows.runDays} onInput={set('runDays')} required />
      </label>
      <label>
        Coordinator confirm window (days, 1–30)
        <input
          type="number"
          step="any"
          min="1"
          max="30"
          value={windows.confirmDays}
          onInput={set('confirmDays')}
          required
        />
      </label>
      <label>
        Fallback window (days, 1–30; silos settle without the coordinator)
        <input
          type="number"
          step="any"
          min="1"
          max="30"
          value={windows.fallbackDays}
          onInput={set('fallbackDays')}
          required
        />
      </label>
      <p class="muted small">
        Run deadline about {Number.isFinite(runEnds) ? formatTime(Math.floor(runEnds)) : '—'} (set from the chain’s
        clock when you sign); refundable after another {Number(windows.confirmDays) + Number(windows.fallbackDays)}{' '}
        days.
      </p>
    </fieldset>
  );
}
