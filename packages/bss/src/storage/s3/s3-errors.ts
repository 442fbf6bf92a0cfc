import { DreamLakeError } from '@dreamlake/presign';

interface SdkError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

function asSdk(error: unknown): SdkError {
  return typeof error === 'object' && error !== null ? (error as SdkError) : {};
}

export function s3ErrorName(error: unknown): string | undefined {
  return asSdk(error).name;
}

export function httpStatusOf(error: unknown): number | undefined {
  return asSdk(error).$metadata?.httpStatusCode;
}

/**
 * The upload is gone (unknown, aborted, completed or swept). AWS answers NoSuchUpload; Ceph RGW
 * answers NoSuchKey for ListParts after an abort.
 */
export function isUploadGone(error: unknown): boolean {
  const name = s3ErrorName(error);
  return name === 'NoSuchUpload' || name === 'NoSuchKey';
}

/** An object is absent: NoSuchKey on GET, a bare 404 (`NotFound`) on HEAD. */
export function isObjectMissing(error: unknown): boolean {
  const name = s3ErrorName(error);
  return name === 'NoSuchKey' || name === 'NotFound' || (name !== 'NoSuchBucket' && httpStatusOf(error) === 404);
}

export function isPreconditionFailed(error: unknown): boolean {
  return s3ErrorName(error) === 'PreconditionFailed' || httpStatusOf(error) === 412;
}

const UNAVAILABLE_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);

/**
 * Our error for a failure S3 itself caused (unreachable, throttled, 5xx), so clients see a 503
 * they may retry instead of a bare 500; anything else is returned unchanged.
 */
export function translateS3Error(error: unknown): unknown {
  if (error instanceof DreamLakeError) return error;
  const sdk = asSdk(error);
  const status = sdk.$metadata?.httpStatusCode;
  const unavailable =
    (sdk.code !== undefined && UNAVAILABLE_NET.has(sdk.code)) ||
    sdk.name === 'SlowDown' ||
    sdk.name === 'TimeoutError' ||
    (status !== undefined && status >= 500);
  if (!unavailable) return error;
  const translated = new DreamLakeError('storage_unavailable', 'object storage is unavailable, retry later');
  // Kept for the server log (the error handler logs 5xx errors); never sent to the client.
  Object.defineProperty(translated, 'cause', { value: error, enumerable: false });
  return translated;
}
