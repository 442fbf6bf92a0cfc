import type { S3Client } from '@aws-sdk/client-s3';
import { DreamLakeError } from '@dreamlake/presign';

interface SdkError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  /** The S3 operation that failed (`CompleteMultipartUpload`), set by `nameS3Failures`. */
  $operation?: string;
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

/**
 * Marks every error a command of `client` throws (after its retries) with the S3 operation it
 * came from, so the answer and the log can say which step S3 failed.
 */
export function nameS3Failures(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (typeof error === 'object' && error !== null && !('$operation' in error)) {
          const operation = (context.commandName ?? 'request').replace(/Command$/, '');
          Object.defineProperty(error, '$operation', { value: operation, enumerable: false });
        }
        throw error;
      }
    },
    { step: 'initialize', name: 'dreamlakeNameS3Failures' },
  );
}

/** What went wrong, for a message: `SlowDown, HTTP 503`, `ECONNRESET`, `TimeoutError`. */
function describe(sdk: SdkError): string {
  const what = sdk.code !== undefined && UNAVAILABLE_NET.has(sdk.code) ? sdk.code : (sdk.name ?? 'error');
  const status = sdk.$metadata?.httpStatusCode;
  return status !== undefined ? `${what}, HTTP ${status}` : what;
}

const UNAVAILABLE_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);

/**
 * What S3 itself caused, when it did (unreachable, throttled, 5xx, silent): `SlowDown`,
 * `InternalError`, `ECONNRESET`, `TimeoutError`…; null for any other failure (a missing key, a
 * refused precondition), which no retry changes.
 */
export function unavailabilityOf(error: unknown): string | null {
  const sdk = asSdk(error);
  const status = sdk.$metadata?.httpStatusCode;
  if (sdk.code !== undefined && UNAVAILABLE_NET.has(sdk.code)) return sdk.code;
  if (sdk.name === 'SlowDown' || sdk.name === 'TimeoutError') return sdk.name;
  if (status !== undefined && status >= 500) return sdk.name && sdk.name !== 'Unknown' ? sdk.name : `HTTP ${status}`;
  return null;
}

/**
 * Our error for a failure S3 itself caused (unreachable, throttled, 5xx), so clients see a 503
 * they may retry instead of a bare 500; anything else is returned unchanged.
 */
export function translateS3Error(error: unknown): unknown {
  if (error instanceof DreamLakeError) return error;
  const sdk = asSdk(error);
  if (unavailabilityOf(error) === null) return error;
  const attempts = sdk.$metadata?.attempts;
  // The cause is kept for the server log (the error handler logs 5xx errors); never sent to the client.
  return new DreamLakeError(
    'storage_unavailable',
    `S3 ${sdk.$operation ?? 'request'} failed${attempts !== undefined ? ` after ${attempts} attempts` : ''} (${describe(sdk)}): object storage is unavailable, retry later`,
    undefined,
    { cause: error },
  );
}
