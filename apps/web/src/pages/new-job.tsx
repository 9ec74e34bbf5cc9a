// New job: pick licensed datasets, a model, strategy, rounds, training and DP settings; the wallet signs the JobRequest
// v4 (EIP-712, eth_signTypedData_v4) and the page POSTs it to /jobs. The signature is the authority: the coordinator
// and every silo check it; this page holds no key. Datasets that charge a job rate make a paid job (job-escrow.tsx):
// the price is shown first, the escrow terms are signed, and JobEscrow.open locks the price before the job is sent.
import { useState } from 'preact/hooks';
import {
  JOB_REQUEST_TYPES,
  SEALFOLD_DOMAIN_NAME,
  SEALFOLD_DOMAIN_VERSION,
} from '../../../../libs/chain/src/job-request-types.js';
import { ACTIVATIONS, modelSpecHash, parseModelSpec } from '../../../../libs/fl/src/spec.js';
import {
  dpParamsFromFloats,
  jobRequestJsonSchema,
  jobRequestToJson,
  jobTraining,
  NO_ESCROW,
  type JobRequest,
} from '../../../../libs/protocol/src/job.js';
import { jobSchemaHash, withFeatureRanges } from '../../../../libs/protocol/src/job-schema.js';
import type { JobPlanView } from '../../../../libs/protocol/src/rest.js';
import { api, type DatasetView, type JobView, type LicenceView } from '../api.js';
import { formatEth, licenceLabel } from '../format.js';
import { UnindexedPurchaseNotes, useUnindexedPurchases } from '../recent-purchases.js';
import { useApp } from '../state.js';
import { describeError, ErrorMessage, Loading, useLoad } from '../ui.js';
import { balanceOf, ensureChain, signTypedData, WalletError } from '../wallet.js';
import { FeatureRangeInputs, numericFeatures, rangesToSign, type RangeInputs } from './feature-ranges.js';
import { NeedSession } from './jobs.js';
import {
  DEFAULT_WINDOWS,
  EscrowFieldset,
  escrowTermsNow,
  openEscrow,
  priceOf,
  readJobPricing,
  type EscrowWindows,
  type OpenedEscrow,
} from './job-escrow.js';

interface Option {
  licence: LicenceView;
  dataset: DatasetView;
}

/**
 * Input width of a table (libs/dataset encoding.ts featureLayout, from the public schema): numbers and booleans 1, a
 * date its parts (4 by default), a categorical column its levels (one-hot) or its hash buckets (16 by default); the
 * label, ignored and text columns none.
 */
function inputWidth(d: DatasetView): number {
  const schema = d.manifest?.schema;
  const cols = schema?.columns.filter((c) => c.name !== schema.label && c.type !== 'text' && c.role !== 'ignored');
  return (cols ?? []).reduce((n, c) => {
    if (c.type === 'date' || c.type === 'datetime') return n + (c.parts?.length ?? 4);
    if (c.type !== 'categorical') return n + 1;
    const hashed = c.encoding === 'hash' || (c.encoding === undefined && c.levels === undefined);
    return n + (hashed ? (c.buckets ?? 16) : (c.levels?.length ?? 1));
  }, 0);
}

/** A hidden dense layer of the builder. */
interface HiddenLayer {
  units: string;
  activation: string;
}

/** An MLP for the dataset's schema: the builder's hidden dense layers, then one logit per class (README "The model spec"). */
function mlpSpec(d: DatasetView, hidden: readonly HiddenLayer[]) {
  return {
    inputShape: [inputWidth(d)],
    layers: [
      ...hidden.map((l) => ({ type: 'dense', units: Number(l.units), activation: l.activation })),
      { type: 'dense', units: d.classes?.length ?? 2 },
    ],
  };
}

/**
 * The spec as libs/fl parseModelSpec validates it (the coordinator and every silo run the same rules), and fitting
 * the datasets: their input width in, one output per class. Returns the spec or the reason it cannot be used.
 */
function checkSpec(spec: unknown, d: DatasetView | undefined): { spec: unknown } | { problem: string } {
  let parsed;
  try {
    parsed = parseModelSpec(spec);
  } catch (err) {
    return { problem: err instanceof Error ? err.message : String(err) };
  }
  if (!d) return { spec };
  const width = inputWidth(d);
  if (parsed.spec.inputShape.length !== 1 || parsed.spec.inputShape[0] !== width)
    return { problem: `inputShape must be [${width}] for these datasets (their feature columns, one-hot)` };
  const classes = d.classes?.length ?? 2;
  const out = parsed.layout.outputShape;
  if (out.length !== 1 || out[0] !== classes)
    return { problem: `the model must end with ${classes} outputs (one per class), it ends with [${out.join(', ')}]` };
  return { spec };
}

function randomNonce(): bigint {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return BigInt(`0x${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`);
}

export function NewJobPage() {
  const app = useApp();
  const options = useLoad(async (): Promise<Option[] | null> => {
    if (!app.account) return null;
    const licences = await api<LicenceView[]>(`/licences?holder=${app.account}&active=true`);
    const datasets = await Promise.all(licences.map((l) => api<DatasetView>(`/datasets/${l.datasetId}`)));
    return licences.map((licence, i) => ({ licence, dataset: datasets[i] }));
  }, [app.account]);
  const unindexed = useUnindexedPurchases(options.data?.map((o) => o.licence.id) ?? null, options.reload);
  const [picked, setPicked] = useState<string[]>([]);
  const [hidden, setHidden] = useState<HiddenLayer[]>([{ units: '16', activation: 'relu' }]);
  const [custom, setCustom] = useState<string | null>(null);
  const [form, setForm] = useState({
    strategy: 'fedavg',
    rounds: '3',
    epochs: '1',
    batchSize: '32',
    learningRate: '0.01',
    noise: '0',
    minContributors: '3',
    recipient: '',
  });
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [ranges, setRanges] = useState<RangeInputs>({});
  // The job schema of the picked datasets, for the numeric features a range can be signed for (DP only).
  const pickedIds = (options.data ?? []).filter((o) => picked.includes(o.licence.id)).map((o) => o.dataset.id);
  const dpOn = Number(form.noise) > 0;
  const [windows, setWindows] = useState<EscrowWindows>(DEFAULT_WINDOWS);
  // The picked datasets' job rates, read on chain now: the price (and the escrow) a paid job needs, shown before signing.
  const pricing = useLoad(async () => {
    const info = app.info;
    if (!pickedIds.length || !info?.chainId || !app.account) return null;
    await ensureChain(BigInt(info.chainId));
    return readJobPricing(info, pickedIds.map(BigInt));
  }, [pickedIds.join(','), app.info?.chainId, app.account]);
  const shownPlan = useLoad(
    async () => (dpOn && pickedIds.length ? api<JobPlanView>(`/jobs/plan?datasets=${pickedIds.join(',')}`) : null),
    [dpOn, pickedIds.join(',')],
  );

  if (!app.session)
    return (
      <>
        <h1>New job</h1>
        <NeedSession what="New jobs" />
      </>
    );
  // While the rates of a changed pick are read, the last result is for other datasets: show no price, refusal or escrow
  // from it (seen: a price for two of three picked datasets, under load).
  const shownPricing = pricing.loading ? null : pricing.data;
  const chosen = (options.data ?? []).filter((o) => picked.includes(o.licence.id));
  const built = chosen.length ? mlpSpec(chosen[0].dataset, hidden) : null;
  // Custom JSON (when chosen) or the builder's layers, checked as the coordinator will.
  let parsedCustom: unknown = built;
  let jsonProblem: string | null = null;
  if (custom !== null) {
    try {
      parsedCustom = JSON.parse(custom);
    } catch (err) {
      jsonProblem = `not JSON: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  const checked = jsonProblem
    ? { problem: jsonProblem }
    : parsedCustom
      ? checkSpec(parsedCustom, chosen[0]?.dataset)
      : null;
  const spec = checked && 'spec' in checked ? (checked.spec as Record<string, unknown>) : null;
  const specProblem = checked && 'problem' in checked ? checked.problem : null;
  const setLayer = (i: number, k: keyof HiddenLayer) => (e: Event) =>
    setHidden(hidden.map((l, j) => (j === i ? { ...l, [k]: (e.target as HTMLInputElement).value } : l)));
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const info = app.info;
      if (!info?.domain || !info.chainId || !info.coordinatorAddress)
        throw new Error('This coordinator has no chain or no account to run jobs.');
      if (!chosen.length) throw new Error('Pick at least one licensed dataset.');
      if (!spec) throw new Error(`The model cannot be used: ${specProblem}.`);
      // The job schema across the owners (common features, the union of classes in one order): its hash is signed,
      // and the model must take its input width and give one logit per class of it.
      const plan = await api<JobPlanView>(`/jobs/plan?datasets=${chosen.map((o) => o.dataset.id).join(',')}`);
      const layout = parseModelSpec(spec).spec;
      const lastLayer = layout.layers[layout.layers.length - 1] as { units?: number };
      if (layout.inputShape.length !== 1 || layout.inputShape[0] !== plan.inputWidth)
        throw new Error(
          `The model takes ${layout.inputShape.join('×')} inputs; the job schema of these datasets has ${plan.inputWidth}.`,
        );
      if (lastLayer.units !== plan.schema.classes.length)
        throw new Error(
          `The model's last layer has ${String(lastLayer.units)} outputs; the job schema has ${plan.schema.classes.length} classes.`,
        );
      const planned = spec;
      // With DP, the signed ranges go into the schema whose hash is signed (`job create --feature-range`).
      const signedRanges = dpOn ? rangesToSign(ranges, numericFeatures(plan.schema)) : {};
      const jobSchema = Object.keys(signedRanges).length ? withFeatureRanges(plan.schema, signedRanges) : plan.schema;
      // Every SecAgg+ sum needs at least minContributors owners: fewer datasets could never run (TOO_FEW_DATASETS).
      if (chosen.length < Number(form.minContributors))
        throw new Error(
          `Every sum needs at least ${form.minContributors} owners: pick at least ${form.minContributors} datasets.`,
        );
      await ensureChain(BigInt(info.chainId));
      // Paid or free, read again now (an owner may have changed a rate): the price signed is the price shown.
      const rounds = Number(form.rounds);
      const fresh = await readJobPricing(
        info,
        chosen.map((o) => BigInt(o.dataset.id)),
      );
      if (fresh.kind === 'refused') throw new Error(`${fresh.problem} (${fresh.code}).`);
      let price: bigint | null = null;
      if (fresh.kind === 'paid') {
        price = priceOf(fresh, rounds);
        const shown = shownPricing?.kind === 'paid' ? priceOf(shownPricing, rounds) : null;
        if (shown !== price) {
          pricing.reload();
          throw new Error(
            `The price is now ${formatEth(price)}${shown === null ? '' : ` (it was ${formatEth(shown)})`}: an owner changed a job rate. Review it and submit again.`,
          );
        }
        if ((await balanceOf(app.account!)) < price)
          throw new WalletError('NO_FUNDS', `Not enough ETH: the job's escrow locks ${formatEth(price)} plus gas.`);
      }
      const escrow = fresh.kind === 'paid' ? await escrowTermsNow(windows, fresh.feeBps) : NO_ESCROW;
      const unsigned: JobRequest = {
        buyer: app.account!,
        coordinator: info.coordinatorAddress,
        datasets: chosen.map((o) => BigInt(o.dataset.id)),
        licences: chosen.map((o) => BigInt(o.licence.id)),
        modelSpecHash: modelSpecHash(planned),
        jobSchemaHash: jobSchemaHash(jobSchema),
        recipient: form.recipient.trim(),
        strategy: form.strategy,
        rounds: Number(form.rounds),
        training: jobTraining({
          localEpochs: Number(form.epochs),
          batchSize: Number(form.batchSize),
          learningRate: Number(form.learningRate),
          fedProxMu: form.strategy === 'fedprox' ? 0.01 : 0,
        }),
        // Record-level DP (DP-SGD in each silo) when noise is asked for: C = 1, δ = 1e-5, as `job create` defaults.
        dp: dpParamsFromFloats(
          Number(form.noise) > 0
            ? { noiseMultiplier: Number(form.noise), clipNorm: 1, delta: 1e-5, level: 'record' }
            : { noiseMultiplier: 0, clipNorm: 0, delta: 0, level: 'record' },
        ),
        secagg: { enabled: true, minContributors: Number(form.minContributors) },
        // JobRequest v4 escrow terms (issue 20): NO_ESCROW over free datasets; else what JobEscrow will pin.
        escrow,
        nonce: randomNonce(),
        deadline: BigInt(Math.floor(Date.now() / 1000) + 3600),
        chainId: BigInt(info.chainId),
      };
      const request = jobRequestToJson(unsigned);
      const valid = jobRequestJsonSchema.safeParse(request);
      if (!valid.success)
        throw new Error(
          `The request is not valid: ${valid.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      setBusy('Sign the job request in your wallet…');
      const signature = await signTypedData(app.account!, {
        types: {
          EIP712Domain: [
            { name: 'name', type: 'string' },
            { name: 'version', type: 'string' },
            { name: 'chainId', type: 'uint256' },
            { name: 'verifyingContract', type: 'address' },
          ],
          ...JOB_REQUEST_TYPES,
        },
        primaryType: 'JobRequest',
        domain: {
          name: SEALFOLD_DOMAIN_NAME,
          version: SEALFOLD_DOMAIN_VERSION,
          chainId: info.domain.chainId,
          verifyingContract: info.domain.verifyingContract,
        },
        message: request,
      });
      // A paid job: lock the price first (as `job create`); silos refuse the job until its escrow is open.
      let opened: OpenedEscrow | null = null;
      if (price !== null) opened = await openEscrow(info, app.account!, unsigned, price, setBusy);
      setBusy('Submitting…');
      let job: JobView;
      try {
        job = await api<JobView>('/jobs', {
          method: 'POST',
          body: { request, signature, modelSpec: planned, jobSchema },
        });
      } catch (err) {
        if (!opened) throw err;
        // The deposit is on chain: say where it is and how it comes back (refund once the windows are over).
        throw new Error(
          `Your escrow ${opened.jobId} holds ${formatEth(opened.locked)}, but the coordinator refused the job: ` +
            `${describeError(err)}. The deposit is refunded to you after the escrow's windows ` +
            '(`sealfold job escrow` shows it).',
          { cause: err },
        );
      }
      location.hash = `#/jobs/${job.id}`;
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <h1>New job</h1>
      <ErrorMessage error={options.error} />
      {options.loading && !options.data ? <Loading what="your licences" /> : null}
      <UnindexedPurchaseNotes {...unindexed} />
      {options.data && options.data.length === 0 && unindexed.waiting.length === 0 ? (
        <p>
          You hold no active licence. <a href="#/">Buy one on the market</a>.
        </p>
      ) : null}
      {options.data && options.data.length > 0 ? (
        <form
          class="card form"
          onSubmit={(e) => void submit(e)}
          // An error describes the form as it was submitted: editing any field clears it (the next submit re-checks).
          onInput={() => error !== null && setError(null)}
        >
          <fieldset>
            <legend>Datasets (one licence each)</legend>
            {options.data.map((o) => (
              <label key={o.licence.id} class="check">
                <input
                  type="checkbox"
                  checked={picked.includes(o.licence.id)}
                  onChange={(e) =>
                    setPicked(
                      (e.target as HTMLInputElement).checked
                        ? [...picked, o.licence.id]
                        : picked.filter((p) => p !== o.licence.id),
                    )
                  }
                />
                #{o.dataset.id} {o.dataset.name} — {o.dataset.rows} rows, {o.dataset.classes?.join(', ')} (licence{' '}
                {licenceLabel(o.licence.id)})
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>Model and training</legend>
            <fieldset class="model">
              <legend>Model</legend>
              <p class="choice">
                <label class="check">
                  <input type="radio" name="model-kind" checked={custom === null} onChange={() => setCustom(null)} />
                  Layer builder
                </label>
                <label class="check">
                  <input
                    type="radio"
                    name="model-kind"
                    checked={custom !== null}
                    onChange={() => setCustom(JSON.stringify(built ?? { inputShape: [4], layers: [] }, null, 2))}
                  />
                  Custom JSON
                </label>
              </p>
              {custom === null ? (
                <>
                  <ol class="layers">
                    {hidden.map((l, i) => (
                      <li key={i}>
                        <label>
                          Layer {i + 1} units
                          <input
                            type="number"
                            min="1"
                            max="4096"
                            value={l.units}
                            onInput={setLayer(i, 'units')}
                            required
                          />
                        </label>
                        <label>
                          Layer {i + 1} activation
                          <select value={l.activation} onChange={setLayer(i, 'activation')}>
                            {ACTIVATIONS.map((a) => (
                              <option key={a} value={a}>
                                {a}
                              </option>
                            ))}
                          </select>
                        </label>
                        <button
                          type="button"
                          class="secondary"
                          disabled={hidden.length === 1}
                          onClick={() => setHidden(hidden.filter((_, j) => j !== i))}
                        >
                          Remove layer {i + 1}
                        </button>
                      </li>
                    ))}
                  </ol>
                  <p>
                    <button
                      type="button"
                      class="secondary"
                      disabled={hidden.length >= 8}
                      onClick={() => setHidden([...hidden, { units: '16', activation: 'relu' }])}
                    >
                      Add a dense layer
                    </button>{' '}
                    <span class="muted small">The output layer (one logit per class) is added for you.</span>
                  </p>
                </>
              ) : (
                <label>
                  Model spec (JSON: inputShape and layers of dense, conv2d, maxPooling2d, flatten, dropout,
                  batchNormalization, activation)
                  <textarea
                    rows={12}
                    spellcheck={false}
                    value={custom}
                    onInput={(e) => setCustom((e.target as HTMLTextAreaElement).value)}
                    aria-invalid={specProblem !== null}
                    aria-describedby="spec-problem"
                  />
                </label>
              )}
              <p
                id="spec-problem"
                class={specProblem ? 'error' : 'muted small'}
                role={specProblem ? 'alert' : undefined}
              >
                {specProblem
                  ? `Model: ${specProblem}`
                  : spec
                    ? `Model checked: ${parseModelSpec(spec).layout.totalSize} parameters.`
                    : 'Pick a dataset to fit the model to it.'}
              </p>
            </fieldset>
            <label>
              Strategy
              <select value={form.strategy} onChange={set('strategy')}>
                <option value="fedavg">FedAvg</option>
                <option value="fedprox">FedProx (μ = 0.01)</option>
                <option value="fedadam">FedAdam</option>
              </select>
            </label>
            <label>
              Rounds
              <input type="number" min="1" max="100" value={form.rounds} onInput={set('rounds')} required />
            </label>
            <label>
              Local epochs
              <input type="number" min="1" max="1000" value={form.epochs} onInput={set('epochs')} required />
            </label>
            <label>
              Batch size
              <input type="number" min="1" max="65536" value={form.batchSize} onInput={set('batchSize')} required />
            </label>
            <label>
              Learning rate
              <input
                type="number"
                step="any"
                min="0"
                value={form.learningRate}
                onInput={set('learningRate')}
                required
              />
            </label>
          </fieldset>
          <fieldset>
            <legend>Privacy</legend>
            <label>
              DP noise multiplier (0 = none)
              <input type="number" step="any" min="0" value={form.noise} onInput={set('noise')} required />
            </label>
            {dpOn ? (
              <FeatureRangeInputs
                features={numericFeatures(shownPlan.data?.schema)}
                inputs={ranges}
                onChange={setRanges}
              />
            ) : null}
            <label>
              SecAgg+ minimum contributors
              <input type="number" min="3" value={form.minContributors} onInput={set('minContributors')} required />
            </label>
            <label>
              Your age recipient (the model is encrypted to it)
              <input
                type="text"
                value={form.recipient}
                onInput={set('recipient')}
                placeholder="age1…"
                autocomplete="off"
                spellcheck={false}
                required
              />
            </label>
          </fieldset>
          {pricing.error ? <ErrorMessage error={pricing.error} /> : null}
          {pricing.loading && pickedIds.length > 0 ? (
            <p role="status" class="muted">
              Reading the picked datasets' job rates on chain…
            </p>
          ) : null}
          {shownPricing?.kind === 'refused' ? (
            <p class="error" role="alert">
              {shownPricing.problem} ({shownPricing.code})
            </p>
          ) : null}
          {shownPricing?.kind === 'paid' ? (
            <EscrowFieldset
              pricing={shownPricing}
              rounds={Number(form.rounds)}
              windows={windows}
              onWindows={setWindows}
            />
          ) : null}
          {spec ? (
            <details>
              <summary>Model spec ({modelSpecHash(spec).slice(0, 18)}…)</summary>
              <pre>{JSON.stringify(spec, null, 2)}</pre>
            </details>
          ) : null}
          <p>
            <button type="submit" disabled={busy !== null || pricing.loading || shownPricing?.kind === 'refused'}>
              {shownPricing?.kind === 'paid' && Number.isInteger(Number(form.rounds)) && Number(form.rounds) >= 1
                ? `Sign, lock ${formatEth(priceOf(shownPricing, Number(form.rounds)))} and submit`
                : 'Sign and submit'}
            </button>
          </p>
          {busy ? (
            <p role="status" class="muted">
              {busy}
            </p>
          ) : null}
          <ErrorMessage error={error} />
        </form>
      ) : null}
    </>
  );
}
