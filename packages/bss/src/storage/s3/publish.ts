import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mapLimit } from './map-limit.ts';
import type { StagedObject } from './verify.ts';

export interface PublishOptions {
  singleCopyLimit: number;
  copyPartSize: number;
  copyConcurrency: number;
}

export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * Copies a verified staged object to its blob key inside the bucket (no bytes pass through BSS),
 * pinned to the ETag that was hashed. Publishing is idempotent: two publishers of the same
 * content both succeed and leave one blob with those bytes.
 */
export async function publishBlob(
  client: S3Client,
  bucket: string,
  staged: StagedObject,
  targetKey: string,
  sha256: string,
  options: PublishOptions,
): Promise<void> {
  const metadata = { sha256 };
  const source = copySource(bucket, staged.key);
  const ifMatch = staged.etag || undefined;
  if (staged.size <= options.singleCopyLimit) {
    await client.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: targetKey,
        CopySource: source,
        CopySourceIfMatch: ifMatch,
        MetadataDirective: 'REPLACE',
        ContentType: staged.contentType,
        Metadata: metadata,
      }),
    );
    return;
  }

  const created = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: targetKey,
      ContentType: staged.contentType,
      Metadata: metadata,
    }),
  );
  const uploadId = created.UploadId!;
  const ranges: { partNumber: number; start: number; end: number }[] = [];
  for (let start = 0, partNumber = 1; start < staged.size; start += options.copyPartSize, partNumber++) {
    ranges.push({ partNumber, start, end: Math.min(staged.size, start + options.copyPartSize) - 1 });
  }
  try {
    const parts = await mapLimit(ranges, options.copyConcurrency, async (range) => {
      const copied = await client.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: targetKey,
          UploadId: uploadId,
          PartNumber: range.partNumber,
          CopySource: source,
          CopySourceRange: `bytes=${range.start}-${range.end}`,
          CopySourceIfMatch: ifMatch,
        }),
      );
      return { PartNumber: range.partNumber, ETag: copied.CopyPartResult?.ETag };
    });
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: targetKey,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (error) {
    await client
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: targetKey, UploadId: uploadId }))
      .catch(() => {});
    throw error;
  }
}
