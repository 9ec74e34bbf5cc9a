// @sealfold/dataset: streaming RFC 4180 CSV, schema inference/validation, what may be published (k), commitment,
// manifest, typed rows with missing masks, dense training form.
export { DatasetError, type DatasetErrorCode } from './errors.js';
export { CsvTokenizer, type BatchSink, type RecordSink, type RegionSink, type ScannedRecords } from './tokenizer.js';
export { CommitmentHasher, COMMITMENT_DOMAIN, commitmentOfTable } from './commitment.js';
export { classifyNumber, type NumberClass } from './numbers.js';
export {
  ColumnSchema,
  ColumnRole,
  DatePart,
  DEFAULT_K,
  DEFAULT_MISSING_TOKENS,
  DEFAULT_HASH_BUCKETS,
  DEFAULT_DATE_PARTS,
  columnRole,
  missingTokens,
  schemaK,
  type BooleanColumn,
  type DateColumn,
  type DatetimeColumn,
  type TextColumn,
  type ColumnType,
  DatasetSchemaSchema,
  parseSchema,
  parseSchemaJson,
  schemaClasses,
  datasetSchemaJsonSchema,
  type Column,
  type FloatColumn,
  type IntegerColumn,
  type CategoricalColumn,
  type DatasetSchema,
} from './schema.js';
export { CsvInspector, sortLevels, type InspectOptions, type InspectResult } from './inspector.js';
export { publicSchemaOf, type ColumnReport } from './privacy.js';
export { featureLayout, categoricalEncoding, type ColumnLayout } from './encoding.js';
export { booleanValue, dateValue, datetimeValue, dateParts, epochDays, hashBucket } from './values.js';
export { inspectCsv, inspectCsvTee, createInspectStream, type InspectTee } from './inspect.js';
export {
  csvRecords,
  toDense,
  typedRows,
  type DenseOptions,
  type DenseDataset,
  type TypedRow,
  type TypedValue,
} from './records.js';
export { bytesOf, decodedBytes, isGzip, type ByteSource } from './source.js';
export {
  MANIFEST_FORMAT_VERSION,
  MANIFEST_FORMAT_VERSIONS,
  SEALED_RECIPIENT_TYPES,
  sealedRecipientType,
  type SealedRecipientType,
  UNLIMITED_EPSILON,
  ManifestSchema,
  SealedObjectSchema,
  LicenceTermsSchema,
  parseManifest,
  serializeManifest,
  manifestJsonSchema,
  isEip55Address,
  toEip55Address,
  type Manifest,
  type SealedObject,
  type LicenceTerms,
} from './manifest.js';
export {
  sealDataset,
  registrationOf,
  type SealDatasetOptions,
  type SealedDataset,
  type SealingStore,
  type DatasetRegistration,
} from './seal.js';
export {
  resealDataset,
  recipientTypeOf,
  type ResealOptions,
  type ResealedDataset,
  type ResealingStore,
} from './reseal.js';
