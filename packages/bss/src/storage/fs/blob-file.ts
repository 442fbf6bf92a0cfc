import { close, fsync, open, read } from 'node:fs';
import { promisify } from 'node:util';
import type { BlobManifest } from './records.ts';
import { writeAll } from './synced-file.ts';

/**
 * A small blob kept in one file instead of a folder (`blobs/{owner}/{project}/{sha256}` is then a
 * file): one line of its manifest as JSON, then its bytes. Publishing one costs a file written
 * and flushed and a hard link, where a folder costs a folder, two files and three flushes; readers
 * tell the two forms apart by what the path is. JSON never holds a raw newline, so the first one
 * ends the manifest.
 *
 * The callback forms of `node:fs` are used: a small blob is a few system calls, and the promise
 * API's file handles cost more than the calls themselves.
 */
const openFd = promisify(open);
const fsyncFd = promisify(fsync);
const closeFd = promisify(close);
const readFd = promisify(read);

/** The manifest of a file-form blob: its pieces are implied (one, after the manifest line). */
export type FileBlobManifest = Omit<BlobManifest, 'pieces'>;

const NEWLINE = 0x0a;

/** Manifests are a few hundred bytes: one read of this much finds the line's end. */
const HEADER_READ = 4096;
/** A longer first line is not a manifest this backend wrote. */
const HEADER_MAX = 64 * 1024;

/**
 * Creates `path` (it must not exist) holding the manifest line and `bytes`, flushed to the disk:
 * open, one write, fsync, close. A failure removes nothing: the caller owns the name.
 */
export async function writeBlobFile(path: string, manifest: FileBlobManifest, bytes: Buffer): Promise<void> {
  const head = Buffer.from(`${JSON.stringify(manifest)}\n`);
  const fd = await openFd(path, 'wx');
  try {
    await writeAll(fd, [head, bytes]);
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

/** A file-form blob's manifest and where its bytes start. */
export interface BlobFileHead {
  manifest: FileBlobManifest;
  /** Offset of the blob's first byte in the file. */
  offset: number;
}

/** Reads the manifest line of the file-form blob at `path` (which must exist). */
export async function readBlobFileHead(path: string): Promise<BlobFileHead> {
  const fd = await openFd(path, 'r');
  try {
    let buffer = Buffer.alloc(HEADER_READ);
    let filled = 0;
    for (;;) {
      const { bytesRead: got } = await readFd(fd, buffer, filled, buffer.length - filled, filled);
      const end = buffer.subarray(0, filled + got).indexOf(NEWLINE, filled);
      filled += got;
      if (end >= 0) {
        return { manifest: JSON.parse(buffer.toString('utf8', 0, end)) as FileBlobManifest, offset: end + 1 };
      }
      if (got === 0 || buffer.length >= HEADER_MAX) throw new Error(`${path} is not a blob file: no manifest line`);
      if (filled === buffer.length) buffer = Buffer.concat([buffer, Buffer.alloc(buffer.length)]);
    }
  } finally {
    await closeFd(fd);
  }
}
