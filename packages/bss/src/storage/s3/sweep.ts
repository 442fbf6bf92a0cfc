import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { mapLimit } from '@dreamlake/protocol';
import { BLOBS_PREFIX, UPLOADS_PREFIX } from './keys.ts';
import { listPartPages } from './parts.ts';
import { isUploadGone } from './s3-errors.ts';

/** When the upload last received a part (S3 keeps each part's LastModified), or null when it has none or is gone. */
async function latestPart(client: S3Client, bucket: string, key: string, uploadId: string): Promise<Date | null> {
  let latest: Date | null = null;
  for (const part of (await listPartPages(client, bucket, key, uploadId)) ?? []) {
    if (part.LastModified && (!latest || part.LastModified > latest)) latest = part.LastModified;
  }
  return latest;
}

/**
 * Multipart uploads last active before `olderThan` (started before it, and no part received
 * since), under `uploads/` (clients' uploads, and copies to a private key) and under `blobs/` (a
 * publish of a large blob is a multipart copy to its blob key; one a dead process left would stay
 * unseen there, as ListObjects shows no incomplete upload, and would be billed forever).
 */
async function staleMultipartUploads(client: S3Client, bucket: string, olderThan: Date) {
  const found = await Promise.all(
    [UPLOADS_PREFIX, BLOBS_PREFIX].map((prefix) => multipartUploadsBefore(client, bucket, prefix, olderThan)),
  );
  const started = found.flat();
  const active = await mapLimit(started, 8, async ({ key, uploadId }) => {
    const latest = await latestPart(client, bucket, key, uploadId);
    return latest !== null && latest >= olderThan;
  });
  return started.filter((_, i) => !active[i]);
}

async function multipartUploadsBefore(client: S3Client, bucket: string, prefix: string, olderThan: Date) {
  const started: { key: string; uploadId: string }[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListMultipartUploadsCommand({
        Bucket: bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
      }),
    );
    for (const upload of page.Uploads ?? []) {
      if (upload.Key && upload.UploadId && upload.Initiated && upload.Initiated < olderThan) {
        started.push({ key: upload.Key, uploadId: upload.UploadId });
      }
    }
    if (!page.IsTruncated) break;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
    if (keyMarker === undefined) break;
  }
  return started;
}

async function staleStagedObjects(client: S3Client, bucket: string, olderThan: Date): Promise<string[]> {
  const stale: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: UPLOADS_PREFIX, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      if (object.Key && object.LastModified && object.LastModified < olderThan) stale.push(object.Key);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return stale;
}

/**
 * Aborts multipart uploads last active before `olderThan` (started before it, and no part
 * received since: a long upload that still receives parts stays), blob copies a dead process left
 * under `blobs/` among them, and deletes staged objects and private copies older than that
 * which were never published (a verify that failed or a process that died mid-complete).
 * Answers how many it removed. Single requests, not DeleteObjects: that one requires a checksum
 * header some S3-compatible servers refuse in the form current SDKs send it.
 */
export async function sweepStale(client: S3Client, bucket: string, olderThan: Date): Promise<number> {
  const uploads = await staleMultipartUploads(client, bucket, olderThan);
  const aborted = await mapLimit(uploads, 8, async ({ key, uploadId }): Promise<number> => {
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
      return 1;
    } catch (error) {
      if (isUploadGone(error)) return 0;
      throw error;
    }
  });
  const staged = await staleStagedObjects(client, bucket, olderThan);
  await mapLimit(staged, 8, (key) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
  return aborted.reduce((a, b) => a + b, 0) + staged.length;
}
