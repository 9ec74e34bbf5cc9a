import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet, encryptKeystoreJsonSync } from 'ethers';
import { chainConfigFromEnv, connectFromEnv, loadSignerFromKeyFile, parseContractsSetting } from './config.js';
import { startEmbeddedChain } from './embedded.js';
import { ChainError } from './errors.js';

describe('chain configuration from the environment', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sealfold-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const addrs = {
    DatasetNFT: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    DatasetLicence: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
    ModelRegistry: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
  };

  it('is absent without SEALFOLD_CHAIN_RPC and needs a chain id with it', () => {
    expect(chainConfigFromEnv({})).toBeUndefined();
    expect(() => chainConfigFromEnv({ SEALFOLD_CHAIN_RPC: 'http://127.0.0.1:8545' })).toThrow(/SEALFOLD_CHAIN_ID/);
    expect(
      chainConfigFromEnv({ SEALFOLD_CHAIN_RPC: 'http://127.0.0.1:8545', SEALFOLD_CHAIN_ID: '31337' }),
    ).toMatchObject({
      chainId: 31337n,
      addresses: undefined,
    });
  });

  it('reads contract addresses inline or from a file, and rejects bad addresses', () => {
    expect(parseContractsSetting(JSON.stringify(addrs)).datasetNFT).toBe(addrs.DatasetNFT);
    const file = join(dir, 'deployment.json');
    writeFileSync(file, JSON.stringify({ chainId: '1', deployBlock: '12', contracts: addrs }));
    expect(parseContractsSetting(file)).toMatchObject({ datasetLicence: addrs.DatasetLicence, deployBlock: 12n });
    expect(() => parseContractsSetting(JSON.stringify({ ...addrs, DatasetNFT: '0x12' }))).toThrow(ChainError);
    expect(() => parseContractsSetting(join(dir, 'missing.json'))).toThrow(/no such file/);
  });

  it('loads a hex key file and an encrypted keystore (password required)', async () => {
    const w = Wallet.createRandom();
    const hexFile = join(dir, 'key.hex');
    writeFileSync(hexFile, `${w.privateKey}\n`, { mode: 0o600 });
    expect((await loadSignerFromKeyFile(hexFile)).address).toBe(w.address);
    const jsonFile = join(dir, 'key.json');
    writeFileSync(
      jsonFile,
      encryptKeystoreJsonSync({ address: w.address, privateKey: w.privateKey }, 'pw', { scrypt: { N: 1024 } }),
      { mode: 0o600 },
    );
    expect((await loadSignerFromKeyFile(jsonFile, 'pw')).address).toBe(w.address);
    await expect(loadSignerFromKeyFile(jsonFile)).rejects.toThrow(/SEALFOLD_KEY_PASSWORD/);
    await expect(loadSignerFromKeyFile(jsonFile, 'wrong')).rejects.toThrow(/cannot decrypt/);
    writeFileSync(join(dir, 'junk'), 'hello');
    await expect(loadSignerFromKeyFile(join(dir, 'junk'))).rejects.toThrow(/neither/);
  });

  it('connects to an external RPC (here the embedded chain) from the environment only', async () => {
    const chain = await startEmbeddedChain({ dataDir: join(dir, 'data') });
    const keyFile = join(dir, 'dev.key');
    writeFileSync(keyFile, chain.accounts[4].privateKey, { mode: 0o600 });
    const client = await connectFromEnv({
      SEALFOLD_CHAIN_RPC: chain.rpcUrl,
      SEALFOLD_CHAIN_ID: '31337',
      SEALFOLD_KEY_FILE: keyFile,
      SEALFOLD_CONTRACTS: join(dir, 'data', 'chain', 'deployment.json'),
    });
    try {
      expect(client.signerAddress).toBe(chain.accounts[4].address);
      expect(await client.listDatasets()).toEqual([]);
      await expect(connectFromEnv({ SEALFOLD_CHAIN_RPC: chain.rpcUrl, SEALFOLD_CHAIN_ID: '1' })).rejects.toThrow(
        /wrong chain: expected chain id 1/,
      );
    } finally {
      client.close();
      await chain.close();
    }
  });
});
