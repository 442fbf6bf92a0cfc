export { ADMIN_USAGE, type AdminIo, runAdminCommand } from './admin-command.ts';
export { type BuildServerAppOptions, buildServerApp } from './app.ts';
export { type BlobStat, type BssClient, createBssClient } from './bss-client.ts';
export {
  ConfigError,
  databaseUrlFrom,
  type LoginThrottleConfig,
  loadServerConfig,
  MIN_SECRET_BYTES,
  type ServerConfig,
} from './config.ts';
export { type Engine, engineOf } from './db/dialect.ts';
export { migrateToLatest, migrateToNothing } from './db/migrate.ts';
export { type DB, openDatabase } from './db/open.ts';
export type { Database, Role } from './db/schema.ts';
export { ASSET_TYPES, type AssetType, fileNameProblem, NAME_PATTERN } from './names.ts';
export { type BlobRef, blobUrl, singleUploadUrl, type UploadUrls, uploadUrls } from './signing.ts';
export { type RunningServer, startServer } from './start.ts';
