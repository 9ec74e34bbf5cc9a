// deploy/deploy-contracts.mjs (compose.yaml's one-shot `contracts` service), run for real against an embedded chain
// served over JSON-RPC with no contracts on it: it deploys this version's contracts, records their digest, grants the
// coordinator COORDINATOR_ROLE and funds it; run again it does nothing; a deployment file of other contracts (an
// older Sealfold) is refused and kept as it was.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Contract, Wallet, type InterfaceAbi } from 'ethers';
import { ARTIFACTS, CONTRACTS_DIGEST, createProvider, readDeploymentFile, startEmbeddedChain } from '@sealfold/chain';
import { ROOT, TEST_TIMEOUT_MS, ensureBuilt } from '../e2e/cli-harness.js';

type Chain = Awaited<ReturnType<typeof startEmbeddedChain>>;

function runDeploy(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'deploy/deploy-contracts.mjs')], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('deploy/deploy-contracts.mjs', () => {
  let dir: string;
  let chain: Chain;
  let env: NodeJS.ProcessEnv;
  let out: string;
  const coordinator = Wallet.createRandom();

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'sealfold-deploy-'));
    chain = await startEmbeddedChain({ dataDir: join(dir, 'data'), deployContracts: false });
    out = join(dir, 'deployment', 'deployment.json');
    const keyFile = join(dir, 'coordinator.key');
    writeFileSync(keyFile, `${coordinator.privateKey}\n`, { mode: 0o600 });
    env = { SEALFOLD_CHAIN_RPC: chain.rpcUrl, SEALFOLD_CONTRACTS: out, SEALFOLD_COORDINATOR_KEY_FILE: keyFile };
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await chain?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'deploys this version’s contracts once, records their digest, and grants and funds the coordinator',
    async () => {
      const first = await runDeploy(env);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      const file = readDeploymentFile(out);
      expect(file.chainId).toBe(chain.chainId);
      expect(file.contractsDigest).toBe(CONTRACTS_DIGEST);
      const provider = createProvider(chain.rpcUrl, chain.chainId);
      try {
        for (const address of Object.values(file.contracts)) expect(await provider.getCode(address)).not.toBe('0x');
        const registry = new Contract(
          file.addresses.modelRegistry,
          ARTIFACTS.ModelRegistry.abi as InterfaceAbi,
          provider,
        );
        const role = (await registry.getFunction('COORDINATOR_ROLE').staticCall()) as string;
        expect(await registry.getFunction('hasRole').staticCall(role, coordinator.address)).toBe(true);
        expect(await provider.getBalance(coordinator.address)).toBeGreaterThanOrEqual(10n ** 18n);
      } finally {
        provider.destroy();
      }

      const written = readFileSync(out, 'utf8');
      const again = await runDeploy(env);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('nothing to do');
      expect(readFileSync(out, 'utf8')).toBe(written);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses a deployment file of other contracts and leaves it as it was',
    async () => {
      const current = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
      for (const contractsDigest of ['ab'.repeat(32), undefined]) {
        const stale = JSON.stringify({ ...current, contractsDigest }, null, 2);
        writeFileSync(out, stale);
        const refused = await runDeploy(env);
        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain('move it away');
        expect(readFileSync(out, 'utf8')).toBe(stale);
      }
    },
    TEST_TIMEOUT_MS,
  );
});
