// Public face of @sealfold/protocol: message types and binary codecs shared by the apps (no Nest, no I/O).
export * from './secagg.js';
export * from './secagg-codec.js';
export * from './job.js';
export * from './wire.js';
export * from './canonical-json.js';
export * from './bytes.js';
export * from './siwe.js';
export * from './errors.js';
export * from './model-bundle.js';
export * from './rest.js';
export * from './licence-id.js';
