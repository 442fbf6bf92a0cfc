import { type FileHandle, lstat } from 'node:fs/promises';
import { ApiError, CliError, NetworkError } from '../errors.ts';
import type { DigestBuilder } from '../transfer/digest.ts';
import { eachLimited } from '../transfer/pool.ts';
import { drainBody } from './body.ts';
import {
  attempt,
  type Fetched,
  type FileJob,
  type JobUrl,
  type TransferDeps,
  type TransferEvents,
  throttled,
} from './job.ts';
import { ChunkStateWriter, openPartial, readChunkState } from './partial.ts';
import { rangedGet } from './ranged-get.ts';
import { fileDigest, hashRange, READ_BUFFER } from './read-back.ts';

/** The service sent the whole blob to a ranged request: fetch it as one stream instead. */
export class RangesIgnored extends Error {}

export interface RangedDownloadOptions {
  deps: TransferDeps;
  job: FileJob;
  events: TransferEvents;
  url: JobUrl;
  /** The partial file and its list of ranges written. */
  paths: { data: string; state: string };
}

/**
 * A large file fetched as ranges of `chunkSize`, up to `rangesPerFile` at once, each written at
 * its place in the partial file and recorded once written, so that an interrupted run leaves
 * the next one only the ranges it lacks. The SHA-256 is taken in file order as the ranges before
 * it complete, reading back what was written (from the page cache). Throws RangesIgnored when the
 * service answers a range with the whole blob.
 */
export class RangedDownload {
  readonly #deps: TransferDeps;
  readonly #job: FileJob;
  readonly #events: TransferEvents;
  readonly #url: JobUrl;
  readonly #paths: { data: string; state: string };
  readonly #count: number;
  readonly #builder: DigestBuilder;
  readonly #writer: ChunkStateWriter;
  /** The ranges written, this run's and those an earlier run left. */
  #done = new Set<number>();
  /** The ranges hashed so far: all those before this one. */
  #cursor = 0;
  /** The hashing in file order, a step queued each time a range is written. */
  #hashing: Promise<void> = Promise.resolve();
  /** After the first answer, ranges go straight to where BSS redirected (a presigned S3 GET). */
  #direct: string | undefined;

  constructor(options: RangedDownloadOptions) {
    const { deps, job } = options;
    this.#deps = deps;
    this.#job = job;
    this.#events = options.events;
    this.#url = options.url;
    this.#paths = options.paths;
    this.#count = Math.ceil(job.size / deps.chunkSize);
    this.#builder = fileDigest(job.size);
    this.#writer = new ChunkStateWriter(options.paths.state, {
      version: 1,
      hash: job.hash,
      size: job.size,
      chunkSize: deps.chunkSize,
    });
  }

  /** Bytes [start, end) of range `i`. */
  #bounds(i: number): { start: number; end: number } {
    const { chunkSize } = this.#deps;
    return { start: i * chunkSize, end: Math.min(this.#job.size, (i + 1) * chunkSize) };
  }

  #length(i: number): number {
    const { start, end } = this.#bounds(i);
    return end - start;
  }

  /** Fetches the ranges the partial file lacks; answers what it kept and the digest of the whole. */
  async run(): Promise<Fetched> {
    const deps = this.#deps;
    const job = this.#job;
    const saved = await readChunkState(this.#paths.state, job.hash, job.size, deps.chunkSize);
    const dataSize = (await lstat(this.#paths.data).catch(() => null))?.size;
    if (saved && dataSize === job.size) this.#done = saved;
    const handle = await openPartial(this.#paths.data, this.#done.size > 0);
    try {
      if (this.#done.size === 0) await handle.truncate(job.size);
      await this.#writer.save(this.#done);
      const resumedBytes = [...this.#done].reduce((sum, i) => sum + this.#length(i), 0);
      if (resumedBytes > 0) this.#events.resumed?.(job.name, resumedBytes);

      const readBuffer = Buffer.allocUnsafe(READ_BUFFER);
      this.#advance(handle, readBuffer);
      const pending = Array.from({ length: this.#count }, (_, i) => i).filter((i) => !this.#done.has(i));
      try {
        await eachLimited(pending, deps.rangesPerFile, (i) =>
          attempt(deps, job, this.#url, () =>
            deps.budget.run(this.#length(i), async () => {
              await this.#fetchRange(handle, i);
              this.#advance(handle, readBuffer);
            }),
          ),
        );
      } finally {
        await this.#hashing.catch(() => undefined);
      }
      this.#advance(handle, readBuffer);
      await this.#hashing;
      if (this.#cursor !== this.#count) throw new CliError(`${job.name}: not every range was written`);
      return { resumedBytes, builder: this.#builder };
    } finally {
      await handle.close();
    }
  }

  /** Hashes, in file order, the ranges written since the last hashed one. */
  #advance(handle: FileHandle, readBuffer: Buffer): void {
    this.#hashing = this.#hashing.then(async () => {
      while (this.#cursor < this.#count && this.#done.has(this.#cursor)) {
        const { start, end } = this.#bounds(this.#cursor);
        await hashRange(handle, this.#builder, start, end, readBuffer);
        this.#cursor += 1;
      }
    });
    // Awaited by run(); until then a failure must not count as unhandled.
    this.#hashing.catch(() => undefined);
  }

  /** One range: asked for, written at its place, then recorded as written. */
  async #fetchRange(handle: FileHandle, i: number): Promise<void> {
    const deps = this.#deps;
    const job = this.#job;
    const events = this.#events;
    const { start, end } = this.#bounds(i);
    let taken = 0;
    let written = 0;
    try {
      const answer = await rangedGet(deps.dispatcher, this.#direct ?? this.#url.current, { start, end }, deps.signal);
      if (!answer.ranged) {
        await answer.body.dump();
        throw new RangesIgnored();
      }
      await drainBody(
        throttled(deps, answer.body),
        answer.url,
        (chunk) => {
          if (taken + chunk.length > end - start)
            throw new CliError(`${job.name}: a range answer ran past the bytes asked for`);
          taken += chunk.length;
          events.bytes?.(job.name, chunk.length);
        },
        async (chunks, bytes) => {
          await handle.writev(chunks, start + written);
          written += bytes;
        },
        deps.signal,
      );
      if (written !== end - start) throw new NetworkError(answer.url, new Error('the answer ended early'));
      this.#direct ??= answer.url;
    } catch (error) {
      if (taken > 0) events.bytes?.(job.name, -taken);
      // A redirect target that stops answering (an expired presigned GET) is asked for again.
      if (this.#direct !== undefined && error instanceof ApiError) this.#direct = undefined;
      throw error;
    }
    this.#done.add(i);
    await this.#writer.save(this.#done);
  }
}
