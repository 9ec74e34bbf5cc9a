import { expect, it } from '@jest/globals';
import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import { DatasetError } from './errors.js';
import {
  isEip55Address,
  manifestJsonSchema,
  parseManifest,
  sealedRecipientType,
  serializeManifest,
  toEip55Address,
  type Manifest,
} from './manifest.js';
import { describeScans } from '../test/scan-modes.js';

const schemaPath = new URL('../manifest.schema.json', import.meta.url);

const valid: Manifest = {
  formatVersion: 2,
  name: 'iris',
  description: 'Fisher 1936',
  schema: {
    label: 'species',
    columns: [
      { name: 'sepal', type: 'float' },
      { name: 'species', type: 'categorical', levels: ['setosa', 'virginica'] },
    ],
  },
  rows: 150,
  classes: ['setosa', 'virginica'],
  sealed: {
    format: 'age-v1',
    cid: 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e',
    bytes: 4242,
    recipientType: 'mlkem768x25519',
  },
  commitment: 'a'.repeat(64),
  // EIP-55 test vector (eips.ethereum.org/EIPS/eip-55).
  owner: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
  createdAt: '2026-11-28T07:38:00.000Z',
  terms: { priceWei: '1000000000000000000', licenceDurationSeconds: 86400, epsilonBudget: 1.5, maxJobs: 3 },
};

describeScans('manifest', () => {
  it('records the recipient type (version 2) and still reads version 1 manifests as X25519-sealed', () => {
    expect(sealedRecipientType(parseManifest(serializeManifest(valid)))).toBe('mlkem768x25519');
    const v1 = {
      ...valid,
      formatVersion: 1,
      sealed: { format: 'age-v1', cid: valid.sealed.cid, bytes: 4242 },
    } as const;
    const parsed = parseManifest(JSON.stringify(v1));
    expect(parsed.formatVersion).toBe(1);
    expect(sealedRecipientType(parsed)).toBe('X25519');
    // Re-serialised as it was: a version 1 manifest keeps its CID.
    expect(new TextDecoder().decode(serializeManifest(parsed))).not.toContain('recipientType');
  });

  it('serialises canonically (sorted keys, no whitespace) and parses back', () => {
    const bytes = serializeManifest(valid);
    const text = new TextDecoder().decode(bytes);
    expect(text.startsWith('{"classes":["setosa","virginica"],"commitment":')).toBe(true);
    expect(text).toBe(JSON.stringify(JSON.parse(text)));
    expect(parseManifest(bytes)).toEqual(valid);
    // Key order of the input does not matter.
    const shuffled = Object.fromEntries(Object.entries(valid).reverse()) as Manifest;
    expect(serializeManifest(shuffled)).toEqual(bytes);
  });

  const broken: [string, (m: Record<string, unknown>) => void][] = [
    ['an unknown format version', (m) => (m.formatVersion = 4)],
    [
      'a version-3 schema publishing levels its owner did not make public',
      (m) => {
        m.formatVersion = 3;
        m.schema = {
          label: 'species',
          columns: [
            { name: 'colour', type: 'categorical', levels: ['blue', 'red'] },
            ...(m.schema as Manifest['schema']).columns,
          ],
        };
      },
    ],
    [
      'a version 2 manifest without its recipient type',
      (m) => ((m.formatVersion = 2), delete (m.sealed as { recipientType?: string }).recipientType),
    ],
    [
      'a version 1 manifest with a recipient type',
      (m) => ((m.formatVersion = 1), ((m.sealed as { recipientType?: string }).recipientType = 'X25519')),
    ],
    ['an unknown recipient type', (m) => ((m.sealed as { recipientType?: string }).recipientType = 'scrypt')],
    ['an unknown key', (m) => (m.extra = 1)],
    ['a missing name', (m) => delete m.name],
    ['a bad owner checksum', (m) => (m.owner = '0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed')],
    ['a lowercase owner', (m) => (m.owner = '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed')],
    ['a non-hex commitment', (m) => (m.commitment = 'z'.repeat(64))],
    ['an upper-case commitment', (m) => (m.commitment = 'A'.repeat(64))],
    ['a wrong sealed format', (m) => (m.sealed = { ...(m.sealed as object), format: 'age-v2' })],
    [
      'a non-canonical CID',
      (m) =>
        (m.sealed = { ...(m.sealed as object), cid: 'BAFKREIFZJUT3TE2NHYEKKLSS27NH3K72YSCO7Y32KOAO5EEI66WOF36N5E' }),
    ],
    ['a garbage CID', (m) => (m.sealed = { ...(m.sealed as object), cid: 'bafynotacid' })],
    ['a negative size', (m) => (m.sealed = { ...(m.sealed as object), bytes: -1 })],
    ['classes that differ from the label levels', (m) => (m.classes = ['virginica', 'setosa'])],
    ['zero rows', (m) => (m.rows = 0)],
    ['a price with a sign', (m) => (m.terms = { ...(m.terms as object), priceWei: '-1' })],
    ['a price with leading zeros', (m) => (m.terms = { ...(m.terms as object), priceWei: '01' })],
    ['a fractional duration', (m) => (m.terms = { ...(m.terms as object), licenceDurationSeconds: 1.5 })],
    ['a zero epsilon', (m) => (m.terms = { ...(m.terms as object), epsilonBudget: 0 })],
    ['a non-ISO date', (m) => (m.createdAt = 'yesterday')],
    [
      'a schema whose label is numeric',
      (m) => (m.schema = { label: 'sepal', columns: (m.schema as Manifest['schema']).columns }),
    ],
  ];

  it.each(broken)('refuses %s on write and on read', (_name, mutate) => {
    const m = structuredClone(valid) as unknown as Record<string, unknown>;
    mutate(m);
    expect(() => serializeManifest(m as unknown as Manifest)).toThrow(DatasetError);
    const bytes = new TextEncoder().encode(JSON.stringify(m));
    let err: unknown;
    try {
      parseManifest(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).code).toBe('INVALID_MANIFEST');
  });

  it('refuses bytes that are not UTF-8 JSON objects', () => {
    for (const b of [new Uint8Array([0xff]), new TextEncoder().encode('[1]'), new TextEncoder().encode('{')])
      expect(() => parseManifest(b)).toThrow(DatasetError);
  });

  it('checks EIP-55 checksums (the EIP test vectors) and computes them', () => {
    const vectors = [
      '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
      '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
      '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
      '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
    ];
    for (const v of vectors) {
      expect(isEip55Address(v)).toBe(true);
      expect(toEip55Address(v.toLowerCase())).toBe(v);
      expect(isEip55Address(v.slice(0, 2) + v.slice(2).toLowerCase())).toBe(false);
    }
  });

  it('round-trips arbitrary valid manifests byte-for-byte', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 200 }),
        fc.string({ maxLength: 300 }),
        fc.integer({ min: 1, max: 1e9 }),
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
        fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
        (name, description, rows, price, eps, maxJobs) => {
          const m: Manifest = {
            ...valid,
            name,
            description,
            rows,
            terms: {
              priceWei: price.toString(),
              licenceDurationSeconds: 60,
              epsilonBudget: eps,
              ...(maxJobs ? { maxJobs } : {}),
            },
          };
          const bytes = serializeManifest(m);
          expect(parseManifest(bytes)).toEqual(m);
          expect(serializeManifest(parseManifest(bytes))).toEqual(bytes);
        },
      ),
    );
  });

  it('publishes a current JSON Schema file (SEALFOLD_UPDATE_SCHEMA=1 rewrites it)', () => {
    const current = manifestJsonSchema();
    if (process.env.SEALFOLD_UPDATE_SCHEMA === '1') writeFileSync(schemaPath, JSON.stringify(current, null, 2) + '\n');
    // Compared as JSON values, so prettier may format the committed file.
    expect(JSON.parse(readFileSync(schemaPath, 'utf8'))).toEqual(current);
    const required = (current as { required: string[] }).required;
    expect(required).toEqual(
      expect.arrayContaining([
        'formatVersion',
        'name',
        'schema',
        'rows',
        'classes',
        'sealed',
        'commitment',
        'owner',
        'terms',
      ]),
    );
  });
});
