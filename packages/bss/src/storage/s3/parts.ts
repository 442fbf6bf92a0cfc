import { ListPartsCommand, type ListPartsCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { bareEtag } from '../keys.ts';
import type { PartInfo } from '../storage.ts';
import { isUploadGone } from './s3-errors.ts';

/** An ETag in the form S3 documents: the hex digest in double quotes. */
export function quoteEtag(etag: string): string {
  return `"${bareEtag(etag)}"`;
}

/**
 * Every part S3 holds for the upload, in part-number order, following PartNumberMarker past the
 * 1,000 parts one ListParts answer carries. Null when the upload is unknown, aborted, completed
 * or swept.
 */
export async function listAllParts(
  client: S3Client,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<PartInfo[] | null> {
  const parts: PartInfo[] = [];
  let marker: string | undefined;
  for (;;) {
    let page: ListPartsCommandOutput;
    try {
      page = await client.send(
        new ListPartsCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MaxParts: 1000,
          PartNumberMarker: marker,
        }),
      );
    } catch (error) {
      if (isUploadGone(error)) return null;
      throw error;
    }
    for (const part of page.Parts ?? []) {
      if (part.PartNumber === undefined) continue;
      parts.push({ partNumber: part.PartNumber, etag: quoteEtag(part.ETag ?? ''), size: part.Size ?? 0 });
    }
    const next = page.NextPartNumberMarker;
    if (!page.IsTruncated || next === undefined || next === marker) break;
    marker = next;
  }
  return parts.sort((a, b) => a.partNumber - b.partNumber);
}
