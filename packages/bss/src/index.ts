export { loadBssConfig, ConfigError, type BssConfig, type S3Config } from './config.ts';
export { buildBssApp, JSON_BODY_LIMIT, type BuildBssAppOptions } from './app.ts';
export { startBss, type RunningBss } from './start.ts';
export { createStorage, type StorageHooks } from './storage/index.ts';
export { ASSET_TYPES, isAssetType, type AssetType } from './asset-types.ts';
export * from './storage/storage.ts';
export * from './storage/keys.ts';
export { receivesParts, type PartPut, type PartReceiver } from './storage/part-receiver.ts';
export {
  receivesSingles,
  stagesSingles,
  SINGLE_NONCE_PREFIX,
  type SingleReceiver,
  type SingleStager,
  type SingleUpload,
  type StagedSingle,
} from './storage/single-upload.ts';
export { servesDirectDownloads, type DirectDownloads } from './storage/direct-download.ts';
export { createFsStorage, FsStorage, type FsStorageOptions } from './storage/fs/index.ts';
