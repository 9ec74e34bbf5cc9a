// Operator: the coordinator's identity and chain, connected silos, health, and (for operators) running jobs.
import { api, type JobView } from '../api.js';
import { shortAddress } from '../format.js';
import { useApp } from '../state.js';
import { Card, ErrorMessage, Loading, useLoad } from '../ui.js';
import { JobTable } from './jobs.js';

interface Health {
  status: string;
  checks?: Record<string, { status: string; detail?: string }>;
}

export function OperatorPage() {
  const app = useApp();
  const token = app.session?.token;
  const health = useLoad(() => api<Health>('/health').catch((e: unknown) => ({ status: 'down', error: e })), []);
  const jobs = useLoad(
    async () => (token && app.session?.operator ? api<JobView[]>('/jobs?status=running', { token }) : null),
    [token],
  );
  const info = app.info;
  return (
    <>
      <h1>Operator</h1>
      <div class="grid">
        <Card title="Coordinator">
          {info ? (
            <dl>
              <dt>Id</dt>
              <dd>
                <code class="wrap">{info.coordinatorId}</code>
              </dd>
              <dt>Chain</dt>
              <dd>{info.chainId ?? 'none configured'}</dd>
              <dt>Licence contract</dt>
              <dd>
                <code class="wrap">{info.domain?.verifyingContract ?? '–'}</code>
              </dd>
              <dt>Coordinator account</dt>
              <dd>
                <code class="wrap">{info.coordinatorAddress ?? '–'}</code>
              </dd>
              <dt>Health</dt>
              <dd>
                {health.data ? (
                  <span class={`badge ${health.data.status === 'ok' ? 'ok' : 'off'}`}>{health.data.status}</span>
                ) : (
                  '…'
                )}
              </dd>
            </dl>
          ) : (
            <Loading what="the coordinator" />
          )}
        </Card>
        <Card title="Connected silos">
          {info && info.silos.length === 0 ? <p>No silo is connected.</p> : null}
          {info && info.silos.length > 0 ? (
            <table>
              <caption class="visually-hidden">Connected silos</caption>
              <thead>
                <tr>
                  <th scope="col">Silo</th>
                  <th scope="col">Datasets</th>
                </tr>
              </thead>
              <tbody>
                {info.silos.map((s) => (
                  <tr key={s.address}>
                    <td>
                      <code title={s.address}>{shortAddress(s.address)}</code>
                    </td>
                    <td>{s.datasets.map((d) => `#${d}`).join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </Card>
      </div>
      <h2>Running jobs</h2>
      {!token ? <p>Sign in with an operator account to see every running job.</p> : null}
      {token && !app.session?.operator ? <p>Your account is not an operator of this coordinator.</p> : null}
      <ErrorMessage error={jobs.error} />
      {jobs.data ? <JobTable jobs={jobs.data} /> : null}
    </>
  );
}
