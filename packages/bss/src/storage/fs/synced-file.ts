import { close, fsync, open, writev } from 'node:fs';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';

const fsyncFd = promisify(fsync);

/** One `writev` at the file's position; answers the bytes written. */
function writevFd(fd: number, chunks: Buffer[]): Promise<{ bytesWritten: number }> {
  return new Promise((resolve, reject) => {
    writev(fd, chunks, (error, bytesWritten) => (error ? reject(error) : resolve({ bytesWritten })));
  });
}

/**
 * Bytes gathered before one write. A request body arrives in socket chunks of about 64 KiB: one
 * `write` each cost 16,000 system calls per GiB on the main thread's behalf; gathered, a GiB is
 * about 1,000 writes. A writer holds at most this much plus what arrives during one write (the
 * stream's own buffer, which pauses the body past its high-water mark).
 */
export const GATHER_BYTES = 1024 * 1024;

/** Writes all of `chunks` at the file's position (a write may take fewer bytes than it was given). */
export async function writeAll(fd: number, chunks: Buffer[]): Promise<void> {
  let left = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  while (left > 0) {
    const { bytesWritten } = await writevFd(fd, chunks);
    left -= bytesWritten;
    if (left > 0) chunks = rest(chunks, bytesWritten);
  }
}

/** What is left of `chunks` after the first `written` bytes. */
function rest(chunks: Buffer[], written: number): Buffer[] {
  const left: Buffer[] = [];
  for (const chunk of chunks) {
    if (written >= chunk.length) written -= chunk.length;
    else {
      left.push(written > 0 ? chunk.subarray(written) : chunk);
      written = 0;
    }
  }
  return left;
}

/**
 * A new file (it must not exist) as a writable stream that gathers the chunks it is given into
 * writes of about GATHER_BYTES (one `writev` each), and, when `sync`, flushes the file to the disk
 * before it finishes: then `finish` means the bytes are on the disk. One open, the writes, (one
 * fsync), one close.
 */
export function createFileWriter(path: string, { sync }: { sync: boolean }): Writable {
  let fd: number | undefined;
  let gathered: Buffer[] = [];
  let bytes = 0;
  /** The write or flush running on the descriptor, if any (settled, never rejected). */
  let running: Promise<unknown> = Promise.resolve();
  const onFd = <T>(work: Promise<T>): Promise<T> => {
    running = work.catch(() => {});
    return work;
  };
  const flush = async (): Promise<void> => {
    if (bytes === 0) return;
    const chunks = gathered;
    gathered = [];
    bytes = 0;
    await writeAll(fd as number, chunks);
  };
  return new Writable({
    highWaterMark: GATHER_BYTES,
    construct(callback) {
      open(path, 'wx', (error, opened) => {
        fd = opened;
        callback(error);
      });
    },
    writev(chunks, callback) {
      for (const { chunk } of chunks) {
        gathered.push(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      if (bytes < GATHER_BYTES) return callback();
      onFd(flush()).then(() => callback(), callback);
    },
    final(callback) {
      onFd(flush().then(() => (sync ? fsyncFd(fd as number) : undefined))).then(() => callback(), callback);
    },
    destroy(error, callback) {
      gathered = [];
      // A stream is destroyed (a body cut short, refused) while a write may still be running on
      // the descriptor: it is closed only once that write has ended, or its number could be
      // reused by another file opened meanwhile and the late write land in that file.
      void running.then(() => {
        if (fd === undefined) return callback(error);
        close(fd, () => callback(error));
      });
    },
  });
}

/**
 * A new file (it must not exist) as a writable stream that flushes it to the disk before it
 * finishes: one open, the gathered writes, one fsync and one close, where writing and then syncing
 * the file by name would open it twice. `finish` means the bytes are on the disk.
 */
export function createSyncedFile(path: string): Writable {
  return createFileWriter(path, { sync: true });
}
