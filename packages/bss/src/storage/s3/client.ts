import { S3Client } from '@aws-sdk/client-s3';
import { observeS3, type S3Activity } from './activity.ts';
import { DEFAULT_S3_MAX_ATTEMPTS, DEFAULT_S3_TIMEOUT_MS, type S3StorageConfig } from './config.ts';
import { nameS3Failures } from './s3-errors.ts';

const MAX_CONNECT_MS = 10_000;
/**
 * A pooled connection to S3 left idle this long is closed: the pool shrinks back between bursts
 * (it may hold up to 50 per client), and a connection is not taken up again after so long a
 * silence that the far end may have closed it.
 */
export const S3_IDLE_SOCKET_MS = 15_000;

/**
 * BSS's S3 client; its failed attempts and retries are told to `activity` when given. `idleSocketMs`
 * is for tests (S3_IDLE_SOCKET_MS otherwise).
 */
export function createS3Client(
  config: S3StorageConfig,
  activity?: S3Activity,
  idleSocketMs = S3_IDLE_SOCKET_MS,
): S3Client {
  const credentials =
    config.accessKeyId && config.secretAccessKey
      ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
      : undefined;
  const timeoutMs = config.timeoutMs ?? DEFAULT_S3_TIMEOUT_MS;
  const client = new S3Client({
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    // Without these the SDK adds flexible checksums: presigned part URLs would sign the checksum
    // of an empty body, and S3-compatible servers that do not know them refuse streamed uploads.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // SlowDown, 5xx, resets and timeouts are retried with jittered exponential backoff.
    retryMode: 'standard',
    maxAttempts: config.maxAttempts ?? DEFAULT_S3_MAX_ATTEMPTS,
    // The SDK's default waits for ever: a stalled S3 would hold the request, and the client's upload, for good.
    // The socket timeout counts silence, so a long copy or body that keeps moving is never cut.
    requestHandler: {
      connectionTimeout: Math.min(MAX_CONNECT_MS, timeoutMs),
      socketTimeout: timeoutMs,
      // The agents' timeout applies to pooled connections while idle; a request's own is socketTimeout.
      httpAgent: { timeout: idleSocketMs },
      httpsAgent: { timeout: idleSocketMs },
    },
  });
  nameS3Failures(client);
  if (activity) observeS3(client, activity);
  return client;
}
