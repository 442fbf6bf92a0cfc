export { type BuildBssAppOptions, buildBssApp, JSON_BODY_LIMIT } from './app.ts';
export { ASSET_TYPES, type AssetType, isAssetType } from './asset-types.ts';
export { type BssConfig, ConfigError, loadBssConfig } from './config.ts';
export { type RunningBss, startBss } from './start.ts';
export { type DirectDownloads, servesDirectDownloads } from './storage/direct-download.ts';
export { createFsStorage, FsStorage, type FsStorageOptions } from './storage/fs/index.ts';
export { createStorage, type StorageHooks } from './storage/index.ts';
export * from './storage/keys.ts';
export { type PartPut, type PartReceiver, receivesParts } from './storage/part-receiver.ts';
export type { S3StorageConfig } from './storage/s3/config.ts';
export {
  receivesSingles,
  SINGLE_NONCE_PREFIX,
  type SingleReceiver,
  type SingleStager,
  type SingleUpload,
  type StagedSingle,
  stagesSingles,
} from './storage/single-upload.ts';
export * from './storage/storage.ts';
