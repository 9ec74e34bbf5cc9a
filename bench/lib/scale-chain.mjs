// The chain node of the many-silo harness (bench/lib/scale-harness.ts): the embedded EDR chain (libs/chain
// startEmbeddedChain, the Sealfold contracts deployed, `recorders` holding COORDINATOR_ROLE) served over JSON-RPC in a
// process of its own, as a deployment's RPC node runs apart from the benchmark that drives it. In the parent's process
// it shared one event loop with the harness; at n = 1000 the silos' licence re-reads then queued past their timeout.
// Plain JavaScript over the compiled tree (dist/), started like the workers: node --import scripts/register-aliases.mjs.
//
//   argv[2]: JSON {dataDir, recorders, blockGasLimit (decimal string)}
//   → IPC {type:'started', rpcUrl, chainId, accounts:[{address, privateKey}], deployment}
//   ← IPC {type:'stop'} (or the parent gone): closes the chain (its journal flushed) and exits.
import { startEmbeddedChain } from '@sealfold/chain';

const { dataDir, recorders, blockGasLimit } = JSON.parse(process.argv[2] ?? '{}');
const chain = await startEmbeddedChain({ dataDir, recorders, blockGasLimit: BigInt(blockGasLimit ?? 30_000_000) });
let stopping;
const stop = () =>
  (stopping ??= chain
    .close()
    .catch((error) => console.error(error))
    .finally(() => process.exit(0)));
process.on('message', (m) => m?.type === 'stop' && stop());
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.send({
  type: 'started',
  rpcUrl: chain.rpcUrl,
  chainId: String(chain.chainId),
  accounts: chain.accounts.map(({ address, privateKey }) => ({ address, privateKey })),
  deployment: chain.deployment,
});
