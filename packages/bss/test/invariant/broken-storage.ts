/**
 * A disk backend broken on purpose, to show the model-based test can fail: its single-shot PUT
 * publishes whatever body arrives under the signed hash, without counting or hashing it.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { writeBlobFile } from '../../src/storage/fs/blob-file.ts';
import type { FsStorage } from '../../src/storage/fs/index.ts';
import type { SingleUpload } from '../../src/storage/single-upload.ts';
import type { BlobInfo, Storage } from '../../src/storage/storage.ts';

async function publishUnverified(storage: FsStorage, upload: SingleUpload, body: Readable): Promise<BlobInfo> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
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

/** The disk storage with its single-shot check taken out. */
export function publishingWithoutVerifying(storage: Storage): Storage {
  if (storage.kind !== 'fs') throw new Error('this broken storage wraps the disk backend');
  const fs = storage as FsStorage;
  return new Proxy(fs, {
    get(target, prop) {
      if (prop === 'receiveSingle')
        return (upload: SingleUpload, body: Readable) => publishUnverified(fs, upload, body);
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
