export { ServerApi } from './api.ts';
export { run } from './bin.ts';
export { BandwidthLimiter, type Clock, type LimiterOptions, limited, parseRate } from './bwlimit.ts';
export {
  type ClientOptions,
  type CommitAnswer,
  type DiffEntry,
  type DownloadCallOptions,
  type DownloadSummary,
  DreamLakeClient,
  type PlanEntry,
  type SnapshotView,
  type SyncCallOptions,
  type SyncPlan,
  type SyncSummary,
  type TransferProgress,
  type UploadCallOptions,
  type UploadSummary,
  type VerifyReport,
} from './client.ts';
export {
  DEFAULT_IGNORES,
  type FilterOptions,
  type GlobRule,
  IGNORE_FILE_NAME,
  WalkFilter,
} from './filters/index.ts';
export { createAgent } from './http.ts';
export { Progress } from './progress.ts';
export { TooManyDeletes } from './sync/run.ts';
export { DEFAULT_RETRY } from './transfer/retry.ts';
export { detectType } from './types.ts';
export { assertUnchanged, type FileChange, FileChangedError, fileChange, type SeenFile } from './upload/changed.ts';
export { type CollectOptions, collectFiles, type IgnoredEntry, type SkippedEntry } from './upload/files.ts';
export { type FileResult, type LocalFile, type UploadDeps, type UploadEvents, uploadFile } from './upload/uploader.ts';
