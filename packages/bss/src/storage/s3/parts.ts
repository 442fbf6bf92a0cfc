import { ListPartsCommand, type ListPartsCommandOutput, type Part, type S3Client } from '@aws-sdk/client-s3';
import { bareEtag } from '../keys.ts';
import type { PartInfo } from '../storage.ts';
import { isUploadGone } from './s3-errors.ts';

/** An ETag in the form S3 documents: the hex digest in double quotes. */
export function quoteEtag(etag: string): string {
  return `"${bareEtag(etag)}"`;
}

/**
 * Every part S3 lists for the upload, as ListParts gives them, following PartNumberMarker past
 * the 1,000 parts one answer carries. Null when the upload is unknown, aborted, completed or swept.
 */
export async function listPartPages(
  client: S3Client,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<Part[] | null> {
  const parts: Part[] = [];
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
    parts.push(...(page.Parts ?? []));
    const next = page.NextPartNumberMarker;
    if (!page.IsTruncated || next === undefined || next === marker) break;
    marker = next;
  }
  return parts;
}

/**
 * Every part S3 holds for the upload, in part-number order. Null when the upload is unknown,
 * aborted, completed or swept.
 */
export async function listAllParts(
  client: S3Client,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<PartInfo[] | null> {
  const listed = await listPartPages(client, bucket, key, uploadId);
  if (!listed) return null;
  const parts: PartInfo[] = [];
  for (const part of listed) {
    if (part.PartNumber === undefined) continue;
    parts.push({ partNumber: part.PartNumber, etag: quoteEtag(part.ETag ?? ''), size: part.Size ?? 0 });
  }
  return parts.sort((a, b) => a.partNumber - b.partNumber);
}
