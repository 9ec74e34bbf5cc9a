// `npm run bench -- pqkem [--json]`: what a post-quantum SecAgg+ would add per silo per round (design note in
// docs/ARCHITECTURE.md, "Post-quantum SecAgg+"). Measures the hybrid KEM age uses (X-Wing: ML-KEM-768 + X25519,
// @noble/post-quantum) beside today's X25519 on node:crypto, and prices the design at n = 100 (k = 15: 14 neighbours):
//   today, per client per round: 2 X25519 key pairs + 2 ECDH per neighbour (channel key, mask key)
//   design, per client per round: 2 X-Wing key pairs; share channel: one encapsulation to each neighbour (its ciphertext
//     rides with the share bundle in ShareKeys) and one decapsulation from each; mask key: per pair the lower id
//     encapsulates to the higher id's key (ciphertext in ShareKeys), the higher decapsulates before MaskedInput —
//     on average half a pair's worth each: 1.5 (k − 1) encapsulations and 1.5 (k − 1) decapsulations per client.
// Bytes: each X-Wing public key is 1216 B (vs 32) and each ciphertext 1120 B.
import { ml_kem768_x25519 as xwing } from '@noble/post-quantum/hybrid.js';
import { x25519 } from '@sealfold/crypto';
import { defaultNeighbourhood } from '@sealfold/secagg';
import { type Figure, figure, medianMs, report } from './lib/report.js';

const N = 100;
const neighbours = defaultNeighbourhood(N) - 1;
const REPS = 50;
const per = (ms: number) => ms / REPS;

const xSecret = x25519.generateSecretKey();
const xPeer = x25519.publicKey(x25519.generateSecretKey());
const keys = xwing.keygen();
const { cipherText } = xwing.encapsulate(keys.publicKey);

const x25519KeygenMs = per(
  await medianMs(() => {
    for (let i = 0; i < REPS; i++) x25519.publicKey(x25519.generateSecretKey());
  }),
);
const x25519EcdhMs = per(
  await medianMs(() => {
    for (let i = 0; i < REPS; i++) x25519.sharedSecret(xSecret, xPeer);
  }),
);
const keygenMs = per(
  await medianMs(() => {
    for (let i = 0; i < REPS; i++) xwing.keygen();
  }),
);
const encapsMs = per(
  await medianMs(() => {
    for (let i = 0; i < REPS; i++) xwing.encapsulate(keys.publicKey);
  }),
);
const decapsMs = per(
  await medianMs(() => {
    for (let i = 0; i < REPS; i++) xwing.decapsulate(cipherText, keys.secretKey);
  }),
);

const todayMs = 2 * x25519KeygenMs + 2 * neighbours * x25519EcdhMs;
const designMs = 2 * keygenMs + 1.5 * neighbours * (encapsMs + decapsMs);
const sentBytesToday = 2 * 32;
const sentBytesDesign = 2 * xwing.lengths.publicKey! + 1.5 * neighbours * xwing.lengths.cipherText!;
// Dropout recovery at 10%: the server rebuilds each dropped client's mask-key seed from t shares and redoes that
// client's side of each pair's mask key (a decapsulation, or a re-encapsulation with coins derived from the seed).
const serverRecoveryMs = 0.1 * N * neighbours * ((encapsMs + decapsMs) / 2);

const figures: Figure[] = [
  figure('X-Wing keygen (ML-KEM-768 + X25519, noble)', keygenMs, 'ms', x25519KeygenMs),
  figure('X-Wing encapsulate (baseline: one X25519 ECDH, node:crypto)', encapsMs, 'ms', x25519EcdhMs),
  figure('X-Wing decapsulate (baseline: one X25519 ECDH, node:crypto)', decapsMs, 'ms', x25519EcdhMs),
  figure(
    `key agreement per client per round, n=${N} k=${neighbours + 1}: KEM design vs today`,
    designMs,
    'ms',
    todayMs,
  ),
  figure(`key bytes a client sends per round, n=${N}: KEM design vs today`, sentBytesDesign, 'B', sentBytesToday),
  figure(`server dropout recovery, n=${N}, 10% dropped: KEM operations`, serverRecoveryMs, 'ms', null),
];
report('pqkem', figures);
