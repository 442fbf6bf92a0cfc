export { ServerApi } from './api.ts';
export { run } from './bin.ts';
export {
  type ClientOptions,
  type DownloadCallOptions,
  type DownloadSummary,
  DreamLakeClient,
  type TransferProgress,
  type UploadCallOptions,
  type UploadSummary,
} from './client.ts';
export { createAgent } from './http.ts';
export { Progress } from './progress.ts';
export { detectType } from './types.ts';
export { DEFAULT_RETRY } from './upload/retry.ts';
export { type FileResult, type LocalFile, type UploadDeps, type UploadEvents, uploadFile } from './upload/uploader.ts';
