import { CRC32_HEADER, crc32Etag, type PartCheck, type PartUrlsRequest } from '@dreamlake/protocol';
import type { MultipartInitBody } from '@dreamlake/protocol/client';
import type { BlobReceipt, UploadGrant } from '../api.ts';
import { limited } from '../bwlimit.ts';
import { ApiError, CliError } from '../errors.ts';
import { countedBody, putBody } from '../http.ts';
import { BssClient, isExpired } from './bss.ts';
import { partMd5 } from './hash.ts';
import { partCount, partRange } from './plan.ts';
import { eachLimited } from './pool.ts';
import { type ResumeState, ResumeStore } from './resume-state.ts';
import { withRetry } from './retry.ts';
import type { Prepared, Target, UploadDeps } from './types.ts';

/**
 * Where a transfer's BSS URLs come from: the DreamLake server's signed grants, or the unsigned
 * endpoints of a legacy BSS. The transfer itself does not tell them apart beyond `signed`.
 */
export interface GrantSource {
  /** Whose uploads these are, for the resume state: the server, or the legacy BSS. */
  readonly origin: string;
  /** Signed grants bind size and part lengths; the legacy flow names its scope in the init body instead. */
  readonly signed: boolean;
  readonly first: UploadGrant;
  /** Fresh URLs once these expired (the legacy flow has none and refuses). */
  refresh(): Promise<UploadGrant>;
}

export interface TransferOptions {
  deps: UploadDeps;
  prepared: Prepared;
  target: Target;
  grants: GrantSource;
}

/** The blob turned out to be stored already (another client finished it): nothing left to send. */
export class BlobAlreadyStored extends Error {
  /** BSS's receipt for it, when BSS is the one that said so. */
  readonly receipt: BlobReceipt | undefined;

  constructor(receipt?: BlobReceipt) {
    super('the blob is stored already');
    this.receipt = receipt;
  }
}

export interface TransferResult {
  /** Parts this run sent. */
  sent: number;
  receipt: BlobReceipt | undefined;
}

interface PartUrl {
  url: string;
  /** Which fetch it came from: an expiry invalidates that fetch and every older one. */
  batch: number;
}

const URL_BATCH = 50;
const MAX_REFRESHES_PER_PART = 4;

/**
 * The multipart transfer of one file through one (refreshable) grant: resume or start, part URLs
 * fetched a batch at a time, parts sent through a bounded pool with retries, then complete.
 */
export class Transfer {
  readonly store: ResumeStore;
  readonly #bss: BssClient;
  #grant: UploadGrant;
  #grantRefresh: Promise<UploadGrant> | undefined;
  #state!: ResumeState;
  readonly #urls = new Map<number, PartUrl>();
  readonly #pendingUrls = new Map<number, Promise<void>>();
  #batch = 0;
  #missing: number[] = [];
  #notedPartExpiry = false;
  /** MD5s of parts, computed as the parts go out, for a BSS that checks parts by MD5. */
  readonly #md5s = new Map<number, Promise<string>>();

  private readonly deps: UploadDeps;
  private readonly file: Prepared['file'];
  private readonly target: Target;
  private readonly digest: Prepared['digest'];
  private readonly type: Prepared['type'];
  private readonly contentType: string;
  private readonly grants: GrantSource;

  constructor(options: TransferOptions) {
    const { deps, prepared, target, grants } = options;
    this.deps = deps;
    this.file = prepared.file;
    this.target = target;
    this.digest = prepared.digest;
    this.type = prepared.type;
    this.contentType = prepared.contentType;
    this.grants = grants;
    this.#grant = grants.first;
    this.#bss = new BssClient(deps.dispatcher);
    this.store = new ResumeStore(deps.home, { server: grants.origin, ...target, hash: prepared.digest.sha256 });
  }

  get #upload(): { uploadId: string; key: string } {
    return { uploadId: this.#state.uploadId, key: this.#state.key };
  }

  /** Asks the server for fresh URLs once, however many parts noticed the expiry together. */
  async #refreshGrant(stale: UploadGrant): Promise<void> {
    if (this.#grant !== stale) return;
    this.#grantRefresh ??= (async () => {
      this.deps.events.note('signed URLs expired: asking the server for fresh ones');
      try {
        this.#grant = await this.grants.refresh();
        return this.#grant;
      } finally {
        this.#grantRefresh = undefined;
      }
    })();
    await this.#grantRefresh;
  }

  /** A call to BSS through the grant: transient failures retried, an expired grant renewed. */
  async #call<T>(fn: (grant: UploadGrant) => Promise<T>): Promise<T> {
    for (let refreshes = 0; ; refreshes += 1) {
      const grant = this.#grant;
      try {
        return await withRetry(() => fn(grant), this.deps.retry);
      } catch (error) {
        if (!isExpired(error) || refreshes >= 2) throw error;
        await this.#refreshGrant(grant);
      }
    }
  }

  /** Runs the transfer; answers how many parts this run sent and BSS's receipt for the blob. */
  async run(): Promise<TransferResult> {
    const partsTotal = partCount(this.file.size, this.digest.partSize);
    const done = await this.#resumeOrStart(partsTotal);
    this.#missing = [];
    for (let n = 1; n <= partsTotal; n += 1) if (!done.has(n)) this.#missing.push(n);

    this.deps.events.phase(this.file.name, 'uploading');
    for (const n of done) this.deps.events.resumed(this.file.name, this.#partLength(n));
    let sent = 0;
    const budget = this.deps.budget;
    await eachLimited(this.#missing, this.deps.concurrency, async (n) => {
      const etag = budget ? await budget.run(this.#partLength(n), () => this.#sendPart(n)) : await this.#sendPart(n);
      this.#state.done[String(n)] = etag;
      sent += 1;
      await this.store.save(this.#state);
    });

    const parts = Object.entries(this.#state.done)
      .map(([n, etag]) => ({ partNumber: Number(n), etag }))
      .sort((a, b) => a.partNumber - b.partNumber);
    this.deps.events.phase(this.file.name, 'finishing');
    let receipt: BlobReceipt | undefined;
    try {
      ({ receipt } = await this.#call((grant) => this.#bss.complete(grant, this.#upload, parts)));
    } catch (error) {
      if (
        error instanceof ApiError &&
        (error.code === 'hash_mismatch' || error.code === 'not_found' || error.code === 'invalid_part')
      ) {
        // This upload cannot be finished as it is: start afresh on the next run.
        await this.store.remove();
      }
      throw error;
    }
    return { sent, receipt };
  }

  #partLength(n: number): number {
    const range = partRange(this.file.size, this.digest.partSize, n);
    return range.end - range.start;
  }

  get #partCheck(): PartCheck {
    return this.#state.partCheck ?? 'md5';
  }

  #partMd5(n: number): Promise<string> {
    let md5 = this.#md5s.get(n);
    if (!md5) {
      md5 = partMd5(this.file.path, partRange(this.file.size, this.digest.partSize, n));
      this.#md5s.set(n, md5);
      md5.catch(() => this.#md5s.delete(n));
    }
    return md5;
  }

  /**
   * Whether a part BSS lists holds this file's bytes for it, as far as its ETag tells: an MD5
   * (32 hex) or a CRC-32 and size (20 hex) is compared; any other ETag is taken on its size alone.
   */
  async #holdsOurPart(n: number, etag: string): Promise<boolean> {
    if (/^[0-9a-f]{20}$/.test(etag)) return etag === crc32Etag(this.digest.partCrc32[n - 1] ?? '', this.#partLength(n));
    if (/^[0-9a-f]{32}$/.test(etag)) return etag === Buffer.from(await this.#partMd5(n), 'base64').toString('hex');
    return true;
  }

  /** Continues the saved upload when BSS still has it (keeping the parts it holds), else starts one. */
  async #resumeOrStart(partsTotal: number): Promise<Set<number>> {
    const saved = await this.store.load();
    if (saved && saved.partSize === this.digest.partSize && saved.type === this.type) {
      this.#state = saved;
      let answer: { parts: Array<{ partNumber: number; etag: string; size: number }>; expired: boolean };
      try {
        answer = await this.#call((grant) => this.#bss.partsDone(grant, this.#upload));
      } catch (error) {
        // BSS no longer knows this upload as ours (e.g. it was swept or its key is refused): start again.
        if (!(error instanceof ApiError) || error.status >= 500 || error.status === 429 || error.status === 401)
          throw error;
        this.deps.events.note(`cannot resume the earlier upload (${error.message}): starting it again`);
        answer = { parts: [], expired: true };
      }
      if (!answer.expired) {
        const done = new Set<number>();
        this.#state.done = {};
        for (const part of answer.parts) {
          const n = part.partNumber;
          const etag = part.etag.replace(/"/g, '');
          if (n < 1 || n > partsTotal || part.size !== this.#partLength(n)) continue;
          if (!(await this.#holdsOurPart(n, etag))) continue;
          done.add(n);
          this.#state.done[String(n)] = part.etag;
        }
        await this.store.save(this.#state);
        return done;
      }
    }
    const body: MultipartInitBody = !this.grants.signed
      ? {
          owner: this.target.namespace,
          project: this.target.space,
          hash: this.digest.sha256,
          contentType: this.contentType,
        }
      : { contentType: this.contentType, filename: this.file.name, size: this.file.size };
    const created = await this.#call((grant) => this.#bss.init(grant, body));
    if (created.exists) throw new BlobAlreadyStored(created.receipt);
    this.#state = {
      server: this.grants.origin,
      namespace: this.target.namespace,
      space: this.target.space,
      hash: this.digest.sha256,
      type: this.type,
      partSize: this.digest.partSize,
      partsTotal,
      uploadId: created.uploadId,
      key: created.key,
      done: {},
      // A BSS that names no check (older ones) checks MD5.
      partCheck: created.partCheck ?? 'md5',
      updatedAt: new Date().toISOString(),
    };
    await this.store.save(this.#state);
    return new Set();
  }

  /** The PUT URL of a part, fetching it with the next few parts that have none yet. */
  async #urlFor(n: number): Promise<PartUrl> {
    for (;;) {
      const known = this.#urls.get(n);
      if (known) return known;
      const pending = this.#pendingUrls.get(n);
      if (pending) {
        await pending;
        continue;
      }
      // Parts checked by MD5 get their URLs one at a time: each MD5 is computed as its part goes out.
      const wanted =
        this.#partCheck === 'md5'
          ? [n]
          : this.#missing.filter((m) => m >= n && !this.#urls.has(m) && !this.#pendingUrls.has(m)).slice(0, URL_BATCH);
      if (!wanted.includes(n)) wanted.unshift(n);
      const batch = ++this.#batch;
      const fetch = (async () => {
        // Each URL is bound to its part's check and length (BSS or S3 then refuses any other body).
        const checks: Record<string, string> = {};
        const contentLength: Record<string, number> = {};
        for (const m of wanted) {
          checks[String(m)] = this.#partCheck === 'md5' ? await this.#partMd5(m) : (this.digest.partCrc32[m - 1] ?? '');
          contentLength[String(m)] = this.#partLength(m);
        }
        const request: PartUrlsRequest = {
          ...this.#upload,
          partNumbers: wanted,
          ...(this.#partCheck === 'md5' ? { contentMd5: checks } : { checksumCrc32: checks }),
          ...(this.grants.signed ? { contentLength } : {}),
        };
        const answer = await this.#call((grant) => this.#bss.partUrls(grant, request));
        for (const m of wanted) {
          const url = answer.parts[String(m)];
          if (url) this.#urls.set(m, { url, batch });
        }
      })();
      for (const m of wanted) this.#pendingUrls.set(m, fetch);
      try {
        await fetch;
      } finally {
        for (const m of wanted) if (this.#pendingUrls.get(m) === fetch) this.#pendingUrls.delete(m);
      }
      if (!this.#urls.has(n)) throw new CliError(`BSS gave no URL for part ${n}`);
    }
  }

  /** Forgets URLs from the expired fetch and every older one. */
  #dropUrls(upTo: number): void {
    for (const [m, u] of this.#urls) if (u.batch <= upTo) this.#urls.delete(m);
  }

  async #sendPart(n: number): Promise<string> {
    if (this.#partCheck === 'md5') {
      // The MD5 of the part this lane is likely to send next is computed while this one is on the wire.
      const ahead = this.#missing[this.#missing.indexOf(n) + this.deps.concurrency];
      if (ahead !== undefined) this.#partMd5(ahead).catch(() => {});
    }
    for (let refreshes = 0; ; refreshes += 1) {
      const part = await this.#urlFor(n);
      try {
        return await withRetry(() => this.#putOnce(part.url, n), this.deps.retry);
      } catch (error) {
        // A part URL that no longer works (expired, or S3 refusing it) is worth re-minting a few times.
        const refusable = error instanceof ApiError && error.status === 403;
        if (!refusable || refreshes >= MAX_REFRESHES_PER_PART) throw error;
        if (isExpired(error) && !this.#notedPartExpiry) {
          this.#notedPartExpiry = true;
          this.deps.events.note('part URLs expired: fetching fresh ones');
        }
        this.#dropUrls(part.batch);
      }
    }
  }

  async #putOnce(url: string, n: number): Promise<string> {
    const range = partRange(this.file.size, this.digest.partSize, n);
    let counted = 0;
    const body = countedBody(this.file.path, range, (bytes) => {
      counted += bytes;
      this.deps.events.sent(this.file.name, bytes);
    });
    try {
      return await putBody(this.deps.dispatcher, url, {
        body: limited(this.deps.limiter, body.chunks),
        length: range.end - range.start,
        ...(this.#partCheck === 'md5'
          ? { contentMd5: await this.#partMd5(n) }
          : { headers: { [CRC32_HEADER]: this.digest.partCrc32[n - 1] ?? '' } }),
      });
    } catch (error) {
      this.deps.events.sent(this.file.name, -counted);
      throw error;
    } finally {
      body.close();
    }
  }
}
