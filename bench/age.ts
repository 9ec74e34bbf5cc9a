// `npm run bench -- age [--json] [--mib N]`
// age v1 encryption/decryption throughput of @sealfold/crypto beside the raw node:crypto ChaCha20-Poly1305 it is
// built on, over the same bytes in the same run: one AEAD call per 64 KiB chunk is the floor of work any age
// implementation must do, so ratio = our MB/s ÷ raw MB/s shows the format's overhead (header, STREAM nonces,
// buffering). Target: ratio ≥ 0.8. Also the pure-JS `age-encryption` package (reference only) for context.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Encrypter } from 'age-encryption';
import { X25519Identity, decryptChunks, encryptChunks } from '@sealfold/crypto';
import { type Figure, figure, median, medianMs, report, wantsJson } from './lib/report.js';
import { positiveArg } from './lib/args.js';

const MIB = 1024 * 1024;
const CHUNK = 64 * 1024;
const total = positiveArg('mib', 64) * MIB;
const data = randomBytes(total);
// Feed 1 MiB writes, as a file read stream would.
const pieces = Array.from({ length: Math.ceil(total / MIB) }, (_, i) => data.subarray(i * MIB, (i + 1) * MIB));
const mbps = (ms: number) => total / MIB / (ms / 1000);

const key = randomBytes(32);
const nonce = Buffer.alloc(12);
const rawSeal = () => {
  let sink = 0;
  for (let at = 0, i = 0; at < total; at += CHUNK, i++) {
    nonce.writeUIntBE(i, 5, 6);
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    sink += c.update(data.subarray(at, at + CHUNK)).length;
    c.final();
    sink += c.getAuthTag().length;
  }
  return sink;
};
const sealedRaw: Buffer[] = [];
for (let at = 0, i = 0; at < total; at += CHUNK, i++) {
  nonce.writeUIntBE(i, 5, 6);
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  sealedRaw.push(Buffer.concat([c.update(data.subarray(at, at + CHUNK)), c.final(), c.getAuthTag()]));
}
const rawOpen = () => {
  let sink = 0;
  sealedRaw.forEach((sealed, i) => {
    nonce.writeUIntBE(i, 5, 6);
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    sink += d.update(sealed.subarray(0, sealed.length - 16)).length;
    d.final();
  });
  return sink;
};

const identity = X25519Identity.generate();
// The ciphertext the decrypt runs read, made once; timed encryption runs discard their output like the baseline.
const file: Buffer[] = [];
for await (const c of encryptChunks(pieces, [identity.recipient])) file.push(c);
const ourEncrypt = async () => {
  let n = 0;
  for await (const c of encryptChunks(pieces, [identity.recipient])) n += c.length;
  if (n < total) throw new Error('ciphertext too short');
};
const ourDecrypt = async () => {
  let n = 0;
  for await (const c of decryptChunks(file, [identity])) n += c.length;
  if (n !== total) throw new Error('decrypted length mismatch');
};

// Baseline and ours alternate, run by run, so load from other processes hits both alike.
const runs = 7;
const paired = async (a: () => unknown, b: () => unknown): Promise<[number, number]> => {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < runs; i++) {
    ta.push(await medianMs(a, 1, i === 0 ? 1 : 0));
    tb.push(await medianMs(b, 1, i === 0 ? 1 : 0));
  }
  return [median(ta), median(tb)];
};
const [rawSealMs, encMs] = await paired(rawSeal, ourEncrypt);
const [rawOpenMs, decMs] = await paired(rawOpen, ourDecrypt);

// Reference: the pure-JS age-encryption package (its own recipients API), whole-buffer, fewer runs.
const ref = new Encrypter();
ref.addRecipient(identity.recipient.toString());
const refMs = await medianMs(() => ref.encrypt(data), 2, 0);

const figures: Figure[] = [
  figure('age encrypt (encryptChunks, 1 MiB writes)', mbps(encMs), 'MB/s', mbps(rawSealMs), {
    op: '>=',
    of: 'ratio',
    value: 0.8,
  }),
  figure('age decrypt (decryptChunks)', mbps(decMs), 'MB/s', mbps(rawOpenMs), { op: '>=', of: 'ratio', value: 0.8 }),
  figure('age-encryption (pure JS) encrypt, reference', mbps(refMs), 'MB/s', mbps(encMs)),
];
if (!wantsJson())
  console.log(`${total / MIB} MiB of random data; baseline: raw node:crypto chacha20-poly1305, 64 KiB calls`);
report('age', figures);
