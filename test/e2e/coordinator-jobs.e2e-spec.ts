// Job admission against a real embedded chain: every rejection answers 4xx with a machine-readable reason and
// schedules nothing; an accepted job survives a coordinator restart; only the buyer can cancel.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SealfoldChain } from '@sealfold/chain';
import { X25519Identity } from '@sealfold/crypto';
import { jobCancelMessage } from '@sealfold/protocol';
import { Wallet } from 'ethers';
import { startCoordinator, type RunningCoordinator } from '../../apps/coordinator/src/bootstrap.js';
import { loadConfig } from '../../apps/coordinator/src/config/config.js';
import { CoordinatorDatabase } from '../../apps/coordinator/src/database/database.js';
import { JobEvents } from '../../apps/coordinator/src/jobs/job-events.js';
import {
  cidOf,
  commitmentOf,
  coordinatorAddressOf,
  jobRequest,
  TEST_RECIPIENT,
  signedBody,
  startChainFixture,
  type ChainFixture,
} from './helpers/chain-fixture.js';
import { authed, signIn } from './helpers/session.js';

// An attacker's own age X25519 recipient.
const ATTACKER_RECIPIENT = X25519Identity.generate().recipient.toString();

describe('job admission (real EDR chain)', () => {
  let dir: string;
  let fixture: ChainFixture;
  let coordinator: RunningCoordinator;
  let owner: SealfoldChain;
  let buyerClient: SealfoldChain;
  let buyer: Wallet;
  let stranger: Wallet;
  let datasetId: bigint;
  let licenceId: bigint;
  const extraDatasets: bigint[] = [];
  const extraLicences: bigint[] = [];
  let scheduled: string[];
  let acceptedId: string;
  /** Reads as an operator (SEALFOLD_OPERATORS), who sees every buyer's jobs. */
  let read: (url: string) => Promise<Response>;
  const operator = Wallet.createRandom();
  let acceptedBody: unknown;
  /** This coordinator's chain account, which every request names. */
  let coord: string;

  const config = () =>
    loadConfig({
      SEALFOLD_PORT: '0',
      SEALFOLD_DATA_DIR: join(dir, 'coordinator'),
      SEALFOLD_CHAIN_RPC: fixture.chain.rpcUrl,
      SEALFOLD_CONTRACTS: fixture.deploymentPath,
      SEALFOLD_LOG_LEVEL: 'silent',
      SEALFOLD_OPERATORS: operator.address,
    });
  const start = async () => {
    coordinator = await startCoordinator(config(), { logDestination: new PassThrough() });
    scheduled = [];
    coordinator.app.get(JobEvents).on('scheduled', (id) => scheduled.push(id));
  };
  const post = (body: unknown) =>
    fetch(`${coordinator.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const jobCount = async () => ((await (await read(`${coordinator.url}/jobs`)).json()) as unknown[]).length;

  async function expectRejected(
    body: unknown,
    status: number,
    code: string,
  ): Promise<{ message: string; details?: unknown }> {
    const before = await jobCount();
    const res = await post(body);
    const json = (await res.json()) as { statusCode: number; code: string; message: string; details?: unknown };
    expect({ status: res.status, code: json.code }).toEqual({ status, code });
    expect(json.message.length).toBeGreaterThan(0);
    expect(await jobCount()).toBe(before);
    expect(scheduled).toEqual([]);
    return json;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sealfold-jobs-'));
    fixture = await startChainFixture(join(dir, 'chain-data'));
    owner = await fixture.client(1);
    buyerClient = await fixture.client(2);
    buyer = new Wallet(fixture.chain.accounts[2].privateKey);
    stranger = new Wallet(fixture.chain.accounts[3].privateKey);
    ({ datasetId } = await owner.registerDataset({
      manifestCid: cidOf('jobs-manifest'),
      commitment: commitmentOf('jobs'),
      terms: { priceWei: 1000n, licenceDuration: 0n },
    }));
    ({ licenceId } = await buyerClient.purchaseLicence(datasetId));
    // A job needs at least secagg.minContributors (3) datasets: two more, licensed, beside the one the tests vary.
    for (const name of ['jobs-b', 'jobs-c']) {
      const other = await owner.registerDataset({
        manifestCid: cidOf(`${name}-manifest`),
        commitment: commitmentOf(name),
        terms: { priceWei: 1000n, licenceDuration: 0n },
      });
      extraDatasets.push(other.datasetId);
      extraLicences.push((await buyerClient.purchaseLicence(other.datasetId)).licenceId);
    }
    await start();
    read = authed(await signIn(coordinator.url, operator));
    coord = await coordinatorAddressOf(coordinator.url);
  });

  afterAll(async () => {
    await coordinator?.close();
    await fixture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('rejects a malformed body with 400 naming the field', async () => {
    const json = await expectRejected({ request: {}, signature: '0x00', modelSpec: {} }, 400, 'INVALID_BODY');
    expect(json.message).toMatch(/^signature: /);
    const req = jobRequest(buyer.address, {
      coordinator: coord,
      datasets: [datasetId, ...extraDatasets],
      licences: [licenceId, ...extraLicences],
    });
    const body = await signedBody(buyerClient, buyer, req);
    await expectRejected({ ...body, request: { ...body.request, rounds: 0 } }, 400, 'INVALID_JOB_REQUEST');
    // The recipient is inside the signed request now: a separate one is an unknown body field.
    await expectRejected({ ...body, recipient: TEST_RECIPIENT }, 400, 'INVALID_BODY');
    await expectRejected({ ...body, request: { ...body.request, recipient: 'age1nope' } }, 400, 'INVALID_JOB_REQUEST');
    // Well-formed Bech32 characters but a bad checksum, and a hybrid recipient the model cannot be sealed to yet.
    for (const recipient of ['age1' + 'q'.repeat(58), 'age1pq1' + 'q'.repeat(1900)])
      await expectRejected({ ...body, request: { ...body.request, recipient } }, 400, 'UNSUPPORTED_RECIPIENT');
    await expectRejected(
      { ...body, request: { ...body.request, secagg: { enabled: true, minContributors: 0 } } },
      400,
      'INVALID_JOB_REQUEST',
    );
    await expectRejected(
      { ...body, modelSpec: { inputShape: [5], layers: [{ type: 'dense', units: 3 }] } },
      400,
      'MODEL_SPEC_MISMATCH',
    );
    await expectRejected({ ...body, modelSpec: { layers: [] } }, 400, 'INVALID_MODEL_SPEC');
  });

  it('refuses a job naming fewer datasets than its secagg.minContributors (it could never run a round) with 400', async () => {
    for (const [datasets, licences, minContributors] of [
      [[datasetId], [licenceId], 3],
      [[datasetId, extraDatasets[0]], [licenceId, extraLicences[0]], 3],
      [[datasetId, ...extraDatasets], [licenceId, ...extraLicences], 4],
    ] as const) {
      const req = jobRequest(buyer.address, {
        coordinator: coord,
        datasets,
        licences,
        secagg: { enabled: true, minContributors },
        nonce: 50n + BigInt(datasets.length),
      });
      const json = await expectRejected(await signedBody(buyerClient, buyer, req), 400, 'TOO_FEW_DATASETS');
      expect(json.message).toContain(`at least ${minContributors} datasets`);
    }
  });

  it('rejects a forged signature (signed by someone other than the buyer) with 401', async () => {
    const req = jobRequest(buyer.address, {
      coordinator: coord,
      datasets: [datasetId, ...extraDatasets],
      licences: [licenceId, ...extraLicences],
      nonce: 100n,
    });
    const json = await expectRejected(await signedBody(buyerClient, stranger, req), 401, 'SIGNATURE_MISMATCH');
    expect(json.message).toContain(stranger.address);
  });

  it('refuses a third party that front-runs the buyer’s signature with its own recipient or training (401): the model only goes to the buyer’s recipient', async () => {
    const req = jobRequest(buyer.address, {
      coordinator: coord,
      datasets: [datasetId, ...extraDatasets],
      licences: [licenceId, ...extraLicences],
      nonce: 200n,
    });
    const body = await signedBody(buyerClient, buyer, req);
    // Before JobRequest v2 the recipient and the training settings sat beside the signature: this was 201 and the
    // model would have been encrypted to the attacker, the buyer's own submission then answered 409.
    await expectRejected(
      { ...body, request: { ...body.request, recipient: ATTACKER_RECIPIENT } },
      401,
      'SIGNATURE_MISMATCH',
    );
    for (const training of [
      { ...body.request.training, learningRateMicro: '9000000' },
      { ...body.request.training, localEpochs: 1000 },
      { ...body.request.training, optimizer: 'sgd' as const },
      { ...body.request.training, updateClipMicro: '1000000000000' },
      { ...body.request.training, maxWeight: 1 },
    ])
      await expectRejected({ ...body, request: { ...body.request, training } }, 401, 'SIGNATURE_MISMATCH');
    await expectRejected(
      { ...body, request: { ...body.request, secagg: { enabled: false, minContributors: 3 } } },
      401,
      'SIGNATURE_MISMATCH',
    );
    // The buyer's submission still goes through, with the buyer's recipient...
    const res = await post(body);
    const job = (await res.json()) as { id: string; recipient: string; request: { recipient: string } };
    expect(res.status).toBe(201);
    expect(job.recipient).toBe(TEST_RECIPIENT);
    expect(job.request.recipient).toBe(TEST_RECIPIENT);
    scheduled = [];
    // ...and whoever submits the same signed request again gets the same job id: a duplicate, not a second job.
    const again = await expectRejected(body, 409, 'JOB_EXISTS');
    expect(again.message).toContain(job.id);
    const cancel = await fetch(`${coordinator.url}/jobs/${job.id}`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ signature: await buyer.signMessage(jobCancelMessage(job.id)) }),
    });
    expect(cancel.status).toBe(200);
  });

  it('refuses a request that names another coordinator (400 WRONG_COORDINATOR)', async () => {
    const req = jobRequest(buyer.address, {
      coordinator: stranger.address,
      datasets: [datasetId, ...extraDatasets],
      licences: [licenceId, ...extraLicences],
      nonce: 201n,
    });
    const json = await expectRejected(await signedBody(buyerClient, buyer, req), 400, 'WRONG_COORDINATOR');
    expect(json.message).toContain(coord);
  });

  it('rejects a request whose fields were changed after signing with 401', async () => {
    const req = jobRequest(buyer.address, {
      coordinator: coord,
      datasets: [datasetId, ...extraDatasets],
      licences: [licenceId, ...extraLicences],
      nonce: 101n,
    });
    const body = await signedBody(buyerClient, buyer, req);
    await expectRejected({ ...body, request: { ...body.request, rounds: 50 } }, 401, 'SIGNATURE_MISMATCH');
  });

  it('rejects a request for another chain id with 400', async () => {
    const req = jobRequest(buyer.address, {
      coordinator: coord,
      datasets: [datasetId, ...extraDatasets],
      licences: [licenceId, ...extraLicences],
      chainId: 1n,
      nonce: 102n,
    });
    await expectRejected(await signedBody(buyerClient, buyer, req, 1n), 400, 'WRONG_CHAIN_ID');
  });

  it('rejects an expired request with 400', async () => {
    const req = jobRequest(buyer.address, {
      coordinator: coord,
      datasets: [datasetId, ...extraDatasets],
      licences: [licenceId, ...extraLicences],
      nonce: 103n,
      deadline: BigInt(Math.floor(Date.now() / 1000) - 60),
    });
    await expectRejected(await signedBody(buyerClient, buyer, req), 400, 'REQUEST_EXPIRED');
  });

  it('rejects a buyer without a licence with 403 NO_LICENCE / LICENCE_NOT_HOLDER', async () => {
    const strangerClient = await fixture.client(3);
    const req = jobRequest(stranger.address, {
      coordinator: coord,
      datasets: [datasetId, ...extraDatasets],
      licences: [licenceId, ...extraLicences],
      nonce: 1n,
    });
    const json = await expectRejected(await signedBody(strangerClient, stranger, req), 403, 'LICENCE_NOT_HOLDER');
    // One detail per dataset: the stranger holds none of the buyer's licences.
    expect(json.details).toEqual(
      [datasetId, ...extraDatasets].map((id, i) =>
        expect.objectContaining({
          datasetId: id.toString(),
          licenceId: [licenceId, ...extraLicences][i].toString(),
          code: 'LICENCE_NOT_HOLDER',
        }),
      ),
    );
    const none = jobRequest(stranger.address, {
      coordinator: coord,
      datasets: [datasetId, ...extraDatasets],
      licences: [999n, ...extraLicences],
      nonce: 2n,
    });
    await expectRejected(await signedBody(strangerClient, stranger, none), 403, 'NO_LICENCE');
  });

  it('rejects a revoked licence with 403 LICENCE_REVOKED', async () => {
    const { licenceId: revoked } = await buyerClient.purchaseLicence(datasetId);
    await owner.revokeLicence(revoked, 'terms breached');
    const req = jobRequest(buyer.address, {
      coordinator: coord,
      datasets: [datasetId, ...extraDatasets],
      licences: [revoked, ...extraLicences],
      nonce: 104n,
    });
    await expectRejected(await signedBody(buyerClient, buyer, req), 403, 'LICENCE_REVOKED');
  });

  it('rejects an expired licence with 403 LICENCE_EXPIRED', async () => {
    const { licenceId: shortLived } = await owner.grantLicence(datasetId, buyer.address, {
      duration: 60n,
      maxJobs: 1,
      epsilonBudgetMilli: 1000,
    });
    await fixture.chain.request('evm_increaseTime', [120]);
    await fixture.chain.request('evm_mine', []);
    const req = jobRequest(buyer.address, {
      coordinator: coord,
      datasets: [datasetId, ...extraDatasets],
      licences: [shortLived, ...extraLicences],
      nonce: 105n,
    });
    await expectRejected(await signedBody(buyerClient, buyer, req), 403, 'LICENCE_EXPIRED');
  });

  it('accepts a licensed, correctly signed request: 201 pending, scheduled once', async () => {
    const req = jobRequest(buyer.address, {
      coordinator: coord,
      datasets: [datasetId, ...extraDatasets],
      licences: [licenceId, ...extraLicences],
      nonce: 7n,
    });
    acceptedBody = await signedBody(buyerClient, buyer, req);
    const res = await post(acceptedBody);
    const job = (await res.json()) as { id: string; status: string; buyer: string; request: { nonce: string } };
    expect(res.status).toBe(201);
    expect(job).toMatchObject({ status: 'pending', buyer: buyer.address, request: { nonce: '7' } });
    expect(job.id).toMatch(/^[0-9a-f]{64}$/);
    expect(scheduled).toEqual([job.id]);
    acceptedId = job.id;
    scheduled = [];
    const got = (await (await read(`${coordinator.url}/jobs/${job.id}`)).json()) as { id: string };
    expect(got.id).toBe(job.id);
  });

  it('rejects the same signed request again as the same job (409 JOB_EXISTS), and a replayed nonce with other fields', async () => {
    await expectRejected(acceptedBody, 409, 'JOB_EXISTS');
    const other = jobRequest(buyer.address, {
      coordinator: coord,
      datasets: [datasetId, ...extraDatasets],
      licences: [licenceId, ...extraLicences],
      nonce: 7n,
      rounds: 9,
    });
    await expectRejected(await signedBody(buyerClient, buyer, other), 409, 'NONCE_REPLAYED');
  });

  it('keeps jobs across a restart; the migrations are not applied twice', async () => {
    await coordinator.close();
    const again = await CoordinatorDatabase.open(join(dir, 'coordinator', 'coordinator.db'));
    expect(again.applied).toEqual([]);
    await again.db.close();
    await start();
    // The read session is in the database too: the same token still works after the restart.
    const job = (await (await read(`${coordinator.url}/jobs/${acceptedId}`)).json()) as { id: string; status: string };
    expect(job.id).toBe(acceptedId);
  });

  it('lets only the buyer cancel (EIP-191 over jobCancelMessage)', async () => {
    const del = (signature: string) =>
      fetch(`${coordinator.url}/jobs/${acceptedId}`, {
        method: 'DELETE',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ signature }),
      });
    const notBuyer = await del(await stranger.signMessage(jobCancelMessage(acceptedId)));
    expect(notBuyer.status).toBe(403);
    expect(((await notBuyer.json()) as { code: string }).code).toBe('NOT_BUYER');
    const wrongJob = await del(await buyer.signMessage(jobCancelMessage('0'.repeat(64))));
    expect(wrongJob.status).toBe(403);
    const ok = await del(await buyer.signMessage(jobCancelMessage(acceptedId)));
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { status: string }).status).toBe('cancelled');
    const twice = await del(await buyer.signMessage(jobCancelMessage(acceptedId)));
    expect(twice.status).toBe(409);
    expect(((await twice.json()) as { code: string }).code).toBe('JOB_FINISHED');
  });

  it('GET /info names the chain, the EIP-712 domain and the coordinator wallet', async () => {
    const info = (await (await fetch(`${coordinator.url}/info`)).json()) as {
      coordinatorId: string;
      chainId: string;
      domain: { name: string; version: string; verifyingContract: string };
      coordinatorAddress: string;
      wire: { path: string; subprotocol: string };
    };
    expect(info).toMatchObject({
      chainId: '31337',
      domain: { name: 'Sealfold', version: '4', verifyingContract: buyerClient.addresses!.datasetLicence },
      wire: { path: '/silo', subprotocol: 'sealfold-silo.v1' },
    });
    expect(info.coordinatorAddress).toMatch(/^0x[0-9a-fA-F]{40}$/);
  });

  it('answers 404 with a code for an unknown job', async () => {
    const res = await read(`${coordinator.url}/jobs/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('JOB_NOT_FOUND');
  });
});
