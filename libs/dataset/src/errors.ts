// Typed errors of @sealfold/dataset. Messages name the line and column of the offending field but never quote a
// data value: error text may reach a log, and no plaintext row may (DESIGN.md §1).
import { SealfoldError } from '@sealfold/protocol';

/** Why a dataset or manifest was refused. */
export type DatasetErrorCode =
  | 'EMPTY_FILE'
  | 'RAGGED_ROW'
  | 'BAD_QUOTING'
  | 'BAD_LINE_ENDING'
  | 'INVALID_UTF8'
  | 'NOT_CSV'
  | 'BAD_GZIP'
  | 'DUPLICATE_HEADER'
  | 'EMPTY_HEADER'
  | 'BAD_HEADER'
  | 'MISSING_LABEL'
  | 'NO_FEATURES'
  | 'NOT_NUMERIC'
  | 'NOT_INTEGER'
  | 'NOT_BOOLEAN'
  | 'NOT_DATE'
  | 'MISSING_VALUE'
  | 'AMBIGUOUS_TYPE'
  | 'RARE_VALUE'
  | 'UNKNOWN_LEVEL'
  | 'TOO_MANY_LEVELS'
  | 'SCHEMA_MISMATCH'
  | 'INVALID_SCHEMA'
  | 'INVALID_MANIFEST'
  | 'COMMITMENT_MISMATCH'
  | 'INVALID_INPUT';

/** A refused dataset, schema or manifest. `line` and `column` are 1-based; `column` counts fields, not characters. */
export class DatasetError extends SealfoldError<DatasetErrorCode> {
  override readonly name = 'DatasetError';
  constructor(
    code: DatasetErrorCode,
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(
      code,
      line === undefined ? message : `line ${line}${column === undefined ? '' : `, column ${column}`}: ${message}`,
    );
  }
}
