export { run } from './bin.ts';
export { uploadFile, type FileResult, type UploadDeps, type UploadEvents, type LocalFile } from './upload/uploader.ts';
export { ServerApi } from './api.ts';
export { createAgent } from './http.ts';
export { DEFAULT_RETRY } from './upload/retry.ts';
export { Progress } from './progress.ts';
export { detectType } from './types.ts';
