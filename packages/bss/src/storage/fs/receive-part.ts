import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DreamLakeError, NotFoundError, TooLargeError } from '@dreamlake/presign';
import type { PartPut } from '../part-receiver.ts';
import { MAX_PART_SIZE, type PartInfo } from '../storage.ts';
import { copyBody } from './body.ts';
import { diskFull, isMissing, readJson, syncPath, tempName, writeJsonAtomic } from './files.ts';
import { type FsLayout, META, partData, partPointer } from './layout.ts';
import type { PartRecord, UploadMeta } from './records.ts';

const BASE64_MD5 = /^[A-Za-z0-9+/]{22}==$/;

function badDigest(): DreamLakeError {
  return new DreamLakeError('invalid_part', 'BadDigest: the part body does not match its Content-MD5');
}

/**
 * Streams one part to a temporary file beside its final place, checks size and MD5, and only
 * then renames it in and points `parts/{n}` at it. Nothing of a refused or cut-off body stays.
 */
export async function receivePart(layout: FsLayout, put: PartPut, body: Readable): Promise<PartInfo> {
  const dir = layout.uploadDir(put.owner, put.project, put.hash, put.uploadId);
  const meta = await readJson<UploadMeta>(join(dir, META));
  if (!meta) throw new NotFoundError('NoSuchUpload: the upload is unknown, aborted, completed or swept');

  const limit = Math.min(put.maxLength, MAX_PART_SIZE);
  if (put.contentLength !== undefined && put.contentLength > limit) {
    throw new TooLargeError(`the part may be at most ${limit} bytes`, { maxLength: limit });
  }
  if (put.contentMd5 !== undefined && !BASE64_MD5.test(put.contentMd5)) {
    throw new DreamLakeError('invalid_part', 'InvalidDigest: Content-MD5 must be the base64 of 16 bytes');
  }

  await mkdir(join(dir, 'data'), { recursive: true });
  await mkdir(join(dir, 'parts'), { recursive: true });
  const tmp = tempName(join(dir, 'data', String(put.partNumber)));
  const md5 = createHash('md5');
  let size = 0;
  try {
    await copyBody(body, createWriteStream(tmp, { flags: 'wx' }), (chunk) => {
      size += chunk.length;
      if (size > limit) throw new TooLargeError(`the part may be at most ${limit} bytes`, { maxLength: limit });
      md5.update(chunk);
    });
    const digest = md5.digest();
    if (put.contentMd5 !== undefined && digest.toString('base64') !== put.contentMd5) throw badDigest();
    const hex = digest.toString('hex');
    await syncPath(tmp);
    await rename(tmp, partData(dir, put.partNumber, hex));
    await syncPath(join(dir, 'data'));
    const record: PartRecord = { md5: hex, size };
    await writeJsonAtomic(partPointer(dir, put.partNumber), record);
    return { partNumber: put.partNumber, etag: `"${hex}"`, size };
  } catch (error) {
    await rm(tmp, { force: true });
    if (isMissing(error)) throw new NotFoundError('NoSuchUpload: the upload was aborted or completed meanwhile');
    throw diskFull(error);
  }
}
