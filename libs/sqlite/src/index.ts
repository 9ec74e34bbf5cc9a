// Public face of @sealfold/sqlite: the migration mechanism of the apps' databases (node:sqlite, and PostgreSQL for the
// coordinator through `migrateAsync`); no Nest, no driver.
export {
  MigrationError,
  checkMigrations,
  migrate,
  migrateAsync,
  migrationSql,
  pendingMigrations,
  type Migration,
  type MigrationErrorCode,
  type MigrationTarget,
  type MigrationTransaction,
  type SqlEngine,
} from './migrate.js';
