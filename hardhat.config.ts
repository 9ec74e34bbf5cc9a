// Hardhat 3 configuration for the Sealfold contracts (contracts/).
// Compiles offline with the npm `solc` package (soljson.js): Hardhat's compiler download is not reachable here,
// so the version below must equal the installed solc package's version.
import { createRequire } from 'node:module';
import type { HardhatUserConfig } from 'hardhat/config';

const require = createRequire(import.meta.url);
const solcVersion: string = (require('solc/package.json') as { version: string }).version;

const config: HardhatUserConfig = {
  paths: {
    sources: 'contracts/src',
    tests: { solidity: 'contracts/test' },
    artifacts: 'contracts/artifacts',
    cache: 'contracts/cache',
  },
  solidity: {
    version: solcVersion,
    path: require.resolve('solc/soljson.js'),
    settings: {
      // OpenZeppelin >= 5.5 uses mcopy (EIP-5656), which needs cancun.
      evmVersion: 'cancun',
      optimizer: { enabled: true, runs: 10_000 },
    },
  },
  test: {
    solidity: {
      fuzz: { runs: 256 },
      invariant: { runs: 64, depth: 32, failOnRevert: false },
    },
  },
};

export default config;
