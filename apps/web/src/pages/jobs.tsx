// Jobs of the signed-in buyer, the live view of one job (WebSocket /progress) and its model's provenance.
import { useEffect, useState } from 'preact/hooks';
import {
  api,
  type JobRounds,
  type JobView,
  type ModelProvenanceView,
  type ModelRecord,
  type Progress,
} from '../api.js';
import { EPSILON_UNBOUNDED_MILLI } from '../../../../libs/protocol/src/epsilon.js';
import { formatTime, shortAddress } from '../format.js';
import { useApp } from '../state.js';
import { Card, ErrorMessage, LineChart, Loading, useLoad, usePolling } from '../ui.js';

export function NeedSession({ what }: { what: string }) {
  const app = useApp();
  return (
    <p>
      {what} need a signed-in session: your wallet signs a Sign-In with Ethereum message (no transaction, no gas).{' '}
      {app.account ? (
        <button type="button" onClick={() => void app.signIn()}>
          Sign in
        </button>
      ) : (
        <button type="button" onClick={() => void app.connect()}>
          Connect wallet
        </button>
      )}
    </p>
  );
}

export function JobTable({ jobs, caption = 'Jobs' }: { jobs: JobView[]; caption?: string }) {
  if (jobs.length === 0) return <p>No job yet.</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Buyer</th>
            <th scope="col">Datasets</th>
            <th scope="col">Strategy</th>
            <th scope="col">Progress</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.id}>
              <th scope="row">
                <a href={`#/jobs/${j.id}`}>
                  <code>{j.id.slice(0, 10)}…</code>
                </a>
              </th>
              <td>
                <code>{shortAddress(j.buyer)}</code>
              </td>
              <td>{j.request.datasets.map((d) => `#${d}`).join(', ')}</td>
              <td>{j.request.strategy}</td>
              <td class="num">
                {j.currentRound}/{j.rounds}
              </td>
              <td>
                <span class={`badge status-${j.status}`}>{j.status}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function JobsPage() {
  const app = useApp();
  const token = app.session?.token;
  const jobs = useLoad(async () => (token ? api<JobView[]>('/jobs', { token }) : null), [token]);
  // The list follows new and running jobs (a job's own page follows it over the /progress WebSocket).
  usePolling(jobs.reload, 3000, token !== undefined);
  const running = jobs.data?.filter((j) => j.status === 'pending' || j.status === 'running') ?? [];
  const finished = jobs.data?.filter((j) => j.status !== 'pending' && j.status !== 'running') ?? [];
  return (
    <>
      <h1>My jobs</h1>
      {!token ? <NeedSession what="Your jobs" /> : null}
      <ErrorMessage error={jobs.error} />
      {token && jobs.loading && !jobs.data ? <Loading what="jobs" /> : null}
      {jobs.data ? (
        <>
          <h2>Running</h2>
          {running.length ? <JobTable jobs={running} caption="Running jobs" /> : <p>No job is running.</p>}
          <h2>Finished</h2>
          {finished.length ? <JobTable jobs={finished} caption="Finished jobs" /> : <p>No finished job yet.</p>}
        </>
      ) : null}
      <p class="muted small">
        Submit a job from <a href="#/new-job">New job</a> or with <code>sealfold job create</code>; it appears here
        (this list refreshes every 3 s) and its page follows it live, round by round.
      </p>
    </>
  );
}

/** The live job: status and stage from /progress, finished rounds from /jobs/:id/rounds (refreshed per round). */
export function JobPage({ id }: { id: string }) {
  const app = useApp();
  const token = app.session?.token;
  const [progress, setProgress] = useState<Progress | null>(null);
  const [socketError, setSocketError] = useState<string | null>(null);
  const job = useLoad(async () => (token ? api<JobView>(`/jobs/${id}`, { token }) : null), [id, token]);
  const round = progress?.round ?? 0;
  const rounds = useLoad(
    async () => (token ? api<JobRounds>(`/jobs/${id}/rounds`, { token }) : null),
    [id, token, round, progress?.status],
  );

  useEffect(() => {
    if (!token) return;
    const url = new URL(`/progress?job=${encodeURIComponent(id)}`, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    // RFC 6750 §2.3: a browser WebSocket cannot set an Authorization header, so the token goes in the query.
    url.searchParams.set('access_token', token);
    const ws = new WebSocket(url);
    ws.onmessage = (ev) => {
      try {
        const p = JSON.parse(String(ev.data)) as Progress;
        if (p.type === 'progress') setProgress(p);
      } catch {
        // ignore a malformed message
      }
    };
    ws.onerror = () => setSocketError('Live updates are unavailable (the progress connection failed).');
    return () => ws.close();
  }, [id, token]);

  if (!token)
    return (
      <>
        <h1>Job</h1>
        <NeedSession what="Jobs" />
      </>
    );
  const j = job.data;
  const done = rounds.data?.rounds.filter((r) => r.status === 'completed') ?? [];
  const status = progress?.status ?? j?.status;
  // While it runs, the live stage's counts; once it ended, the last finished round's (the final message has none).
  const live = status === 'running';
  const last = done.at(-1);
  return (
    <>
      <h1>
        Job <code class="wrap">{id.slice(0, 16)}…</code>
      </h1>
      <ErrorMessage error={job.error} />
      {socketError ? <p class="error">{socketError}</p> : null}
      {job.loading && !j ? <Loading what="the job" /> : null}
      {j ? (
        <div class="grid">
          <Card title="Status">
            <dl aria-live="polite">
              <dt>Status</dt>
              <dd>
                <span class={`badge status-${status}`}>{status}</span>
              </dd>
              <dt>Round</dt>
              <dd>
                {progress?.round ?? j.currentRound} of {j.rounds}
              </dd>
              <dt>Stage</dt>
              <dd>{progress?.stage ?? '–'}</dd>
              <dt>Participants</dt>
              <dd>{live ? (progress?.participants ?? '–') : (last?.participants ?? '–')}</dd>
              <dt>Dropouts</dt>
              <dd>{live ? (progress?.dropouts ?? '–') : (last?.dropouts ?? '–')}</dd>
              <dt>Datasets</dt>
              <dd>{j.request.datasets.map((d) => `#${d}`).join(', ')}</dd>
              <dt>Strategy</dt>
              <dd>{j.request.strategy}</dd>
            </dl>
            {progress?.reason || j.reason ? (
              <p class="error">{progress?.reason ?? `${j.reasonCode}: ${j.reason}`}</p>
            ) : null}
            {status === 'completed' ? (
              <p>
                <a href={`#/models/${id}`}>Model and provenance</a>
              </p>
            ) : null}
          </Card>
          <Card title="Federated evaluation">
            <LineChart
              title="Accuracy and loss per round"
              xLabel="round"
              series={[
                {
                  name: 'accuracy',
                  points: done.flatMap((r) => (r.accuracy === null ? [] : [{ x: r.round, y: r.accuracy }])),
                },
                { name: 'loss', points: done.flatMap((r) => (r.loss === null ? [] : [{ x: r.round, y: r.loss }])) },
              ]}
            />
            {rounds.data?.rounds.length ? (
              <table>
                <caption>Rounds</caption>
                <thead>
                  <tr>
                    <th scope="col">Round</th>
                    <th scope="col">Status</th>
                    <th scope="col">Participants</th>
                    <th scope="col">Dropouts</th>
                    <th scope="col">Accuracy</th>
                    <th scope="col">Loss</th>
                  </tr>
                </thead>
                <tbody>
                  {rounds.data.rounds.map((r) => (
                    <tr key={r.round}>
                      <th scope="row">{r.round}</th>
                      <td>{r.status}</td>
                      <td class="num">{r.participants}</td>
                      <td class="num">{r.dropouts}</td>
                      <td class="num">{r.accuracy?.toFixed(4) ?? '–'}</td>
                      <td class="num">{r.loss?.toFixed(4) ?? '–'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
          </Card>
        </div>
      ) : null}
    </>
  );
}

export function ModelPage({ jobId }: { jobId: string }) {
  const app = useApp();
  const token = app.session?.token;
  const model = useLoad(async () => (token ? api<ModelRecord>(`/models/${jobId}`, { token }) : null), [jobId, token]);
  // Read on chain now by the coordinator (ModelRegistry.modelOf), not its database's word.
  const chain = useLoad(
    async () => (token ? api<ModelProvenanceView>(`/models/${jobId}/provenance`, { token }) : null),
    [jobId, token],
  );
  const m = model.data;
  const p = chain.data;
  const pullCommand = `sealfold model pull ${jobId} -o model/`;
  return (
    <>
      <h1>
        Model of job <code class="wrap">{jobId.slice(0, 16)}…</code>
      </h1>
      {!token ? <NeedSession what="Models" /> : null}
      <ErrorMessage error={model.error} />
      {token && model.loading && !m ? <Loading what="the model" /> : null}
      {m ? (
        <div class="grid">
          <Card title="Provenance on chain">
            <ErrorMessage error={chain.error} />
            {chain.loading && !p ? <Loading what="the ModelRegistry record" /> : null}
            {p ? (
              <>
                <p class={p.matchesDelivery ? 'success' : 'error'}>
                  {p.matchesDelivery
                    ? 'The chain’s record names the model delivered to you.'
                    : 'The chain’s record names another CID than the delivered model: do not trust this model.'}
                </p>
                <dl>
                  <dt>Datasets</dt>
                  <dd>
                    {p.datasetIds.map((d, i) => (
                      <span key={d}>
                        {i > 0 ? ', ' : ''}
                        <a href={`#/datasets/${d}`}>#{d}</a>
                      </span>
                    ))}
                  </dd>
                  <dt>Rounds</dt>
                  <dd>{p.rounds}</dd>
                  <dt>Privacy spent</dt>
                  <dd>
                    {p.epsilonSpentMilli >= EPSILON_UNBOUNDED_MILLI
                      ? 'no DP noise (ε unbounded)'
                      : `ε = ${p.epsilonSpentMilli / 1000}`}
                  </dd>
                  <dt>Model CID (IPFS)</dt>
                  <dd>
                    <code class="wrap">{p.modelCid}</code>
                  </dd>
                  <dt>Recorded</dt>
                  <dd>{formatTime(p.recordedAt)}</dd>
                  <dt>Recorded by</dt>
                  <dd>
                    <code class="wrap">{p.coordinator}</code>
                  </dd>
                  <dt>ModelRegistry</dt>
                  <dd>
                    <code class="wrap">{p.registry}</code> on chain {p.chainId}
                  </dd>
                </dl>
              </>
            ) : null}
          </Card>
          <Card title="Delivery">
            <dl>
              <dt>Encrypted model (IPFS)</dt>
              <dd>
                <code class="wrap">{m.cid}</code>
              </dd>
              <dt>SHA-256 of the ciphertext</dt>
              <dd>
                <code class="wrap">{m.sha256}</code>
              </dd>
              <dt>Size</dt>
              <dd>{m.bytes} bytes</dd>
              <dt>Sealed to</dt>
              <dd>
                <code class="wrap">{m.recipient}</code>
              </dd>
              <dt>ModelRegistry transaction</dt>
              <dd>{m.txHash ? <code class="wrap">{m.txHash}</code> : 'not recorded on chain'}</dd>
              <dt>Delivered</dt>
              <dd>{m.createdAt}</dd>
            </dl>
          </Card>
          <Card title="Download and load it">
            <p>
              The model is encrypted to your age key, which never enters this page. Download, check it against the
              chain’s record and decrypt it on your machine:
            </p>
            <pre>
              <code>{pullCommand}</code>
            </pre>
            <p>
              <code>model/</code> then holds a TensorFlow.js layers model (<code>model.json</code>,{' '}
              <code>weights.bin</code>) and its provenance (<code>sealfold.json</code>). Load it with:
            </p>
            <pre>
              <code>{`import * as tf from '@tensorflow/tfjs-node';\nconst model = await tf.loadLayersModel('file://model/model.json');`}</code>
            </pre>
            <p>
              It takes rows as the job encoded them (<code>encoding</code> in <code>sealfold.json</code>: standardised
              with the owners' global means and deviations, imputed, one-hot), not raw values.{' '}
              <code>sealfold model predict model rows.csv</code> applies that encoding to raw rows for you.
            </p>
          </Card>
        </div>
      ) : null}
    </>
  );
}
