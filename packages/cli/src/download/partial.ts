import { constants } from 'node:fs';
import { type FileHandle, lstat, open, rename, rm } from 'node:fs/promises';
import { CliError } from '../errors.ts';

/** Where the system has it (not Windows), opening a symbolic link fails instead of following it. */
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** A partial or state file's path names something this run did not make: it is not opened. */
function notOurs(path: string, what: string): CliError {
  return new CliError(`${path} ${what}, not a partial download: remove it and run again`);
}

/**
 * Opens a partial or state file for reading and writing, created when missing, without following
 * a symbolic link at its path (the name is predictable, so anyone who may write in the folder can
 * plant one): a link, a special file, or a file with other hard links (truncating or writing it
 * would change that other file) is refused, and nothing is written to it. `keep` false empties it.
 */
export async function openPartial(path: string, keep: boolean): Promise<FileHandle> {
  // For a system without O_NOFOLLOW; O_NOFOLLOW itself closes the gap between this look and the open.
  if ((await lstat(path).catch(() => null))?.isSymbolicLink()) throw notOurs(path, 'is a symbolic link');
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDWR | constants.O_CREAT | NOFOLLOW, 0o666);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw notOurs(path, 'is a symbolic link');
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw notOurs(path, 'is not a regular file');
    if (info.nlink !== 1) throw notOurs(path, 'has other links to it');
    if (!keep) await handle.truncate(0);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** A state file's text, read without following a link at its path; undefined when there is none to trust. */
async function readOwnFile(path: string): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.nlink !== 1) return undefined;
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Writes `text` to a file created anew at `path` (whatever was there, a link included, is removed
 * first, never followed; O_EXCL fails rather than open something that appeared in between).
 */
async function writeNewFile(path: string, text: string): Promise<void> {
  await rm(path, { force: true });
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o666);
  try {
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}

/**
 * Where an unfinished download lives, beside its target: `<target>.<hash prefix>.partial`, and
 * for a file fetched in ranges, `<…>.partial.json` naming the ranges already written. The hash in
 * the name keeps a partial of one version from being resumed as another. Both are opened through
 * openPartial, readOwnFile and writeNewFile, never through a link.
 */
export function partialPaths(target: string, hash: string): { data: string; state: string } {
  const data = `${target}.${hash.slice(0, 12)}.partial`;
  return { data, state: `${data}.json` };
}

/** The ranges of a file fetched in chunks that are written to its partial file. */
export interface ChunkState {
  version: 1;
  hash: string;
  size: number;
  chunkSize: number;
  done: number[];
}

/** The saved state when it belongs to this file and chunk size, else undefined. */
export async function readChunkState(path: string, hash: string, size: number, chunkSize: number) {
  const text = await readOwnFile(path).catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const state = JSON.parse(text) as Partial<ChunkState>;
    if (state.version !== 1 || state.hash !== hash || state.size !== size || state.chunkSize !== chunkSize)
      return undefined;
    const count = Math.ceil(size / chunkSize);
    const done = Array.isArray(state.done) ? state.done : [];
    return new Set(done.filter((n) => Number.isInteger(n) && n >= 0 && n < count));
  } catch {
    return undefined;
  }
}

/**
 * Writes the state whole or not at all (`<state>.tmp` renamed over it), one write at a time and
 * the latest last, so an interruption at any moment leaves a state a re-run can trust.
 */
export class ChunkStateWriter {
  readonly #path: string;
  readonly #base: Omit<ChunkState, 'done'>;
  #queue: Promise<void> = Promise.resolve();

  constructor(path: string, base: Omit<ChunkState, 'done'>) {
    this.#path = path;
    this.#base = base;
  }

  save(done: ReadonlySet<number>): Promise<void> {
    const text = JSON.stringify({ ...this.#base, done: [...done].sort((a, b) => a - b) });
    const write = async (): Promise<void> => {
      const temp = `${this.#path}.tmp`;
      await writeNewFile(temp, text);
      // A rename replaces a link at the state's path; it does not write through it.
      await rename(temp, this.#path);
    };
    this.#queue = this.#queue.then(write, write);
    return this.#queue;
  }

  async remove(): Promise<void> {
    await this.#queue.catch(() => undefined);
    await removeState(this.#path);
  }
}

/** Removes a state file and its temporary copy. */
export async function removeState(path: string): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.tmp`, { force: true });
}
