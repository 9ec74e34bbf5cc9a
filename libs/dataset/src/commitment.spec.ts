// Known-answer vectors for the dataset commitment. The digests were computed outside this code base (Python's
// hashlib over the byte strings the format in commitment.ts defines), so a change to the canonical form fails here.
import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { COMMITMENT_DOMAIN, commitmentOfTable } from './commitment.js';
import { inspectCsv } from './inspect.js';

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

describe('dataset commitment known answers', () => {
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
