// Public face of @sealfold/sqlite: helpers for the node:sqlite databases of the apps (no Nest).
export { MigrationError, migrate, type Migration, type MigrationErrorCode } from './migrate.js';
