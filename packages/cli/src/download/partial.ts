import { readFile, rename, rm, writeFile } from 'node:fs/promises';

/**
 * Where an unfinished download lives, beside its target: `<target>.<hash prefix>.partial`, and
 * for a file fetched in ranges, `<…>.partial.json` naming the ranges already written. The hash in
 * the name keeps a partial of one version from being resumed as another.
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
  const text = await readFile(path, 'utf8').catch(() => undefined);
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
      await writeFile(temp, text);
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
