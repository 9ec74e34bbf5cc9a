// A valid JobRequest v4 for the protocol specs (one copy: job.spec.ts and wire.spec.ts both start from it).
import { dpParamsFromFloats, jobTraining, NO_ESCROW, type JobRequest } from '../src/job.js';

export const sampleJobRequest = (): JobRequest => ({
  buyer: '0x' + '11'.repeat(20),
  coordinator: '0x' + '22'.repeat(20),
  datasets: [1n, 2n, 3n],
  licences: [4n, 5n, 6n],
  modelSpecHash: '0x' + 'ab'.repeat(32),
  jobSchemaHash: '0x' + 'cd'.repeat(32),
  recipient: 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p',
  strategy: 'fedavg',
  rounds: 3,
  training: jobTraining(),
  dp: dpParamsFromFloats({ noiseMultiplier: 0, clipNorm: 0, delta: 0 }),
  secagg: { enabled: true, minContributors: 3 },
  escrow: NO_ESCROW,
  nonce: 1n,
  deadline: 2_000_000_000n,
  chainId: 31337n,
});
