/// <reference lib="dom" />
/**
 * One file through our flow: grant (batch grant of one entry, which offers the single-shot URL for
 * small files), then BSS's single-shot PUT or the multipart steps (resuming from BSS's parts-done
 * when an earlier attempt, or an earlier page, opened the upload). The answer is the name's entry
 * for the commit (with BSS's receipt): the names of a drop are committed together, as one snapshot
 * (commit.ts). Every attempt starts with a fresh grant, so expired URLs are simply renewed.
 */
import {
  type BatchGrant,
  bss,
  choosePartSize,
  detectContentType,
  detectType,
  isExpired,
  isTransient,
  type OpenUpload,
  ProtocolError,
  parseStored,
  planParts,
  type RegisterRequest,
  type ServerApi,
  SINGLE_UPLOAD_MAX_BYTES,
  type StoredBlob,
} from '../protocol/index.ts';
import { putBody } from './put.ts';
import type { ResumeStore } from './resume-store.ts';

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
const PART_URLS_AT_ONCE = 16;
const MAX_SERVER_FAILURES = 8;
/** Renewals after expired URLs before giving up (a clock far off would expire every URL at once). */
const MAX_RENEWALS = 10;

/**
 * Upload progress is reported at most this often. XMLHttpRequest fires every 50 ms per request in
 * flight, and each report re-renders the queue row and Uppy's Dashboard: reporting every event
 * cost the page about 2.5 s of CPU in its renderer for a 256 MiB file, as much as the upload itself.
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

/** BSS origins known to take single-shot bodies straight away (disk backend): no asking first. */
const putOrigins = new Set<string>();

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
      const retryAfter = (error as ProtocolError).retryAfter;
      const ms = retryAfter !== undefined ? retryAfter * 1000 : Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      ctx.report({ kind: 'retrying', reason: (error as Error).message, inSeconds: Math.round(ms / 1000) });
      await ctx.wait(ms, ctx.signal);
    }
  }
}

async function attemptOnce(job: TransferJob, ctx: TransferContext): Promise<TransferResult> {
  const { blob, name, hash } = job;
  const type = detectType(name);
  const contentType = detectContentType(name);
  ctx.report({ kind: 'granting' });
  const answer = await ctx.api.grantBatch(
    ctx.namespace,
    ctx.space,
    [{ filename: name, hash, contentType, type, size: blob.size }],
    { signal: ctx.signal },
  );
  const entry = answer.files[0];
  if (!entry) throw new ProtocolError(502, 'invalid_answer', 'the server answered the grant without an entry');
  if ('error' in entry) {
    throw new ProtocolError(STATUS_BY_ENTRY_CODE[entry.error.code] ?? 400, entry.error.code, entry.error.message);
  }
  const register = { name, hash, type, contentType };
  const size = blob.size;
  if (entry.exists) return { put: register, size, skipped: true, partsTotal: 0, partsSent: 0 };
  if (entry.singleUrl && blob.size <= SINGLE_UPLOAD_MAX_BYTES) {
    const stored = await sendSingle(entry, blob, contentType, ctx);
    return { put: { ...register, receipt: stored.receipt }, size, skipped: false, partsTotal: 1, partsSent: 1 };
  }
  return sendMultipart(entry, job, register, ctx);
}

async function sendSingle(grant: BatchGrant, blob: Blob, contentType: string, ctx: TransferContext) {
  const singleUrl = grant.singleUrl as string;
  const origin = new URL(singleUrl).origin;
  const report = progressReporter(ctx, blob.size);
  const progress = (sent: number): void => report(sent);
  report(0, true);
  const begin = putOrigins.has(origin)
    ? ({ mode: 'put', url: singleUrl } as const)
    : await bss.singleBegin(singleUrl, contentType, { signal: ctx.signal });
  if (begin.mode === 'put') {
    putOrigins.add(origin);
    const put = await putBody(singleUrl, blob, { 'content-type': contentType }, progress, ctx.signal);
    const stored = parseStored(put.text);
    if (!stored) throw new ProtocolError(502, 'invalid_answer', 'BSS answered the single-shot upload without a body');
    return stored;
  }
  await putBody(begin.url, blob, begin.headers ?? { 'content-type': contentType }, progress, ctx.signal);
  return bss.singleComplete(singleUrl, begin.key, { signal: ctx.signal });
}

async function openOrResume(
  grant: BatchGrant,
  job: TransferJob,
  contentType: string,
  ctx: TransferContext,
): Promise<{ upload: OpenUpload; partSize: number; done: Map<number, string> } | { stored: StoredBlob }> {
  const { namespace, space, resume } = ctx;
  const saved = resume.get(namespace, space, job.hash);
  if (saved && saved.size === job.blob.size) {
    const upload = { uploadId: saved.uploadId, key: saved.key };
    const answer = await bss.partsDone(grant, upload, { signal: ctx.signal });
    if (!answer.expired) {
      const parts = planParts(job.blob.size, saved.partSize);
      const done = new Map<number, string>();
      for (const p of answer.parts) {
        const planned = parts[p.partNumber - 1];
        if (planned && planned.end - planned.start === p.size) done.set(p.partNumber, p.etag);
      }
      return { upload, partSize: saved.partSize, done };
    }
    resume.delete(namespace, space, job.hash);
  }
  const init = await bss.init(grant, { contentType, filename: job.name, size: job.blob.size }, { signal: ctx.signal });
  if (init.exists && init.receipt) {
    return {
      stored: {
        success: true,
        key: init.key,
        hash: job.hash,
        size: job.blob.size,
        contentType,
        receipt: init.receipt,
      },
    };
  }
  const partSize = choosePartSize(job.blob.size);
  const upload = { uploadId: init.uploadId, key: init.key };
  resume.set(namespace, space, job.hash, { ...upload, partSize, size: job.blob.size });
  return { upload, partSize, done: new Map() };
}

async function sendMultipart(
  grant: BatchGrant,
  job: TransferJob,
  register: RegisterRequest,
  ctx: TransferContext,
): Promise<TransferResult> {
  const opened = await openOrResume(grant, job, register.contentType, ctx);
  if ('stored' in opened) {
    const put = { ...register, receipt: opened.stored.receipt };
    return { put, size: job.blob.size, skipped: true, partsTotal: 0, partsSent: 0 };
  }
  const { upload, partSize, done } = opened;
  const parts = planParts(job.blob.size, partSize);
  if (done.size > 0) ctx.report({ kind: 'resumed', partsDone: done.size, partsTotal: parts.length });
  const missing = parts.filter((p) => !done.has(p.partNumber));
  const inFlight = new Map<number, number>();
  let finished = parts.filter((p) => done.has(p.partNumber)).reduce((sum, p) => sum + (p.end - p.start), 0);
  const report = progressReporter(ctx, job.blob.size);
  const progress = (force = false): void => {
    let sent = finished;
    for (const bytes of inFlight.values()) sent += bytes;
    report(sent, force);
  };
  progress(true);

  // One failed part stops the others of this attempt; the next attempt resumes from parts-done.
  const attempt = new AbortController();
  const stop = (): void => attempt.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', stop, { once: true });
  const signal = attempt.signal;

  const urls = new Map<number, string>();
  let asking: Promise<void> | undefined;
  const urlFor = async (partNumber: number): Promise<string> => {
    while (!urls.has(partNumber)) {
      if (!asking) {
        const from = missing.findIndex((p) => p.partNumber === partNumber);
        const batch = missing.slice(from, from + PART_URLS_AT_ONCE).filter((p) => !urls.has(p.partNumber));
        const lengths = Object.fromEntries(batch.map((p) => [String(p.partNumber), p.end - p.start]));
        asking = bss
          .partUrls(
            grant,
            { ...upload, partNumbers: batch.map((p) => p.partNumber), contentLength: lengths },
            { signal },
          )
          .then((answer) => {
            for (const [n, url] of Object.entries(answer.parts)) urls.set(Number(n), url);
          })
          .finally(() => {
            asking = undefined;
          });
      }
      await asking;
    }
    return urls.get(partNumber) as string;
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < missing.length) {
      const part = missing[next++];
      if (!part) return;
      const url = await urlFor(part.partNumber);
      inFlight.set(part.partNumber, 0);
      try {
        const answer = await putBody(
          url,
          job.blob.slice(part.start, part.end),
          {},
          (sent) => {
            inFlight.set(part.partNumber, sent);
            progress();
          },
          signal,
        );
        if (!answer.etag) {
          throw new ProtocolError(0, 'missing_etag', 'BSS answered a part without an ETag (CORS must expose ETag)');
        }
        done.set(part.partNumber, answer.etag);
        finished += part.end - part.start;
      } finally {
        inFlight.delete(part.partNumber);
        progress(true);
      }
    }
  };
  const workers = Array.from({ length: Math.min(ctx.partConcurrency ?? 4, missing.length) }, () =>
    worker().catch((error: unknown) => {
      attempt.abort(error);
      throw error;
    }),
  );
  try {
    await Promise.all(workers);
  } finally {
    ctx.signal.removeEventListener('abort', stop);
  }

  const list = [...done.entries()].sort((a, b) => a[0] - b[0]).map(([partNumber, etag]) => ({ partNumber, etag }));
  const stored = await bss.complete(grant, upload, list, { signal: ctx.signal });
  ctx.resume.delete(ctx.namespace, ctx.space, job.hash);
  return {
    put: { ...register, receipt: stored.receipt },
    size: job.blob.size,
    skipped: false,
    partsTotal: parts.length,
    partsSent: missing.length,
  };
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
