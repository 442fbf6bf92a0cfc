/// <reference lib="dom" />
/**
 * One file through our flow: grant (batch grant of one entry, which offers the single-shot URL for
 * small files), then BSS's single-shot PUT or the protocol's multipart engine, the CLI's (resuming
 * from BSS's parts-done when an earlier attempt, or an earlier page, opened the upload). The answer is the name's entry
 * for the commit (with BSS's receipt): the names of a drop are committed together, as one snapshot
 * (commit.ts). Every attempt starts with a fresh grant, so expired URLs are simply renewed.
 */
import { partCount, type SingleBegin, type UploadGrant } from '@dreamlake/protocol';
import {
  BlobAlreadyStored,
  choosePartSize,
  type MultipartState,
  type MultipartStore,
  MultipartUpload,
} from '@dreamlake/protocol/client';
import {
  type BatchGrant,
  bss,
  detectContentType,
  detectType,
  isExpired,
  isTransient,
  ProtocolError,
  parseStored,
  type RegisterRequest,
  type ServerApi,
  SINGLE_UPLOAD_MAX_BYTES,
} from '../protocol/index.ts';
import { partCheck, putBody } from './put.ts';
import type { ResumeStore, SavedUpload } from './resume-store.ts';
import { retryDelay } from './retry-delay.ts';
import { SinglesWindow } from './singles-window.ts';

export type TransferEvent =
  | { kind: 'granting' }
  | { kind: 'uploading'; sent: number; total: number }
  | { kind: 'resumed'; partsDone: number; partsTotal: number }
  | { kind: 'retrying'; reason: string; inSeconds: number };

export interface TransferJob {
  blob: Blob;
  /** The name in the space (a relative path for a file from a folder). */
  name: string;
  hash: string;
  /** The file's bytes as they were hashed, when kept: sent as they are, without reading the file again. */
  bytes?: Uint8Array;
}

export interface TransferContext {
  api: ServerApi;
  namespace: string;
  space: string;
  resume: ResumeStore;
  signal: AbortSignal;
  report(event: TransferEvent): void;
  /** Resolves once the user has logged in again after a 401. */
  reauthenticate(): Promise<void>;
  /** Waits before the next attempt after a transient failure (the page also wakes on `online`). */
  wait(ms: number, signal: AbortSignal): Promise<void>;
  partConcurrency?: number;
}

export interface TransferResult {
  /** The name's entry for the commit: its blob, type, media type and, when BSS gave one, its receipt. */
  put: RegisterRequest;
  size: number;
  /** Nothing was sent: the space or BSS already held the blob. */
  skipped: boolean;
  partsTotal: number;
  partsSent: number;
}

/** HTTP statuses for the codes a batch entry can carry (the entry itself has none). */
const STATUS_BY_ENTRY_CODE: Record<string, number> = { too_large: 413, invalid_request: 400, forbidden: 403 };
const MAX_SERVER_FAILURES = 8;
/** Renewals after expired URLs before giving up (a clock far off would expire every URL at once). */
const MAX_RENEWALS = 10;

/**
 * Upload progress is reported at most this often. XMLHttpRequest fires every 50 ms per request in
 * flight, and each report re-renders the queue row and Uppy's Dashboard: reporting every event
 * cost the page's renderer as much CPU as the upload itself (docs/web.md, "Limits and measured
 * speed").
 */
const PROGRESS_EVERY_MS = 250;

/** Reports `uploading` progress, skipping reports closer than PROGRESS_EVERY_MS unless forced. */
function progressReporter(ctx: TransferContext, total: number): (sent: number, force?: boolean) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (sent, force = false) => {
    const now = performance.now();
    if (!force && now - last < PROGRESS_EVERY_MS) return;
    last = now;
    ctx.report({ kind: 'uploading', sent, total });
  };
}

/**
 * By BSS origin: the largest single-shot body it takes straight away by PUT (Infinity: any, as a
 * BSS that names no `maxSize` does), learnt from its first `put` answer; a file up to it is sent
 * without asking first, a larger one asks (on S3 BSS stages it in the bucket).
 */
const putLimits = new Map<string, number>();

/**
 * Bodies up to this go to BSS as simple POSTs, several in one request (`/upload/singles`),
 * without upload progress and without the CORS preflight a PUT needs; to a BSS without that
 * route, and larger ones, are PUT, with progress (a body sent with no sign of life for IDLE_MS
 * fails its file, and 1 MiB in that time needs only some 17 KB/s).
 */
const SIMPLE_POST_MAX_BYTES = 1024 * 1024;

/** Small bodies to BSS several at a time (one request for many files), each PUT alone to a BSS that cannot. */
const singles = new SinglesWindow((url, blob, contentType, signal) =>
  putBody(url, blob, { 'content-type': contentType }, () => {}, signal),
);

/** By BSS origin: the single-shot question a file is asking it now, that files after it wait for. */
const askingBss = new Map<string, Promise<unknown>>();

function putLimitOf(begin: SingleBegin): number {
  const maxSize = (begin as { maxSize?: unknown }).maxSize;
  return typeof maxSize === 'number' && Number.isSafeInteger(maxSize) && maxSize >= 0 ? maxSize : Infinity;
}

export async function transferFile(job: TransferJob, ctx: TransferContext): Promise<TransferResult> {
  let serverFailures = 0;
  let renewals = 0;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await attemptOnce(job, ctx);
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
      if (error instanceof ProtocolError && error.status === 401) {
        await ctx.reauthenticate();
        continue;
      }
      if (isExpired(error)) {
        renewals += 1;
        if (renewals > MAX_RENEWALS) {
          throw new ProtocolError(
            403,
            'expired_signature',
            "signed URLs keep expiring: is this computer's clock right?",
          );
        }
        continue;
      }
      if (!isTransient(error)) throw error;
      const network = (error as ProtocolError).status === 0;
      if (!network) serverFailures += 1;
      if (serverFailures > MAX_SERVER_FAILURES) throw error;
      const ms = retryDelay(attempt, error);
      ctx.report({ kind: 'retrying', reason: (error as Error).message, inSeconds: Math.round(ms / 1000) });
      await ctx.wait(ms, ctx.signal);
    }
  }
}

/** The job's entry of a batch grant (of one): its URLs, or `exists` when the space holds the blob. */
async function grantEntry(
  job: TransferJob,
  ctx: TransferContext,
): Promise<{ exists: true } | (BatchGrant & { exists?: false })> {
  const { blob, name, hash } = job;
  const answer = await ctx.api.grantBatch(
    ctx.namespace,
    ctx.space,
    [{ filename: name, hash, contentType: detectContentType(name), type: detectType(name), size: blob.size }],
    { signal: ctx.signal },
  );
  const entry = answer.files[0];
  if (!entry) throw new ProtocolError(502, 'invalid_answer', 'the server answered the grant without an entry');
  if ('error' in entry) {
    throw new ProtocolError(STATUS_BY_ENTRY_CODE[entry.error.code] ?? 400, entry.error.code, entry.error.message);
  }
  return entry;
}

async function attemptOnce(job: TransferJob, ctx: TransferContext): Promise<TransferResult> {
  const { blob, name, hash } = job;
  const type = detectType(name);
  const contentType = detectContentType(name);
  ctx.report({ kind: 'granting' });
  const entry = await grantEntry(job, ctx);
  const register = { name, hash, type, contentType };
  const size = blob.size;
  if (entry.exists) return { put: register, size, skipped: true, partsTotal: 0, partsSent: 0 };
  if (entry.singleUrl && blob.size <= SINGLE_UPLOAD_MAX_BYTES) {
    const stored = await sendSingle(entry, blob, contentType, ctx, job.bytes);
    return { put: { ...register, receipt: stored.receipt }, size, skipped: false, partsTotal: 1, partsSent: 1 };
  }
  return sendMultipart(entry, job, register, ctx);
}

async function sendSingle(
  grant: BatchGrant,
  blob: Blob,
  contentType: string,
  ctx: TransferContext,
  bytes: Uint8Array | undefined,
) {
  const singleUrl = grant.singleUrl as string;
  const origin = new URL(singleUrl).origin;
  const report = progressReporter(ctx, blob.size);
  const progress = (sent: number): void => report(sent);
  report(0, true);
  const putToBss = async () => {
    const put =
      blob.size <= SIMPLE_POST_MAX_BYTES
        ? await singles.send(singleUrl, blob, contentType, ctx.signal, bytes)
        : await putBody(singleUrl, blob, { 'content-type': contentType }, progress, ctx.signal);
    const stored = parseStored(put.text);
    if (!stored) throw new ProtocolError(502, 'invalid_answer', 'BSS answered the single-shot upload without a body');
    report(blob.size);
    return stored;
  };
  const putIfKnown = async () => {
    if (blob.size > (putLimits.get(origin) ?? -1)) return undefined;
    try {
      return await putToBss();
    } catch (error) {
      // A BSS that wants this body sent another way (another instance, of another version): ask it.
      const refused = error as Partial<ProtocolError>;
      if (refused.status !== 409 || refused.code !== 'conflict') throw error;
      putLimits.delete(origin);
      return undefined;
    }
  };
  const known = await putIfKnown();
  if (known) return known;
  // Another file is asking this BSS how it takes bodies (a batch's files come all at once): its
  // answer does for this one too, without a question (and a CORS preflight) of its own.
  const asking = putLimits.has(origin) ? undefined : askingBss.get(origin);
  if (asking) {
    await asking.catch(() => {});
    const put = await putIfKnown();
    if (put) return put;
  }
  const beginning = bss.singleBegin(singleUrl, contentType, { signal: ctx.signal });
  if (!askingBss.has(origin)) {
    askingBss.set(origin, beginning);
    const done = () => {
      if (askingBss.get(origin) === beginning) askingBss.delete(origin);
    };
    beginning.then(done, done);
  }
  const begin = await beginning;
  if (begin.mode === 'put') {
    putLimits.set(origin, putLimitOf(begin));
    return putToBss();
  }
  await putBody(begin.url, blob, begin.headers ?? { 'content-type': contentType }, progress, ctx.signal);
  return bss.singleComplete(singleUrl, begin.key, { signal: ctx.signal });
}

/** The resume state of one blob in the page's store (localStorage), as the engine keeps it. */
function resumeStore(job: TransferJob, ctx: TransferContext): MultipartStore {
  const { namespace, space, resume } = ctx;
  const size = job.blob.size;
  return {
    load: async () => {
      const saved = resume.get(namespace, space, job.hash) as (SavedUpload & Partial<MultipartState>) | undefined;
      if (!saved || saved.size !== size) return undefined;
      const partsTotal = partCount(size, saved.partSize);
      return { ...saved, partsTotal, done: saved.done ?? {} };
    },
    save: async (state) => resume.set(namespace, space, job.hash, { ...state, size }),
    remove: async () => resume.delete(namespace, space, job.hash),
  };
}

/** A fresh grant for the job (its URLs expired): the batch grant asked again. */
async function regrant(job: TransferJob, ctx: TransferContext): Promise<UploadGrant> {
  const entry = await grantEntry(job, ctx);
  if (entry.exists) throw new BlobAlreadyStored();
  return entry;
}

/**
 * The multipart upload through the protocol's engine (the CLI's too): resumed from BSS's parts-done
 * when an earlier attempt or page opened it, URLs fetched in batches and renewed once expired, the
 * parts sent four at a time with their CRC-32 (or MD5, as BSS asks) read from the Blob.
 */
async function sendMultipart(
  grant: BatchGrant,
  job: TransferJob,
  register: RegisterRequest,
  ctx: TransferContext,
): Promise<TransferResult> {
  const { blob } = job;
  const store = resumeStore(job, ctx);
  // An upload an earlier page opened keeps its part size (the page reads any part size from the Blob).
  const saved = await store.load();
  const partSize = saved?.partSize ?? choosePartSize(blob.size);
  const inFlight = new Map<number, number>();
  let finished = 0;
  const report = progressReporter(ctx, blob.size);
  const progress = (force = false): void => {
    let sent = finished;
    for (const bytes of inFlight.values()) sent += bytes;
    report(sent, force);
  };
  let partsTotal = 0;
  const upload = new MultipartUpload({
    bss,
    grants: { signed: true, first: grant, refresh: () => regrant(job, ctx) },
    size: blob.size,
    partSize,
    init: { contentType: register.contentType, filename: job.name, size: blob.size },
    store,
    concurrency: ctx.partConcurrency ?? 4,
    signal: ctx.signal,
    io: {
      computeCheck: (check, part) => partCheck(check, blob.slice(part.start, part.end)),
      // The engine passes on the signal it was given: ctx.signal.
      put: async (url, part, headers) => {
        inFlight.set(part.partNumber, 0);
        try {
          const answer = await putBody(
            url,
            blob.slice(part.start, part.end),
            headers,
            (sent) => {
              inFlight.set(part.partNumber, sent);
              progress();
            },
            ctx.signal,
          );
          if (!answer.etag) {
            throw new ProtocolError(0, 'missing_etag', 'BSS answered a part without an ETag (CORS must expose ETag)');
          }
          finished += part.end - part.start;
          return answer.etag;
        } finally {
          inFlight.delete(part.partNumber);
          progress(true);
        }
      },
    },
    events: {
      opened: (done, total) => {
        partsTotal = total;
        finished = done.reduce((sum, p) => sum + (p.end - p.start), 0);
        if (done.length > 0) ctx.report({ kind: 'resumed', partsDone: done.length, partsTotal: total });
        progress(true);
      },
    },
  });
  try {
    const { sent, receipt } = await upload.run();
    return { put: { ...register, receipt }, size: blob.size, skipped: false, partsTotal, partsSent: sent };
  } catch (error) {
    if (!(error instanceof BlobAlreadyStored)) throw error;
    const put = error.receipt ? { ...register, receipt: error.receipt } : register;
    return { put, size: blob.size, skipped: true, partsTotal: 0, partsSent: 0 };
  }
}

/** After a cancel: tells BSS to drop the parts of an open upload (best effort) and forgets it. */
export async function abandonUpload(
  api: ServerApi,
  resume: ResumeStore,
  target: { namespace: string; space: string },
  job: TransferJob,
): Promise<void> {
  const saved = resume.get(target.namespace, target.space, job.hash);
  if (!saved) return;
  resume.delete(target.namespace, target.space, job.hash);
  try {
    const answer = await api.grantBatch(target.namespace, target.space, [
      {
        filename: job.name,
        hash: job.hash,
        contentType: detectContentType(job.name),
        type: detectType(job.name),
        size: job.blob.size,
      },
    ]);
    const entry = answer.files[0];
    if (entry && !('error' in entry) && !entry.exists) await bss.abort(entry, saved);
  } catch {
    // BSS sweeps what is left.
  }
}
