import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { Writable } from 'node:stream';

/** Writes all of `chunk` (a write may take fewer bytes than it was given). */
async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length; ) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

async function writeEach(handle: FileHandle, chunks: readonly Buffer[]): Promise<void> {
  for (const chunk of chunks) await writeAll(handle, chunk);
}

/**
 * A new file (it must not exist) as a writable stream that flushes it to the disk before it
 * finishes: one open, the writes, one fsync and one close, where writing and then syncing the file
 * by name would open it twice. `finish` means the bytes are on the disk.
 */
export function createSyncedFile(path: string): Writable {
  let handle: FileHandle | undefined;
  return new Writable({
    construct(callback) {
      open(path, 'wx').then((h) => {
        handle = h;
        callback();
      }, callback);
    },
    write(chunk: Buffer, _encoding, callback) {
      writeAll(handle!, chunk).then(() => callback(), callback);
    },
    writev(chunks, callback) {
      writeEach(
        handle!,
        chunks.map((c) => c.chunk as Buffer),
      ).then(() => callback(), callback);
    },
    final(callback) {
      handle!.sync().then(() => callback(), callback);
    },
    destroy(error, callback) {
      if (!handle) return callback(error);
      handle.close().then(
        () => callback(error),
        () => callback(error),
      );
    },
  });
}
