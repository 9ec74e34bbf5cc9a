// New job: pick licensed datasets, a model, strategy, rounds, training and DP settings; the wallet signs the JobRequest
// v2 (EIP-712, eth_signTypedData_v4) and the page POSTs it to /jobs. The signature is the authority: the coordinator
// and every silo check it; this page holds no key.
import { useState } from 'preact/hooks';
import { sha256, toUtf8Bytes } from 'ethers';
import {
  JOB_REQUEST_TYPES,
  SEALFOLD_DOMAIN_NAME,
  SEALFOLD_DOMAIN_VERSION,
} from '../../../../libs/chain/src/job-request-types.js';
import { canonicalJson } from '../../../../libs/protocol/src/canonical-json.js';
import {
  dpParamsFromFloats,
  jobRequestJsonSchema,
  jobRequestToJson,
  jobTraining,
} from '../../../../libs/protocol/src/job.js';
import { api, type DatasetView, type JobView, type LicenceView } from '../api.js';
import { licenceLabel } from '../format.js';
import { useApp } from '../state.js';
import { ErrorMessage, Loading, useLoad } from '../ui.js';
import { ensureChain, signTypedData } from '../wallet.js';
import { NeedSession } from './jobs.js';

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

/** A small MLP for the dataset's schema: one hidden ReLU layer, logits out (README "The model spec"). */
function mlpSpec(d: DatasetView, hidden: number) {
  return {
    inputShape: [inputWidth(d)],
    layers: [
      { type: 'dense', units: hidden, activation: 'relu' },
      { type: 'dense', units: d.classes?.length ?? 2 },
    ],
  };
}

/** The model spec hash a buyer signs: SHA-256 of the spec's canonical JSON (libs/fl modelSpecHash). */
const specHash = (spec: unknown) => sha256(toUtf8Bytes(canonicalJson(spec)));

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
  const [picked, setPicked] = useState<string[]>([]);
  const [form, setForm] = useState({
    hidden: '16',
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

  if (!app.session)
    return (
      <>
        <h1>New job</h1>
        <NeedSession what="New jobs" />
      </>
    );
  const chosen = (options.data ?? []).filter((o) => picked.includes(o.licence.id));
  const spec = chosen.length ? mlpSpec(chosen[0].dataset, Number(form.hidden)) : null;
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const info = app.info;
      if (!info?.domain || !info.chainId || !info.coordinatorAddress)
        throw new Error('This coordinator has no chain or no account to run jobs.');
      if (!spec) throw new Error('Pick at least one licensed dataset.');
      const first = chosen[0].dataset;
      const mismatch = chosen.find(
        (o) => inputWidth(o.dataset) !== inputWidth(first) || o.dataset.label !== first.label,
      );
      if (mismatch) throw new Error(`Dataset #${mismatch.dataset.id} has another schema than #${first.id}.`);
      // Every SecAgg+ sum needs at least minContributors owners: fewer datasets could never run (TOO_FEW_DATASETS).
      if (chosen.length < Number(form.minContributors))
        throw new Error(
          `Every sum needs at least ${form.minContributors} owners: pick at least ${form.minContributors} datasets.`,
        );
      await ensureChain(BigInt(info.chainId));
      const request = jobRequestToJson({
        buyer: app.account!,
        coordinator: info.coordinatorAddress,
        datasets: chosen.map((o) => BigInt(o.dataset.id)),
        licences: chosen.map((o) => BigInt(o.licence.id)),
        modelSpecHash: specHash(spec),
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
        nonce: randomNonce(),
        deadline: BigInt(Math.floor(Date.now() / 1000) + 3600),
        chainId: BigInt(info.chainId),
      });
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
      setBusy('Submitting…');
      const job = await api<JobView>('/jobs', { method: 'POST', body: { request, signature, modelSpec: spec } });
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
      {options.data && options.data.length === 0 ? (
        <p>
          You hold no active licence. <a href="#/">Buy one on the market</a>.
        </p>
      ) : null}
      {options.data && options.data.length > 0 ? (
        <form class="card form" onSubmit={(e) => void submit(e)}>
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
            <label>
              Hidden units (MLP)
              <input type="number" min="1" max="4096" value={form.hidden} onInput={set('hidden')} required />
            </label>
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
          {spec ? (
            <details>
              <summary>Model spec ({specHash(spec).slice(0, 18)}…)</summary>
              <pre>{JSON.stringify(spec, null, 2)}</pre>
            </details>
          ) : null}
          <p>
            <button type="submit" disabled={busy !== null}>
              Sign and submit
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
