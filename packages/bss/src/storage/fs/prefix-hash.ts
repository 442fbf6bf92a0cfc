import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { partData, partPointer } from './layout.ts';
import { readPartRecord } from './records.ts';

const CHUNK = 1024 * 1024;

/** One part as it was hashed: the file (by inode) that was read, and its size. */
export interface HashedPiece {
  partNumber: number;
  size: number;
  /** The data file's inode number: a part sent again is a new file, so the same inode is the same bytes. */
  ino: string;
}

/** A SHA-256 over parts 1..k of one upload, and which bytes those were. */
interface Prefix {
  hash: Hash;
  /** The parts hashed, part 1 first. */
  parts: HashedPiece[];
  /** The hashing under way; each landing chains onto it. */
  running: Promise<void>;
  /** Set once something went wrong: the prefix is not used (a complete hashes from the start). */
  broken: boolean;
}

/** What a complete may start from: a copy of the hash over its first `parts.length` parts. */
export interface HashedPrefix {
  hash: Hash;
  parts: readonly HashedPiece[];
}

/** Adds a data file's bytes to `hash`; answers how many there were and which file (inode) it was. */
async function hashInto(hash: Hash, path: string, buffer: Buffer): Promise<{ size: number; ino: string }> {
  const input = await open(path, 'r');
  let size = 0;
  try {
    const { ino } = await input.stat({ bigint: true });
    for (;;) {
      const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return { size, ino: String(ino) };
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await input.close();
  }
}

/**
 * Verification that overlaps the transfer (disk backend): as the parts of an upload land, the
 * SHA-256 advances over the contiguous run of parts from part 1, reading each data file while it
 * is still in the page cache, so that a complete hashes only what is left. The state lives in this
 * process only: after a restart, or for an upload whose parts went to another process, a complete
 * hashes from the start. It never lets an unverified byte through: a complete uses the prefix only
 * when every part it hashed is the very part the complete names (same data file, by inode, and
 * same size), and data files are named by their part's ETag and never change once moved in.
 */
export class PrefixHashes {
  readonly #uploads = new Map<string, Prefix>();
  readonly #limit: number;

  /** `limit`: uploads followed at once (the oldest is forgotten first). */
  constructor(limit = 256) {
    this.#limit = limit;
  }

  /** Part(s) of the upload in `dir` landed: hash on from where the prefix stands, in the background. */
  landed(dir: string): void {
    let prefix = this.#uploads.get(dir);
    if (!prefix) {
      if (this.#uploads.size >= this.#limit) {
        const oldest = this.#uploads.keys().next().value;
        if (oldest !== undefined) this.#uploads.delete(oldest);
      }
      prefix = { hash: createHash('sha256'), parts: [], running: Promise.resolve(), broken: false };
      this.#uploads.set(dir, prefix);
    }
    const current = prefix;
    current.running = current.running
      .then(() => this.#advance(dir, current))
      .catch(() => {
        current.broken = true;
      });
  }

  async #advance(dir: string, prefix: Prefix): Promise<void> {
    // A buffer of this run's own: the runs of different uploads read at the same time, and a read
    // still in flight for one would write into the bytes another is hashing.
    const buffer = Buffer.allocUnsafe(CHUNK);
    while (!prefix.broken && this.#uploads.get(dir) === prefix) {
      const partNumber = prefix.parts.length + 1;
      const record = await readPartRecord(partPointer(dir, partNumber));
      if (!record) return;
      // Hashed into a copy that replaces the state only once the whole part is in: the state is
      // always the hash of exactly the parts listed, whenever a complete looks at it.
      const next = prefix.hash.copy();
      const { size, ino } = await hashInto(next, partData(dir, partNumber, record.etag), buffer);
      if (size !== record.size) {
        prefix.broken = true;
        return;
      }
      prefix.hash = next;
      prefix.parts.push({ partNumber, size, ino });
    }
  }

  /**
   * The prefix hashed for the upload in `dir`, if its parts are the first pieces a complete is
   * about to assemble, as the very same files (part numbers 1..k, same inodes and sizes: the
   * pieces are hard links to the data files, so the same inode holds the same bytes): a copy, so
   * that the running state is left alone. Waits for hashing under way first.
   */
  async prefixFor(dir: string, pieces: readonly HashedPiece[]): Promise<HashedPrefix | undefined> {
    const prefix = this.#uploads.get(dir);
    if (!prefix) return undefined;
    await prefix.running;
    if (prefix.broken || prefix.parts.length === 0 || prefix.parts.length > pieces.length) return undefined;
    const same = prefix.parts.every((p, i) => {
      const piece = pieces[i];
      return piece?.partNumber === p.partNumber && piece.size === p.size && piece.ino === p.ino;
    });
    if (!same) return undefined;
    return { hash: prefix.hash.copy(), parts: [...prefix.parts] };
  }

  /** The upload is over (completed, aborted or swept): its state goes. */
  forget(dir: string): void {
    this.#uploads.delete(dir);
  }
}
