import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isObjectMissing } from './s3-errors.ts';

/** A completed but not yet verified object under its upload key. */
export interface StagedObject {
  key: string;
  size: number;
  /** Pins every later read and copy to exactly these bytes. */
  etag: string;
  contentType: string;
}

export async function headObject(client: S3Client, bucket: string, key: string): Promise<StagedObject | null> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return {
      key,
      size: head.ContentLength ?? 0,
      etag: head.ETag ?? '',
      contentType: head.ContentType ?? 'application/octet-stream',
    };
  } catch (error) {
    if (isObjectMissing(error)) return null;
    throw error;
  }
}

export interface HashReadOptions {
  /** The largest range read at once. */
  chunkSize: number;
  concurrency: number;
}

const MiB = 1024 * 1024;

/**
 * The range size for reading an object of `size` bytes: an object spread over all `concurrency`
 * reads (whole MiB, at least one), but no range over `chunkSize`, so that memory stays within
 * chunkSize × concurrency. A 20 MiB object is read as 4 ranges of 5 MiB at once, not 3 of 8 MiB.
 */
export function rangeSize(size: number, options: HashReadOptions): number {
  const spread = Math.ceil(size / Math.max(1, options.concurrency) / MiB) * MiB;
  return Math.max(MiB, Math.min(options.chunkSize, spread));
}

/** One range of the object, as the chunks the socket delivered (no copy into one buffer). */
async function readRange(
  client: S3Client,
  bucket: string,
  object: StagedObject,
  start: number,
  end: number,
  signal: AbortSignal,
): Promise<Buffer[]> {
  const response = await client.send(
    new GetObjectCommand({
      Bucket: bucket,
      Key: object.key,
      Range: `bytes=${start}-${end}`,
      IfMatch: object.etag || undefined,
    }),
    { abortSignal: signal },
  );
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response.Body as Readable) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
  }
  if (length !== end - start + 1) throw new Error(`short read of ${object.key} at ${start}: ${length} bytes`);
  return chunks;
}

/**
 * Reads the object once, in ranges fetched `concurrency` at a time and hashed in order, and
 * answers its SHA-256 in hex. Memory is bounded by chunkSize × concurrency, whatever the size.
 * Every range is pinned to the object's ETag, so the hash is of one version of it. With `into`
 * (`object.size` bytes), the bytes hashed are also kept there, in order.
 */
export async function sha256OfObject(
  client: S3Client,
  bucket: string,
  object: StagedObject,
  options: HashReadOptions,
  into?: Buffer,
): Promise<string> {
  const hash = createHash('sha256');
  const controller = new AbortController();
  const inflight: Promise<Buffer[]>[] = [];
  const chunkSize = rangeSize(object.size, options);
  let nextStart = 0;
  let kept = 0;
  const launch = () => {
    const start = nextStart;
    const end = Math.min(object.size, start + chunkSize) - 1;
    nextStart = end + 1;
    const read = readRange(client, bucket, object, start, end, controller.signal);
    read.catch(() => {}); // awaited in order below; this only keeps an early failure from going unhandled
    inflight.push(read);
  };
  try {
    while (nextStart < object.size && inflight.length < options.concurrency) launch();
    while (inflight.length > 0) {
      for (const chunk of await inflight.shift()!) {
        hash.update(chunk);
        if (into) kept += chunk.copy(into, kept);
      }
      if (nextStart < object.size) launch();
    }
  } catch (error) {
    controller.abort();
    throw error;
  }
  return hash.digest('hex');
}
