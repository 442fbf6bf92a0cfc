import type { AssetType } from './asset-types.ts';

/**
 * The signed actions of BSS URLs. Each is the first field of the canonical string a URL is signed
 * over, so a URL signed for one can never be used for another.
 */
export const ACTIONS = {
  uploadInit: 'upload-init',
  uploadParts: 'upload-parts',
  uploadPart: 'upload-part',
  uploadPartsDone: 'upload-parts-done',
  uploadComplete: 'upload-complete',
  uploadAbort: 'upload-abort',
  uploadSingle: 'upload-single',
  stat: 'stat',
  download: 'download',
  /** The server collecting a blob no index entry points at. */
  delete: 'delete',
  receipt: 'blob-receipt',
} as const;
export type Action = (typeof ACTIONS)[keyof typeof ACTIONS];

/**
 * The five multipart steps of an upload grant: the grant's answer field, the path step under
 * `/{type}/upload/multipart/`, its HTTP method, and the signed action.
 */
export const UPLOAD_STEPS = [
  { field: 'initUrl', step: 'init', method: 'POST', action: ACTIONS.uploadInit },
  { field: 'partsUrl', step: 'parts', method: 'POST', action: ACTIONS.uploadParts },
  { field: 'partsDoneUrl', step: 'parts-done', method: 'GET', action: ACTIONS.uploadPartsDone },
  { field: 'completeUrl', step: 'complete', method: 'POST', action: ACTIONS.uploadComplete },
  { field: 'abortUrl', step: 'abort', method: 'POST', action: ACTIONS.uploadAbort },
] as const;
export type UploadStep = (typeof UPLOAD_STEPS)[number];
export type UploadUrlField = UploadStep['field'];
export type UploadStepName = UploadStep['step'];

/** `{type}/upload/multipart/{step}`, relative to a BSS base URL. */
export function multipartPath(type: AssetType | string, step: UploadStepName): string {
  return `${type}/upload/multipart/${step}`;
}

/** `upload/part`: where one part's bytes go on a disk backend (each part URL signed by BSS). */
export const PART_PATH = 'upload/part';

/** `{type}/upload/single`: the single-shot upload of a file of one part. */
export function singlePath(type: AssetType | string): string {
  return `${type}/upload/single`;
}

/** `blobs/stat`, `blobs/download` and `blobs/delete`. */
export function blobPath(action: 'stat' | 'download' | 'delete'): string {
  return `blobs/${action}`;
}

/** Signed params, beyond owner, project and hash, that a grant may bind its URLs to. */
export const GRANT_PARAMS = ['size', 'user'] as const;
