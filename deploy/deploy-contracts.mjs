#!/usr/bin/env node
// One-shot contract deployment for compose.yaml (and any EVM chain reachable over JSON-RPC): deploys DatasetNFT,
// DatasetLicence, ModelRegistry, JobEscrow and ModelAsset with libs/chain's deployContracts, grants the coordinator's
// address ModelRegistry's COORDINATOR_ROLE, and writes `SEALFOLD_CONTRACTS` in the shape the embedded chain writes
// (<data-dir>/chain/deployment.json), atomically (temp file + rename). Runs against the compiled tree (dist/).
//
// Idempotent: when SEALFOLD_CONTRACTS already names this version's contracts (its recorded digest of their bytecode)
// and they have code on this chain, it does nothing, so a restarted stack does not deploy twice. A file written for
// other contracts (an older Sealfold) is refused: the coordinators could not read them. Reads the coordinator's own variables (SEALFOLD_CHAIN_RPC,
// SEALFOLD_CONTRACTS, SEALFOLD_COORDINATOR_KEY_FILE). The deployer signs with --deployer-key-file (a 0x hex key);
// without it, only on chain 31337 (anvil / the embedded chain), the public dev account 0 of the well-known test
// mnemonic, which also funds the coordinator's wallet there.
import { readFileSync, existsSync, mkdirSync } from 'node:fs';
import { register } from 'node:module';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';

register('../scripts/alias-hooks.mjs', import.meta.url);

const DEV_CHAIN_ID = 31337n;
const DEV_FUND_WEI = 100n * 10n ** 18n;

function fail(message) {
  process.stderr.write(`deploy-contracts: ${message}\n`);
  process.exit(1);
}

function readKey(path, what) {
  const key = readFileSync(path, 'utf8').trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) fail(`${path} (${what}) does not hold a 32-byte 0x hex private key`);
  return key;
}

const { values } = parseArgs({ options: { 'deployer-key-file': { type: 'string' } } });
const rpcUrl = process.env.SEALFOLD_CHAIN_RPC;
const out = process.env.SEALFOLD_CONTRACTS;
const coordinatorKeyFile = process.env.SEALFOLD_COORDINATOR_KEY_FILE;
if (!rpcUrl) fail('set SEALFOLD_CHAIN_RPC (the chain to deploy on)');
if (!out) fail('set SEALFOLD_CONTRACTS (where to write the deployment file)');
if (!coordinatorKeyFile) fail('set SEALFOLD_COORDINATOR_KEY_FILE (the coordinator granted COORDINATOR_ROLE)');

const chain = await import('@sealfold/chain');
const { Wallet } = await import('ethers');
const chainId = await chain.probeChainId(rpcUrl);
const provider = chain.createProvider(rpcUrl, chainId);
try {
  if (existsSync(out)) {
    const existing = chain.readDeploymentFile(out);
    if (existing.chainId !== undefined && existing.chainId !== chainId)
      fail(`${out} is for chain ${existing.chainId}, the RPC serves chain ${chainId}`);
    if (existing.contractsDigest !== chain.CONTRACTS_DIGEST)
      fail(
        `${out} names contracts ${existing.contractsDigest === undefined ? 'of unknown version' : 'an earlier Sealfold deployed'}, ` +
          `not this version's: move it away to deploy this version's contracts (the old ones stay on the chain)`,
      );
    const codes = await Promise.all(Object.values(existing.contracts).map((a) => provider.getCode(a)));
    if (codes.every((c) => c !== '0x')) {
      process.stdout.write(`deploy-contracts: ${out} already deployed on chain ${chainId}, nothing to do\n`);
      process.exit(0);
    }
    fail(`${out} names contracts without code on chain ${chainId} (a reset chain?): move it away to redeploy`);
  }
  let deployerKey;
  if (values['deployer-key-file']) deployerKey = readKey(values['deployer-key-file'], 'deployer key');
  else if (chainId === DEV_CHAIN_ID) deployerKey = chain.deriveDevAccounts(chain.DEV_MNEMONIC, 1)[0].privateKey;
  else fail(`chain ${chainId} is not the dev chain ${DEV_CHAIN_ID}: pass --deployer-key-file`);
  const signer = new Wallet(deployerKey, provider);
  const coordinator = new Wallet(readKey(coordinatorKeyFile, 'coordinator key')).address;
  const { addresses } = await chain.deployContracts(signer, { recorders: [coordinator] });
  if (chainId === DEV_CHAIN_ID && (await provider.getBalance(coordinator)) < 10n ** 18n)
    await (await signer.sendTransaction({ to: coordinator, value: DEV_FUND_WEI })).wait();
  const deployment = {
    chainId: chainId.toString(),
    deployedAt: new Date().toISOString(),
    deployBlock: addresses.deployBlock.toString(),
    contractsDigest: chain.CONTRACTS_DIGEST,
    contracts: {
      DatasetNFT: addresses.datasetNFT,
      DatasetLicence: addresses.datasetLicence,
      ModelRegistry: addresses.modelRegistry,
      JobEscrow: addresses.jobEscrow,
      ModelAsset: addresses.modelAsset,
    },
  };
  mkdirSync(dirname(out), { recursive: true });
  chain.writeFileAtomic(out, JSON.stringify(deployment, null, 2) + '\n');
  process.stdout.write(`deploy-contracts: deployed on chain ${chainId}, coordinator ${coordinator}; wrote ${out}\n`);
} finally {
  provider.destroy();
}
