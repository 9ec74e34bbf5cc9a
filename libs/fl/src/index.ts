// libs/fl: federated-learning engine (tfjs backend, model spec, local training, strategies, DP, evaluation).
// Imports no Nest, no secagg/chain/storage: the apps wrap it with SecAgg+ and transport.
export { FlError, type FlErrorCode } from './errors.js';
export {
  type BackendInfo,
  type BackendName,
  initBackend,
  missingKernels,
  useBackendFor,
  withBackendFor,
} from './backend.js';
export {
  ACTIVATIONS,
  type Activation,
  type LayerSpec,
  MODEL_LIMITS,
  type ModelSpec,
  type WeightEntry,
  type WeightLayout,
  canonicalJson,
  layerSpecSchema,
  modelSpecHash,
  modelSpecSchema,
  parseModelSpec,
  weightLayout,
} from './spec.js';
export { type BuiltModel, buildModel, flattenWeights, initialWeights, setFlatWeights } from './model.js';
export { WEIGHTS_HEADER_BYTES, decodeWeights, encodeWeights, weightsDigest } from './codec.js';
export {
  DEFAULT_VALIDATION_FRACTION,
  type LocalData,
  type Split,
  selectSamples,
  splitTrainValidation,
  validateLocalData,
  validationCount,
} from './data.js';
export {
  type EvalSums,
  type OptimizerName,
  type TrainLocalOptions,
  type TrainLocalResult,
  combineEval,
  evaluateLocal,
  predictLocal,
  trainLocal,
} from './train.js';
export {
  FEDADAM_DEFAULTS,
  type FedAdamParams,
  type FedAdamState,
  fedAdamInit,
  fedAdamStep,
  fedAvgStep,
  meanUpdate,
  weightedSum,
} from './strategy.js';
export {
  STRATEGY_NAMES,
  type ServerStrategy,
  type StrategyName,
  decodeFedAdamState,
  encodeFedAdamState,
  isStrategyName,
  serverStrategy,
} from './strategies.js';
export { addGaussianNoise, clipL2, l2Norm, noiseShareStd, privatizeUpdate } from './dp.js';
export {
  type RecordDpOptions,
  assertRecordDpModel,
  clippedGradientSum,
  poissonSample,
  supportsNormTrick,
} from './dp-sgd.js';
export {
  RDP_ORDERS,
  type RdpConversion,
  dpSgdSchedule,
  epsilonFromRdp,
  exactGaussianEpsilon,
  gaussianEpsilon,
  gaussianRdp,
  jobEpsilon,
  noiseMultiplierFor,
  rdpToEpsilon,
  recordLevelEpsilon,
  recordLevelEvalNoiseMultiplier,
  recordLevelJobEpsilon,
  recordLevelNoiseMultiplier,
  sampledGaussianEpsilon,
  sampledGaussianRdp,
  releasesEpsilon,
  releasesPerJob,
} from './accountant.js';
export { CryptoUniform, GaussianSampler, SeededRng, type UniformSource } from './rng.js';
export {
  STATISTICS_EPSILON_SHARE,
  clampNoisyStatistics,
  privatizeStatistics,
  statisticsSensitivity,
} from './statistics-dp.js';
export {
  type DatasetDpPlan,
  type DatasetDpTerms,
  type DatasetReleases,
  allReleases,
  datasetEpsilon,
  datasetNoiseMultiplier,
  hasNoise,
  planDatasetDp,
  signedDpAddsNoise,
  plannedDatasetEpsilon,
  statisticsNoiseMultiplier,
} from './dataset-epsilon.js';
export {
  EVAL_LOSS_CAP,
  EVAL_VECTOR_CLIP,
  evalFromSum,
  evalVector,
  recordEvalSensitivity,
  recordLevelEvalInput,
} from './secure-eval.js';
export {
  INPUT_ENCODING_FORMAT,
  MISSING_TOKENS,
  PreprocessError,
  STATS_BITS,
  STATS_CLIP,
  STATS_DIGITS,
  STATS_FRACTION_BITS,
  STATS_MAX_WEIGHT,
  SchemaMappingError,
  addStatistics,
  checkEncodingFits,
  encodeRows,
  encodedWidth,
  encodingFromStatistics,
  inputEncodingSchema,
  localStatistics,
  majorityBaseline,
  mapToJobSchema,
  rawRowsFromRecords,
  statisticsEntries,
  statisticsFromSum,
  statisticsInput,
  statisticsLength,
  type FeatureStatistics,
  type InputEncoding,
  type JobStatistics,
  type RawRows,
  type SourceTable,
} from './preprocess.js';
export {
  type AucResult,
  type EpsilonLowerBound,
  type Interval,
  type RocPoint,
  type TprAtFpr,
  aucWithCi,
  betaQuantile,
  clopperPearson,
  empiricalEpsilonLowerBound,
  normalQuantile,
  regularizedBeta,
  rocPoints,
  tprAtFpr,
} from './audit/stats.js';
export {
  type AttackResult,
  type MembershipAuditOptions,
  type MembershipAuditReport,
  type MembershipSignals,
  type OfflineLiraResult,
  type ShadowTraining,
  auditMembership,
  evaluateAttack,
  membershipSignals,
  offlineLira,
} from './audit/attack.js';
