/**
 * The multipart upload of one blob, the same for every client: resume the upload an earlier run
 * left open (keeping the parts BSS holds that are ours), or open one; fetch part URLs a batch at a
 * time, each bound to its part's check and length, renewing them when they expire; send the
 * missing parts through a bounded pool; complete. What depends on the platform (reading a part's
 * bytes and sending them, computing a part's check, keeping the resume state, retrying a transient
 * failure) is passed in, so that the CLI (files on disk, its connection pool) and the page (Blobs,
 * XMLHttpRequest, localStorage) run the same steps.
 */
import { base64ToHex, CRC32_HEADER, crc32Etag, type PartCheck } from '../part-checks.ts';
import { eachLimited } from '../pool.ts';
import { type PartRange, partCount, partRange } from '../rules.ts';
import type { BlobReceipt, OpenUpload, PartUrlsRequest, UploadGrant } from '../wire.ts';
import type { BssApi, MultipartInitBody } from './bss.ts';
import { type ErrorFactory, failureOf, isExpired, protocolErrors } from './errors.ts';

/** The blob turned out to be stored already (another client finished it): nothing left to send. */
export class BlobAlreadyStored extends Error {
  /** BSS's receipt for it, when BSS is the one that said so. */
  readonly receipt: BlobReceipt | undefined;

  constructor(receipt?: BlobReceipt) {
    super('the blob is stored already');
    this.name = 'BlobAlreadyStored';
    this.receipt = receipt;
  }
}

/** Where the upload's BSS URLs come from, and fresh ones once they expired. */
export interface GrantSource {
  /** Signed grants bind each part's length; unsigned legacy endpoints are told none. */
  readonly signed: boolean;
  readonly first: UploadGrant;
  /** Fresh URLs once these expired; throws BlobAlreadyStored when the blob is stored by now. */
  refresh(): Promise<UploadGrant>;
}

/** What is kept of an open upload so that a later run (or page) continues it. */
export interface MultipartState extends OpenUpload {
  partSize: number;
  partsTotal: number;
  /** The per-part check BSS asked for when the upload was opened (absent: `md5`, as older BSSs check). */
  partCheck?: PartCheck;
  /** ETag of every part known to be stored, by part number. */
  done: Record<string, string>;
}

/** Where the resume state lives (a file of the CLI's, the page's localStorage). */
export interface MultipartStore {
  /** The state an earlier run saved for this blob, if any (one of another blob or kind is not returned). */
  load(): Promise<MultipartState | undefined>;
  /** Called after every change; the state object is the same one, changed in place. */
  save(state: MultipartState): Promise<void>;
  remove(): Promise<void>;
}

/** The platform's side of the parts: their bytes, their checks and their PUT. */
export interface PartIO {
  /**
   * A part's check, base64 (`crc32`: the four big-endian bytes; `md5`: the digest), when it is
   * known without reading the part (the CLI computes every part's CRC-32 while hashing the file).
   */
  knownCheck?(check: PartCheck, part: PartRange): string | undefined;
  /** Computes a part's check by reading its bytes. */
  computeCheck(check: PartCheck, part: PartRange): Promise<string>;
  /**
   * PUTs the part's bytes to `url` with `headers` (its check), counting progress and keeping to
   * any bandwidth limit; answers the ETag BSS gave the part. A refusal throws the service's error.
   */
  put(url: string, part: PartRange, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<string>;
}

export interface MultipartEvents {
  /** A line worth telling the user (URLs renewed, an upload that could not be resumed). */
  note?(message: string): void;
  /** The upload is open: the parts BSS holds already (from an earlier run), before any is sent. */
  opened?(done: readonly PartRange[], partsTotal: number): void;
  /** Every part is stored: the upload is being completed. */
  finishing?(): void;
}

export interface MultipartOptions {
  bss: BssApi;
  grants: GrantSource;
  /** The blob's size and its part size (choosePartSize's, unless an earlier run chose another). */
  size: number;
  partSize: number;
  /** What opening the upload sends: its media type, and name and size (or the legacy scope). */
  init: MultipartInitBody;
  io: PartIO;
  store: MultipartStore;
  /** Parts in flight at once. */
  concurrency: number;
  /** Runs a request, retrying its transient failures as the platform sees fit (default: once, no retry). */
  retry?: <T>(task: () => Promise<T>) => Promise<T>;
  /** Wraps each part's sending (the CLI bounds bytes in flight across files with it). */
  gate?: <T>(bytes: number, task: () => Promise<T>) => Promise<T>;
  events?: MultipartEvents;
  signal?: AbortSignal;
  /** How failures of the engine's own are built (the CLI's error types, say). */
  errors?: ErrorFactory;
}

export interface MultipartResult {
  /** Parts this run sent. */
  sent: number;
  partsTotal: number;
  receipt: BlobReceipt | undefined;
}

interface PartUrl {
  url: string;
  /** Which fetch it came from: an expiry invalidates that fetch and every older one. */
  batch: number;
}

/** Part URLs asked for at once, at most. */
const URL_BATCH = 50;
/** Fresh URLs for one part (after its URL was refused) before its failure stands. */
const MAX_REFRESHES_PER_PART = 4;
/** Grant renewals for one request before its expiry stands (a clock far off expires every URL). */
const MAX_GRANT_REFRESHES = 2;
/** Answers to `complete` after which this upload cannot be finished: the next run starts afresh. */
const UNFINISHABLE = new Set(['hash_mismatch', 'not_found', 'invalid_part']);
/** Rounds of sending again the parts BSS no longer holds, after a complete refused one as missing. */
const MAX_COMPLETE_REPAIRS = 2;

const once = <T>(task: () => Promise<T>): Promise<T> => task();
const ungated = <T>(_bytes: number, task: () => Promise<T>): Promise<T> => task();

/** One blob's multipart upload through one (renewable) grant. */
export class MultipartUpload {
  readonly #o: MultipartOptions;
  readonly #retry: <T>(task: () => Promise<T>) => Promise<T>;
  readonly #errors: ErrorFactory;
  #grant: UploadGrant;
  #grantRefresh: Promise<UploadGrant> | undefined;
  #state!: MultipartState;
  readonly #urls = new Map<number, PartUrl>();
  readonly #pendingUrls = new Map<number, Promise<void>>();
  #batch = 0;
  #missing: number[] = [];
  #notedPartExpiry = false;
  /** Checks of parts, computed or being computed, by `${check}:${part}`. */
  readonly #checks = new Map<string, string | Promise<string>>();

  constructor(options: MultipartOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1)
      throw new RangeError('concurrency must be a positive integer');
    this.#o = options;
    this.#retry = options.retry ?? once;
    this.#errors = options.errors ?? protocolErrors;
    this.#grant = options.grants.first;
  }

  get #upload(): OpenUpload {
    return { uploadId: this.#state.uploadId, key: this.#state.key };
  }

  get #partCheck(): PartCheck {
    return this.#state.partCheck ?? 'md5';
  }

  get #call(): { signal?: AbortSignal } {
    return this.#o.signal ? { signal: this.#o.signal } : {};
  }

  #part(n: number): PartRange {
    return partRange(this.#o.size, this.#o.partSize, n);
  }

  #partLength(n: number): number {
    const { start, end } = this.#part(n);
    return end - start;
  }

  /** Runs the upload; answers how many parts this run sent and BSS's receipt for the blob. */
  async run(): Promise<MultipartResult> {
    const { store, events } = this.#o;
    try {
      const partsTotal = partCount(this.#o.size, this.#o.partSize);
      const done = await this.#resumeOrStart(partsTotal);
      this.#missing = [];
      for (let n = 1; n <= partsTotal; n += 1) if (!done.has(n)) this.#missing.push(n);
      events?.opened?.(
        [...done].sort((a, b) => a - b).map((n) => this.#part(n)),
        partsTotal,
      );

      let sent = await this.#sendParts(this.#missing);

      events?.finishing?.();
      let receipt: BlobReceipt | undefined;
      for (let repairs = 0; ; repairs += 1) {
        const parts = Object.entries(this.#state.done)
          .map(([n, etag]) => ({ partNumber: Number(n), etag }))
          .sort((a, b) => a.partNumber - b.partNumber);
        try {
          ({ receipt } = await this.#withGrant((grant) =>
            this.#o.bss.complete(grant, this.#upload, parts, this.#call),
          ));
          break;
        } catch (error) {
          const code = failureOf(error)?.code ?? '';
          // A part BSS answered but no longer holds (lost to an unclean stop before it reached
          // the disk, and dropped by BSS's check): the parts it lists say which; send those again.
          if (code === 'invalid_part' && repairs < MAX_COMPLETE_REPAIRS) {
            const lost = await this.#lostParts(partsTotal);
            if (lost.length > 0) {
              events?.note?.(`BSS no longer holds part${lost.length > 1 ? 's' : ''} ${lost.join(', ')}: sending again`);
              sent += await this.#sendParts(lost);
              continue;
            }
          }
          // This upload cannot be finished as it is: the next run starts afresh.
          if (UNFINISHABLE.has(code)) await store.remove();
          throw error;
        }
      }
      await store.remove();
      return { sent, partsTotal, receipt };
    } catch (error) {
      if (error instanceof BlobAlreadyStored) await store.remove();
      throw error;
    }
  }

  /** Sends the given parts, `concurrency` at a time, recording each as done; answers how many. */
  async #sendParts(numbers: number[]): Promise<number> {
    const gate = this.#o.gate ?? ungated;
    this.#missing = numbers;
    let sent = 0;
    await eachLimited(numbers, this.#o.concurrency, async (n) => {
      const etag = await gate(this.#partLength(n), () => this.#sendPart(n));
      this.#state.done[String(n)] = etag;
      sent += 1;
      await this.#o.store.save(this.#state);
    });
    return sent;
  }

  /** The parts recorded as done that BSS's parts-done no longer lists with the same ETag. */
  async #lostParts(partsTotal: number): Promise<number[]> {
    const answer = await this.#withGrant((grant) => this.#o.bss.partsDone(grant, this.#upload, this.#call));
    if (answer.expired) return [];
    const held = new Map(answer.parts.map((part) => [part.partNumber, part.etag.replace(/"/g, '')]));
    const lost: number[] = [];
    for (let n = 1; n <= partsTotal; n += 1) {
      const ours = this.#state.done[String(n)]?.replace(/"/g, '');
      if (ours !== undefined && held.get(n) === ours) continue;
      lost.push(n);
      delete this.#state.done[String(n)];
    }
    if (lost.length > 0) await this.#o.store.save(this.#state);
    return lost;
  }

  /** Asks for fresh URLs once, however many requests noticed the expiry together. */
  async #refreshGrant(stale: UploadGrant): Promise<void> {
    if (this.#grant !== stale) return;
    this.#grantRefresh ??= (async () => {
      this.#o.events?.note?.('signed URLs expired: asking the server for fresh ones');
      try {
        this.#grant = await this.#o.grants.refresh();
        return this.#grant;
      } finally {
        this.#grantRefresh = undefined;
      }
    })();
    await this.#grantRefresh;
  }

  /** A request to BSS through the grant: transient failures retried, an expired grant renewed. */
  async #withGrant<T>(fn: (grant: UploadGrant) => Promise<T>): Promise<T> {
    for (let refreshes = 0; ; refreshes += 1) {
      const grant = this.#grant;
      try {
        return await this.#retry(() => fn(grant));
      } catch (error) {
        if (!isExpired(error) || refreshes >= MAX_GRANT_REFRESHES) throw error;
        await this.#refreshGrant(grant);
      }
    }
  }

  /** A part's check of the given kind, computed once (a failed computation is tried again when asked again). */
  #checkOf(check: PartCheck, n: number): Promise<string> {
    const id = `${check}:${n}`;
    let value = this.#checks.get(id);
    if (value === undefined) {
      const part = this.#part(n);
      value = this.#o.io.knownCheck?.(check, part);
      if (value === undefined) {
        const computing = this.#o.io.computeCheck(check, part);
        value = computing;
        computing.then(
          (result) => {
            if (this.#checks.get(id) === computing) this.#checks.set(id, result);
          },
          () => {
            if (this.#checks.get(id) === computing) this.#checks.delete(id);
          },
        );
      }
      this.#checks.set(id, value);
    }
    return Promise.resolve(value);
  }

  /** Whether a part's check is at hand without waiting (known, or computed already). */
  #checkReady(n: number): boolean {
    const id = `${this.#partCheck}:${n}`;
    if (typeof this.#checks.get(id) === 'string') return true;
    const known = this.#o.io.knownCheck?.(this.#partCheck, this.#part(n));
    if (known === undefined) return false;
    this.#checks.set(id, known);
    return true;
  }

  /**
   * Whether a part BSS lists holds this blob's bytes for it, as far as its ETag tells: an MD5
   * (32 hex) or a CRC-32 and size (20 hex) is compared; any other ETag is taken on its size alone.
   */
  async #holdsOurPart(n: number, etag: string): Promise<boolean> {
    if (/^[0-9a-f]{20}$/.test(etag)) return etag === crc32Etag(await this.#checkOf('crc32', n), this.#partLength(n));
    if (/^[0-9a-f]{32}$/.test(etag)) return etag === base64ToHex(await this.#checkOf('md5', n));
    return true;
  }

  /** Continues the saved upload when BSS still has it (keeping the parts it holds), else opens one. */
  async #resumeOrStart(partsTotal: number): Promise<Set<number>> {
    const { bss, store, events } = this.#o;
    const saved = await store.load();
    if (saved && saved.partSize === this.#o.partSize) {
      this.#state = saved;
      let answer: { parts: Array<{ partNumber: number; etag: string; size: number }>; expired: boolean };
      try {
        answer = await this.#withGrant((grant) => bss.partsDone(grant, this.#upload, this.#call));
      } catch (error) {
        // BSS no longer knows this upload as ours (e.g. it was swept or its key is refused): start again.
        const status = failureOf(error)?.status;
        if (this.#o.signal?.aborted || status === undefined || status === 0 || status >= 500) throw error;
        if (status === 401 || status === 408 || status === 429) throw error;
        events?.note?.(`cannot resume the earlier upload (${(error as Error).message}): starting it again`);
        answer = { parts: [], expired: true };
      }
      if (!answer.expired) {
        const done = new Set<number>();
        this.#state.partsTotal = partsTotal;
        this.#state.done = {};
        for (const part of answer.parts) {
          const n = part.partNumber;
          const etag = part.etag.replace(/"/g, '');
          if (!Number.isInteger(n) || n < 1 || n > partsTotal || part.size !== this.#partLength(n)) continue;
          if (!(await this.#holdsOurPart(n, etag))) continue;
          done.add(n);
          this.#state.done[String(n)] = part.etag;
        }
        await store.save(this.#state);
        return done;
      }
    }
    const created = await this.#withGrant((grant) => bss.init(grant, this.#o.init, this.#call));
    if (created.exists) throw new BlobAlreadyStored(created.receipt);
    this.#state = {
      uploadId: created.uploadId,
      key: created.key,
      partSize: this.#o.partSize,
      partsTotal,
      done: {},
      // A BSS that names no check (older ones) checks MD5.
      partCheck: created.partCheck ?? 'md5',
    };
    await store.save(this.#state);
    return new Set();
  }

  /**
   * The PUT URL of a part, fetched with the next missing parts whose checks are at hand (each URL
   * is bound to its part's check, so a part whose check is still to be read waits for its own turn).
   */
  async #urlFor(n: number): Promise<PartUrl> {
    for (;;) {
      const known = this.#urls.get(n);
      if (known) return known;
      const pending = this.#pendingUrls.get(n);
      if (pending) {
        await pending;
        continue;
      }
      await this.#checkOf(this.#partCheck, n);
      if (this.#urls.has(n) || this.#pendingUrls.has(n)) continue;
      const wanted = [n];
      for (const m of this.#missing) {
        if (wanted.length >= URL_BATCH) break;
        if (m <= n || this.#urls.has(m) || this.#pendingUrls.has(m) || !this.#checkReady(m)) continue;
        wanted.push(m);
      }
      const batch = ++this.#batch;
      const fetch = this.#fetchUrls(wanted, batch);
      for (const m of wanted) this.#pendingUrls.set(m, fetch);
      try {
        await fetch;
      } finally {
        for (const m of wanted) if (this.#pendingUrls.get(m) === fetch) this.#pendingUrls.delete(m);
      }
      if (!this.#urls.has(n)) throw this.#errors.invalid(this.#grant.partsUrl, `no URL for part ${n}`);
    }
  }

  async #fetchUrls(wanted: number[], batch: number): Promise<void> {
    // Each URL is bound to its part's check and length (BSS or S3 then refuses any other body).
    const checks: Record<string, string> = {};
    const contentLength: Record<string, number> = {};
    for (const m of wanted) {
      checks[String(m)] = await this.#checkOf(this.#partCheck, m);
      contentLength[String(m)] = this.#partLength(m);
    }
    const request: PartUrlsRequest = {
      ...this.#upload,
      partNumbers: wanted,
      ...(this.#partCheck === 'md5' ? { contentMd5: checks } : { checksumCrc32: checks }),
      ...(this.#o.grants.signed ? { contentLength } : {}),
    };
    const answer = await this.#withGrant((grant) => this.#o.bss.partUrls(grant, request, this.#call));
    for (const m of wanted) {
      const url = answer.parts[String(m)];
      if (url) this.#urls.set(m, { url, batch });
    }
  }

  /** Forgets URLs from the expired fetch and every older one. */
  #dropUrls(upTo: number): void {
    for (const [m, u] of this.#urls) if (u.batch <= upTo) this.#urls.delete(m);
  }

  async #sendPart(n: number): Promise<string> {
    // The check of the part this lane is likely to send next is read while this one is on the wire.
    const ahead = this.#missing[this.#missing.indexOf(n) + this.#o.concurrency];
    if (ahead !== undefined) this.#checkOf(this.#partCheck, ahead).catch(() => {});
    for (let refreshes = 0; ; refreshes += 1) {
      const part = await this.#urlFor(n);
      try {
        const check = await this.#checkOf(this.#partCheck, n);
        const headers: Record<string, string> =
          this.#partCheck === 'md5' ? { 'content-md5': check } : { [CRC32_HEADER]: check };
        return await this.#retry(() => this.#o.io.put(part.url, this.#part(n), headers, this.#o.signal));
      } catch (error) {
        // A part URL that no longer works (expired, or S3 refusing it) is worth re-minting a few times.
        if (failureOf(error)?.status !== 403 || refreshes >= MAX_REFRESHES_PER_PART || this.#o.signal?.aborted)
          throw error;
        if (isExpired(error) && !this.#notedPartExpiry) {
          this.#notedPartExpiry = true;
          this.#o.events?.note?.('part URLs expired: fetching fresh ones');
        }
        this.#dropUrls(part.batch);
      }
    }
  }
}
