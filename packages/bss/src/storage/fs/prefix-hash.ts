import { createHash, type Hash } from 'node:crypto';
import { link, mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMissing, tempName } from './files.ts';
import { HASHED, partData, partPointer } from './layout.ts';
import { readPartRecord } from './records.ts';

const CHUNK = 1024 * 1024;
/** The state before each of the last parts hashed is kept, so that one of them sent again costs only the reading from it on. */
const RECENT_CHECKPOINTS = 32;
/** Further back, the state is kept before every this many parts: a part sent again there is hashed again from the one before it. */
const CHECKPOINT_EVERY = 64;

/** A file as the file system knows it while it exists: device and inode numbers (as decimal strings). */
export interface FileId {
  dev: string;
  ino: string;
}

/** A piece a complete staged: the part it is, the ETag the complete named for it, its size and file. */
export interface StagedPiece extends FileId {
  partNumber: number;
  etag: string;
  size: number;
}

/**
 * One part as it was hashed: its ETag then, the bytes read, the file read, and the pin, a link of
 * this prefix's own to that very file. An inode number is reused once its file is gone; the pin
 * keeps the file there, so while the pin exists no other file can have its numbers.
 */
interface HashedPart extends StagedPiece {
  pin: string;
  /** The hash of the parts before this one, kept for the recent parts and every CHECKPOINT_EVERY-th. Never updated. */
  before?: Hash;
}

/** A SHA-256 over parts 1..k of one upload, and which bytes those were. */
interface Prefix {
  hash: Hash;
  /** The parts hashed, part 1 first. */
  parts: HashedPart[];
  /** The hashing under way; each landing chains onto it. */
  running: Promise<void>;
  /** Set once something went wrong, or the prefix was dropped: it is not used (a complete hashes from the start). */
  broken: boolean;
  /** Whether the upload's folder of pins is known to exist. */
  folder: boolean;
  /** Every pin this prefix made: removed when it is dropped. */
  pins: string[];
  /** Bytes of parts not sent again read once more, since a part before them was sent again. */
  reread: number;
}

/** What a complete may start from: a copy of the hash over its first `sizes.length` pieces. */
export interface HashedPrefix {
  hash: Hash;
  /** The size of each piece hashed, in order. */
  sizes: readonly number[];
}

function fileId(info: { dev: bigint; ino: bigint }): FileId {
  return { dev: String(info.dev), ino: String(info.ino) };
}

function sameFile(a: FileId, b: FileId): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** Adds a file's bytes to `hash`; answers how many there were and which file it was. */
async function hashInto(hash: Hash, path: string, buffer: Buffer): Promise<FileId & { size: number }> {
  const input = await open(path, 'r');
  let size = 0;
  try {
    const id = fileId(await input.stat({ bigint: true }));
    for (;;) {
      const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return { ...id, size };
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
 * hashes from the start.
 *
 * It never lets an unverified byte through. Each part is hashed through a pin: a hard link, of
 * this prefix's own (under the upload's `hashed/`), to the data file, made before the file is
 * read. Data files are never written once moved in, so the pinned file holds the hashed bytes for
 * as long as the pin exists, and no other file can take its inode number meanwhile (a part sent
 * again is a new file; the one it replaced is unlinked, but stays whole through the pin). A
 * complete uses the prefix only when each piece it staged is the pinned file itself: same device
 * and inode numbers as the pin, checked while both exist (and the same part number, ETag and
 * size). A part sent again to this process takes the prefix back to the state kept before it (or
 * before an earlier part, for parts far back), drops the pins of the parts from there, and hashing
 * goes on from there. What a send can make it read is bounded: the part itself, and, over the
 * upload's life, the bytes the prefix covered once more; a send that would take more stops the
 * following of the upload, and its complete hashes every piece itself.
 */
export class PrefixHashes {
  readonly #uploads = new Map<string, Prefix>();
  readonly #limit: number;
  readonly #onRead: ((bytes: number) => void) | undefined;

  /** `limit`: uploads followed at once (the oldest is forgotten first); `onRead`: told the bytes of each part read. */
  constructor({ limit = 256, onRead }: { limit?: number; onRead?: (bytes: number) => void } = {}) {
    this.#limit = limit;
    this.#onRead = onRead;
  }

  /** Part `partNumber` of the upload in `dir` landed: hash on from where the prefix stands, in the background. */
  landed(dir: string, partNumber: number): void {
    const prefix = this.#uploads.get(dir) ?? this.#start(dir);
    prefix.running = prefix.running
      .then(async () => {
        if (!this.#current(dir, prefix)) return;
        if ((await this.#replaced(dir, prefix, partNumber)) && !(await this.#rewind(prefix, partNumber))) {
          // Following the upload on would read its bytes over and over: the complete hashes them,
          // once. The prefix stays in place, unused, so that later sends do not start another.
          this.#stop(prefix);
          return;
        }
        await this.#advance(dir, prefix);
      })
      .catch(() => {
        prefix.broken = true;
      });
  }

  #start(dir: string): Prefix {
    if (this.#uploads.size >= this.#limit) {
      const [oldest, state] = this.#uploads.entries().next().value ?? [];
      if (oldest !== undefined && state) this.#drop(oldest, state);
    }
    const prefix: Prefix = {
      hash: createHash('sha256'),
      parts: [],
      running: Promise.resolve(),
      broken: false,
      folder: false,
      pins: [],
      reread: 0,
    };
    this.#uploads.set(dir, prefix);
    return prefix;
  }

  #current(dir: string, prefix: Prefix): boolean {
    return !prefix.broken && this.#uploads.get(dir) === prefix;
  }

  /** Whether part `partNumber`, hashed already, now holds another file than the one hashed. */
  async #replaced(dir: string, prefix: Prefix, partNumber: number): Promise<boolean> {
    const hashed = prefix.parts[partNumber - 1];
    if (!hashed) return false;
    const record = await readPartRecord(partPointer(dir, partNumber));
    if (!record) return false;
    if (record.etag !== hashed.etag) return true;
    // The same ETag may be a new file (the same bytes sent again, or other bytes of that ETag):
    // the hashed one is pinned, so the same numbers are the same file.
    const now = await stat(partData(dir, partNumber, record.etag), { bigint: true }).catch(() => null);
    return !now || !sameFile(fileId(now), hashed);
  }

  /**
   * Part `partNumber`, which the prefix covers, was sent again: takes the prefix back to the last
   * state kept at or before that part, so hashing goes on from there. The parts after it that were
   * not sent again are read again: that is allowed, over the upload's life, for as many bytes as
   * the prefix covered; past that it answers false and the prefix is left as it was.
   */
  async #rewind(prefix: Prefix, partNumber: number): Promise<boolean> {
    const index = partNumber - 1;
    let from = index;
    while (from > 0 && !prefix.parts[from]?.before) from -= 1;
    const kept = prefix.parts[from]?.before;
    if (!kept) return false;
    const covered = prefix.parts.reduce((sum, p) => sum + p.size, 0);
    const again = prefix.parts.slice(from).reduce((sum, p, i) => (from + i === index ? sum : sum + p.size), 0);
    if (prefix.reread + again > covered) return false;
    prefix.reread += again;
    // State and parts change together, with no wait between: a complete sees one or the other.
    const dropped = prefix.parts.splice(from);
    prefix.hash = kept;
    const pins = new Set(dropped.map((p) => p.pin));
    prefix.pins = prefix.pins.filter((pin) => !pins.has(pin));
    await Promise.all([...pins].map((pin) => rm(pin, { force: true }).catch(() => undefined)));
    return true;
  }

  async #advance(dir: string, prefix: Prefix): Promise<void> {
    // A buffer of this run's own: the runs of different uploads read at the same time, and a read
    // still in flight for one would write into the bytes another is hashing.
    const buffer = Buffer.allocUnsafe(CHUNK);
    while (this.#current(dir, prefix)) {
      const partNumber = prefix.parts.length + 1;
      const record = await readPartRecord(partPointer(dir, partNumber));
      if (!record) return;
      const pin = await this.#pin(dir, prefix, partNumber, record.etag);
      // The part was sent again meanwhile (its file is gone): its landing takes the prefix on.
      if (!pin) return;
      // Hashed into a copy that replaces the state only once the whole part is in: the state is
      // always the hash of exactly the parts listed, whenever a complete looks at it.
      const next = prefix.hash.copy();
      const read = await hashInto(next, pin, buffer);
      this.#onRead?.(read.size);
      if (read.size !== record.size) {
        prefix.broken = true;
        return;
      }
      const before = prefix.hash;
      prefix.hash = next;
      prefix.parts.push({ partNumber, etag: record.etag, size: read.size, dev: read.dev, ino: read.ino, pin, before });
      // Older states are let go but for every CHECKPOINT_EVERY-th part (part 1's is the first).
      const old = prefix.parts.length - 1 - RECENT_CHECKPOINTS;
      const aged = prefix.parts[old];
      if (aged && old % CHECKPOINT_EVERY !== 0) delete aged.before;
    }
  }

  /** Links part `partNumber`'s data file of `etag` under `hashed/`; undefined when the file is gone. */
  async #pin(dir: string, prefix: Prefix, partNumber: number, etag: string): Promise<string | undefined> {
    const folder = join(dir, HASHED);
    if (!prefix.folder) {
      // Never recursive: an upload removed meanwhile must not see its folder come back.
      await mkdir(folder).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      prefix.folder = true;
    }
    const pin = tempName(join(folder, String(partNumber)));
    try {
      await link(partData(dir, partNumber, etag), pin);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    prefix.pins.push(pin);
    return pin;
  }

  /** Forgets `prefix` and stops following it. */
  #drop(dir: string, prefix: Prefix): void {
    if (this.#uploads.get(dir) === prefix) this.#uploads.delete(dir);
    this.#stop(prefix);
  }

  /** Stops following `prefix`, which is not used again; its pins are removed once the hashing under way has ended. */
  #stop(prefix: Prefix): void {
    prefix.broken = true;
    prefix.running = prefix.running.then(async () => {
      const pins = prefix.pins.splice(0);
      await Promise.all(pins.map((pin) => rm(pin, { force: true }).catch(() => undefined)));
    });
  }

  /**
   * The prefix hashed for the upload in `dir`, if its parts are the first pieces a complete is
   * about to assemble, as the very same files: a copy, so that the running state is left alone.
   * Waits for hashing under way first (a part sent again just before has it go back and read on).
   * `pieces` are the complete's staged pieces as they were found before this call; the caller
   * keeps them, unchanged, until it has hashed and published them. Each is then compared with the
   * pin of the part hashed while the pin still exists: two links that exist at once with the same
   * numbers are one file, the file that was hashed.
   */
  async prefixFor(dir: string, pieces: readonly StagedPiece[]): Promise<HashedPrefix | undefined> {
    let prefix = this.#uploads.get(dir);
    // A prefix put in place of this one meanwhile is waited for too.
    for (let restarts = 0; prefix && restarts < 3; restarts += 1) {
      await prefix.running;
      const now = this.#uploads.get(dir);
      if (now === prefix) break;
      prefix = now;
    }
    if (!prefix || !this.#current(dir, prefix)) return undefined;
    // Taken at once: hash and parts always go together.
    const parts = [...prefix.parts];
    const hash = prefix.hash.copy();
    if (parts.length === 0 || parts.length > pieces.length) return undefined;
    const same = parts.every((p, i) => {
      const piece = pieces[i];
      return (
        piece !== undefined &&
        piece.partNumber === p.partNumber &&
        piece.etag === p.etag &&
        piece.size === p.size &&
        sameFile(piece, p)
      );
    });
    if (!same) return undefined;
    const pinned = await Promise.all(
      parts.map((p) =>
        stat(p.pin, { bigint: true }).then(
          (info) => sameFile(fileId(info), p),
          () => false,
        ),
      ),
    );
    if (!pinned.every(Boolean)) return undefined;
    return { hash, sizes: parts.map((p) => p.size) };
  }

  /** The upload is over (completed, aborted or swept): its state and its pins go. */
  forget(dir: string): void {
    const prefix = this.#uploads.get(dir);
    if (prefix) this.#drop(dir, prefix);
  }
}
