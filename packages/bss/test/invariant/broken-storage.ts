/**
 * Backends broken on purpose, to show the model-based test can fail: their single-shot PUT to BSS
 * publishes whatever body arrives under the signed hash, without counting or hashing it.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { writeBlobFile } from '../../src/storage/fs/blob-file.ts';
import type { FsStorage } from '../../src/storage/fs/index.ts';
import { blobKey } from '../../src/storage/keys.ts';
import type { S3Storage } from '../../src/storage/s3/index.ts';
import type { SingleUpload } from '../../src/storage/single-upload.ts';
import type { BlobInfo, Storage } from '../../src/storage/storage.ts';

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function publishUnverified(storage: FsStorage, upload: SingleUpload, body: Readable): Promise<BlobInfo> {
  const bytes = await readAll(body);
  const path = storage.layout.blobPath(upload);
  await mkdir(dirname(path), { recursive: true });
  const { owner, project, hash, contentType } = upload;
  try {
    await writeBlobFile(path, { owner, project, hash, size: bytes.length, contentType, createdAt: Date.now() }, bytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return { owner, project, hash, size: bytes.length, contentType };
}

/** The S3 storage's own client and bucket (private fields, read here only to break it). */
function s3Parts(storage: S3Storage): { client: S3Client; bucket: string } {
  return {
    client: Reflect.get(storage, 'client') as S3Client,
    bucket: Reflect.get(storage, 'bucket') as string,
  };
}

/** Writes the body to the signed blob key as it came, in one PutObject with its own checksum. */
async function putUnverified(storage: S3Storage, upload: SingleUpload, body: Readable): Promise<BlobInfo> {
  const bytes = await readAll(body);
  const { client, bucket } = s3Parts(storage);
  const { owner, project, hash, contentType } = upload;
  await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: blobKey(upload), Body: bytes, ContentType: contentType }),
  );
  return { owner, project, hash, size: bytes.length, contentType };
}

/** The storage with its single-shot check taken out: disk, or S3's bodies PUT to BSS. */
export function publishingWithoutVerifying(storage: Storage): Storage {
  const broken =
    storage.kind === 'fs'
      ? (upload: SingleUpload, body: Readable) => publishUnverified(storage as FsStorage, upload, body)
      : (upload: SingleUpload, body: Readable) => putUnverified(storage as S3Storage, upload, body);
  return new Proxy(storage, {
    get(target, prop) {
      if (prop === 'receiveSingle') return broken;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
