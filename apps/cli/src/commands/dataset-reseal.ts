// `sealfold dataset reseal <id> | --all`: seal the owner's datasets again under a fresh file key to the keystore's
// current recipients (e.g. hybrid post-quantum after X25519), point each dataset token at its new manifest and unpin
// the old copy. Order: new ciphertext and manifest stored → chain updated → old copy unpinned, so a failure at any
// step leaves the dataset readable and, before the transaction, the chain unchanged.
import type { Command } from 'commander';
import type { CommandResult, Context } from '../context.js';
import { openChain } from '../chain-connect.js';
import { CliError } from '../errors.js';
import { loadOwner } from '../owner.js';
import { parseId } from '../parse.js';
import { JSON_NOTE, type Runner } from '../program.js';
import { readRecords, saveRecord } from '../records.js';
import { assertHas, openStore } from '../store.js';
import { readManifest } from './dataset.js';

/** What older copies still allow: said on every reseal, because no one can recall what was already fetched. */
const OLD_COPIES_NOTE =
  'copies of the old ciphertext fetched before now stay encrypted under the old file key: resealing protects what ' +
  'is stored from now on, not what others already hold';

async function reseal(
  ctx: Context,
  env: NodeJS.ProcessEnv,
  args: string[],
  o: Record<string, unknown>,
): Promise<CommandResult> {
  if ((args[0] === undefined) === (o.all !== true))
    throw new CliError('INVALID_ARGUMENT', 'name one dataset id, or --all for every dataset your wallet owns');
  const ds = await import('@sealfold/dataset');
  const owner = await loadOwner(ctx);
  const chain = await openChain(ctx, env, owner.wallet);
  const store = await openStore(ctx, env);
  const ids =
    o.all === true
      ? (await chain.client.listDatasets({ limit: 10_000, owner: owner.address })).map((d) => d.datasetId)
      : [parseId(args[0], 'dataset id')];
  const records = await readRecords(ctx);
  const results = [];
  for (const datasetId of ids) {
    const dataset = await chain.client.getDataset(datasetId);
    if (dataset.owner !== owner.address)
      throw new CliError('NOT_OWNER', `dataset ${datasetId} is owned by ${dataset.owner}, not by ${owner.address}`);
    const manifest = await readManifest(store, dataset.manifestCid);
    await assertHas(store, manifest.sealed.cid);
    const resealed = await ds.resealDataset({
      manifest,
      identities: [owner.identity],
      recipients: [owner.recipient],
      store: store.store,
    });
    let tx;
    try {
      tx = await chain.client.setManifest(datasetId, resealed.manifestCid);
    } catch (error) {
      // The chain still names the old manifest: drop the new copy, keep the old one.
      await store.store.unpin(resealed.manifest.sealed.cid).catch(() => undefined);
      await store.store.unpin(resealed.manifestCid).catch(() => undefined);
      throw error;
    }
    await store.store.unpin(manifest.sealed.cid).catch(() => undefined);
    await store.store.unpin(dataset.manifestCid).catch(() => undefined);
    const previous = records.find((r) => r.manifestCid === dataset.manifestCid);
    await saveRecord(ctx, {
      manifestCid: resealed.manifestCid,
      name: manifest.name,
      ciphertextCid: resealed.manifest.sealed.cid,
      commitment: manifest.commitment,
      rows: manifest.rows,
      createdAt: previous?.createdAt ?? manifest.createdAt,
      chain: { chainId: chain.client.chainId.toString(), datasetId: datasetId.toString(), txHash: tx.hash },
    });
    results.push({
      datasetId,
      manifestCid: resealed.manifestCid,
      previousManifestCid: dataset.manifestCid,
      ciphertextCid: resealed.manifest.sealed.cid,
      recipientType: resealed.manifest.sealed.recipientType,
      previousRecipientType: manifest.sealed.recipientType ?? 'X25519',
      txHash: tx.hash,
    });
  }
  return {
    json: { resealed: results, note: OLD_COPIES_NOTE },
    text: [
      ...results.map(
        (r) =>
          `dataset ${r.datasetId}: resealed (${r.previousRecipientType} → ${r.recipientType}), manifest ` +
          `${r.manifestCid}, tx ${r.txHash}; old copy ${r.previousManifestCid} unpinned`,
      ),
      results.length === 0 ? 'no datasets owned by this wallet' : `note: ${OLD_COPIES_NOTE}`,
    ].join('\n'),
  };
}

export function registerDatasetReseal(dataset: Command, runner: Runner): void {
  const env = runner.env;
  dataset
    .command('reseal')
    .description(
      "encrypt a dataset again under a fresh file key to your keystore's current recipients (post-quantum hybrid " +
        'by default), point its token at the new manifest (same id, terms and licences) and unpin the old copy',
    )
    .argument('[datasetId]', 'the dataset to reseal (or --all)')
    .option('--all', 'every dataset your wallet owns')
    .addHelpText(
      'after',
      `
The plaintext is checked against the manifest's commitment before anything changes on chain. A failure leaves the
dataset readable and, before the transaction, the chain unchanged; running it again is safe. Copies of the old
ciphertext fetched before stay under the old file key.
${JSON_NOTE}
  {"resealed": [{"datasetId", "manifestCid", "previousManifestCid", "ciphertextCid", "recipientType",
   "previousRecipientType", "txHash"}], "note"}`,
    )
    .action(runner.action((ctx, args, o) => reseal(ctx, env, args, o)));
}
