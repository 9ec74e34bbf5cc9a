// Known-answer vectors for the dataset commitment. The digests were computed outside this code base (Python's
// hashlib over the byte strings the format in commitment.ts defines), so a change to the canonical form fails here.
import { expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { COMMITMENT_DOMAIN, CommitmentPlan, CommitmentReplay, commitmentOfTable } from './commitment.js';
import { inspectCsv } from './inspect.js';
import { CsvInspector } from './inspector.js';
import { chunked, serialiseCsv } from '../test/csv-tables.js';
import { describeScans } from '../test/scan-modes.js';

const VECTORS: { name: string; table: string[][]; canonical: string; digest: string }[] = [
  {
    name: 'plain records',
    table: [
      ['a', 'b'],
      ['1', 'x'],
    ],
    canonical: 'a,b\n1,x\n',
    digest: 'e89f4800c60900d9c3b621421faa993d474b2cab9a79cc1aa1f04db335b9bf4e',
  },
  {
    name: 'a quote doubled inside a quoted field; a record of empty fields stays unquoted',
    table: [
      ['a', 'b'],
      ['1', 'x"y'],
      ['', ''],
    ],
    canonical: 'a,b\n1,"x""y"\n,\n',
    digest: '03733521b218034d47b340a4dab249c92830dda764d1349fbba8739a06099bce',
  },
  {
    name: 'UTF-8, a comma and a line feed quoted; a lone empty field quoted',
    table: [['name', 'label'], ['café, crème', 'multi\nline'], ['']],
    canonical: 'name,label\n"café, crème","multi\nline"\n""\n',
    digest: '620ec0fb6df0acb0cadeb7e5f6ed7d64ac7f724663e791594a4dbfd7f4cb0c33',
  },
];

describeScans('dataset commitment known answers', () => {
  it.each(VECTORS)('$name', ({ table, canonical, digest }) => {
    const direct = createHash('sha256').update(COMMITMENT_DOMAIN).update(canonical, 'utf8').digest('hex');
    expect(direct).toBe(digest);
    expect(commitmentOfTable(table)).toBe(digest);
  });

  it('a file with CRLF line ends, quotes and a BOM commits to the same digest as its canonical form', async () => {
    const file = '\ufeff"a",b\r\n1,"x"\r\n';
    const result = await inspectCsv(new TextEncoder().encode(file), { label: 'b', k: 1 });
    expect(result.commitment).toBe(VECTORS[0].digest);
  });
});

describeScans('commitment hashed on another thread (CommitmentPlan replayed against the raw bytes)', () => {
  // Valid tables (no value is a number, the label never empty) whose values need quoting in every way: commas, quotes,
  // CR, LF, CRLF, UTF-8, empty fields.
  const value = fc.constantFrom('a', 'b b', 'x,y', 'say "hi"', 'l\nb', 'c\r\nd', 'é', '', '"', 'cr\r');
  const label = fc.constantFrom('p', 'q', 'r,s', '"t"', 'ü');
  const tableArb = fc.array(fc.tuple(value, value, label), { minLength: 1, maxLength: 12 });

  /**
   * The worker's side (inspect-worker.ts) and the sending thread's (inspect.ts), in one thread: chunks pushed to a
   * deferred inspector, handed back after a random number of pushes with what the plan took, replayed, released.
   */
  function replayed(
    chunks: Uint8Array[],
    handBackAfter: readonly boolean[],
  ): { commitment: string; held: number; mostHeld: number } {
    const inspector = new CsvInspector({ label: 'y', k: 1 });
    const plan = new CommitmentPlan();
    inspector.deferCommitment(plan);
    const replay = new CommitmentReplay();
    let at = 0;
    let pending: Uint8Array[] = [];
    let held = 0;
    let mostHeld = 0;
    const handBack = () => {
      for (const c of pending) {
        replay.add(at, c);
        at += c.length;
        held++;
      }
      pending = [];
      const { ops, literal } = plan.take();
      replay.apply(ops, literal);
      mostHeld = Math.max(mostHeld, held);
      held -= replay.release(inspector.pendingFrom).length;
    };
    chunks.forEach((c, i) => {
      // The worker hands back a copy it owns; the replay must not depend on the sender's chunk afterwards.
      pending.push(Uint8Array.from(c));
      inspector.push(c);
      if (handBackAfter[i % handBackAfter.length]) handBack();
    });
    const result = inspector.finish();
    expect(result.commitment).toBe('');
    handBack();
    return { commitment: replay.digestHex(), held, mostHeld };
  }

  it('gives the commitment of the table, whatever the quoting, line ends, BOM and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        tableArb,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 13 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
        async (rows, crlf, quote, trailing, bom, sizes, handBackAfter) => {
          const table = [['f,1', 'f"2', 'y'], ...rows];
          const { text } = serialiseCsv(table, { crlf, quote, trailing });
          const bytes = new TextEncoder().encode((bom ? '\ufeff' : '') + text);
          const chunks = chunked(bytes, sizes);
          const expected = commitmentOfTable(table);
          expect((await inspectCsv(chunks, { label: 'y', k: 1 })).commitment).toBe(expected);
          const { commitment, held } = replayed(chunks, handBackAfter);
          expect(commitment).toBe(expected);
          // Only the chunks of a record not yet complete stay held; after the end, none.
          expect(held).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('holds the chunks of a record not yet complete only while it may still be plain', () => {
    const long = 'x'.repeat(300);
    const text = (quoted: boolean) => `f,g,y\n1,${quoted ? `"${long}"` : long},p\n2,a,q\n`;
    const run = (quoted: boolean) => {
      const bytes = new TextEncoder().encode(text(quoted));
      return replayed(chunked(bytes, [7]), [true]);
    };
    const quoted = run(true);
    const plain = run(false);
    expect(quoted.commitment).toBe(
      commitmentOfTable([
        ['f', 'g', 'y'],
        ['1', long, 'p'],
        ['2', 'a', 'q'],
      ]),
    );
    expect(plain.commitment).toBe(quoted.commitment);
    // Unquoted, the long record is hashed from the raw chunks, so all of them stay until it ends; quoted, it is written
    // out canonically, and the chunks go as soon as its quote was seen.
    expect(plain.mostHeld).toBeGreaterThan(40);
    expect(quoted.mostHeld).toBeLessThanOrEqual(2);
  });

  it('plain records of consecutive chunks become one range; a range not held is refused', () => {
    const plan = new CommitmentPlan();
    const a = Buffer.from('a,b\n1,x\n');
    plan.addPlain(a, 0, 4, 0);
    plan.addPlain(a, 4, 8, 0);
    plan.addPlain(a, 0, 4, 10);
    const { ops, literal } = plan.take();
    expect([...ops]).toEqual([0, 8, 10, 14]);
    expect(literal.length).toBe(0);
    const replay = new CommitmentReplay();
    replay.add(0, a);
    expect(() => replay.apply(ops, literal)).toThrow(/not held/);
    expect(() => replay.add(9, a)).toThrow(/expected 8/);
  });
});
