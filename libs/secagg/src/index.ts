// Public face of @sealfold/secagg: SecAgg+ (Bell et al. CCS 2020) on Bonawitz et al. (CCS 2017), as pure client
// and server stage machines over the typed messages of @sealfold/protocol.
export { SecAggError, type SecAggErrorCode } from './errors.js';
export {
  MODULUS_BITS,
  MAX_NEIGHBOURHOOD,
  defaultNeighbourhood,
  defaultThreshold,
  makeParams,
  deriveRoundParams,
  quantisationBits,
  type RoundParamsInput,
  validateParams,
  quantisationStep,
  type SecAggParamsInput,
} from './params.js';
export { NeighbourhoodGraph } from './graph.js';
export { aesCtrKeystream, expandMask } from './prg.js';
export { PARALLEL_MIN_WORDS, closeMaskWorkers, defaultMaskThreads, prestartMaskWorkers } from './parallel.js';
export { quantiseWeighted, dequantiseSum } from './quantize.js';
export {
  CertificateCache,
  certificateMessage,
  certifySessionKey,
  createSessionIdentity,
  type CertifyingWallet,
  type SessionIdentity,
} from './session.js';
export {
  SecAggClient,
  type Curves,
  type SecAggClientOptions,
  type SecAggClientStage,
  type SecAggInput,
} from './client.js';
export {
  SecAggServer,
  type SecAggResult,
  type SecAggServerOptions,
  type SecAggServerStage,
  type SecAggServerStep,
} from './server.js';
export {
  CLIENT_STEPS,
  driveSecAgg,
  type SecAggClientStep,
  type SecAggDriveResult,
  type SecAggTransport,
} from './driver.js';
export { simulateRound, type SimulationOptions, type SimulationResult } from './simulation.js';
