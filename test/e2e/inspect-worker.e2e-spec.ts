// The compiled `inspectCsvTee` parses on a worker thread (libs/dataset inspect-worker.ts); under jest (TypeScript
// sources) it parses on the calling thread. This runs the compiled lib in a child node, which must start one worker
// per tee, and compares what it gives with this process's calling-thread result: bytes passed on, rows, commitment,
// schema, refusal, or the DatasetError with its code, line, column and message.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { inspectCsvTee } from '@sealfold/dataset';
import { ensureBuilt, ROOT } from './cli-harness.js';

const CASES = [
  'a,b,label\n1,2,x\n3,4,y\n1,2,x\n3,4,y\n',
  'a,b,label\r\n1,"2,5",x\r\n3,4,y\r\n1,2,x\r\n3,4,y',
  'a,b,label\n1,2,x\n3,4\n',
  'a,b,label\n1,"2"x,x\n',
  'a,b,label\n1,2,\n',
  'a,b,label\n1,2,x\n1,2,x\n1,2,y\n',
  // Many CRLF rows: each hand-back's literal bytes (the rows without their CR) are hashed by the calling thread and
  // their buffer goes back to the worker for the next ones (CommitmentPlan.reuse).
  'a,b,label\r\n' +
    Array.from({ length: 3000 }, (_, i) => `${i % 7},${(i * 3) % 11}.5,${i % 2 ? 'x' : 'y'}\r\n`).join(''),
];

/** What a tee gives for one CSV: the bytes passed on, and the result or the error (code, line, column, message). */
const CHILD = `
import dc from 'node:diagnostics_channel';
import { inspectCsvTee } from '@sealfold/dataset';
let workers = 0;
dc.subscribe('worker_threads', () => workers++);
const out = [];
for (const csv of JSON.parse(process.argv[1])) {
  // Split in small chunks so several messages (and buffer hand-backs) go to the worker.
  const bytes = Buffer.from(csv);
  const chunks = [];
  for (let at = 0; at < bytes.length; at += 7) chunks.push(bytes.subarray(at, at + 7));
  const tee = inspectCsvTee(chunks, { label: 'label', k: 2 });
  let passed = 0;
  try {
    for await (const c of tee.bytes) passed += c.length;
    const r = await tee.result;
    out.push({ passed, rows: r.rows, commitment: r.commitment, schema: r.schema, refusal: r.refusal?.message ?? null });
  } catch (e) {
    out.push({ error: [e.constructor.name, e.code, e.line, e.column, e.message] });
  }
}
console.log(JSON.stringify({ workers, out }));
`;

async function inThread(csv: string): Promise<unknown> {
  const bytes = Buffer.from(csv);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += 7) chunks.push(bytes.subarray(at, at + 7));
  const tee = inspectCsvTee(chunks, { label: 'label', k: 2 });
  let passed = 0;
  try {
    for await (const c of tee.bytes) passed += c.length;
    const r = await tee.result;
    return { passed, rows: r.rows, commitment: r.commitment, schema: r.schema, refusal: r.refusal?.message ?? null };
  } catch (e) {
    const d = e as { constructor: { name: string }; code: string; line?: number; column?: number; message: string };
    return { error: [d.constructor.name, d.code, d.line, d.column, d.message] };
  }
}

describe('inspectCsvTee on a worker thread (compiled lib)', () => {
  it('gives the same results and the same DatasetErrors (code, line, column, message) as on the calling thread', async () => {
    ensureBuilt();
    const child = spawnSync(
      process.execPath,
      ['--import', `${ROOT}scripts/register-aliases.mjs`, '--input-type=module', '-e', CHILD, JSON.stringify(CASES)],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(child.stderr).toBe('');
    const { workers, out } = JSON.parse(child.stdout) as { workers: number; out: unknown[] };
    expect(workers).toBe(CASES.length);
    const expected = await Promise.all(CASES.map(inThread));
    expect(out).toEqual(expected);
    // The cases do cover success, a refusal preview (class "y" in 1 row < k) and errors (an ambiguous column, a ragged
    // row, bad quoting, a missing label).
    expect(expected.filter((r) => 'error' in (r as object))).toHaveLength(4);
    expect((expected[5] as { refusal: string | null }).refusal).toMatch(/fewer than/);
  }, 120_000);
});
