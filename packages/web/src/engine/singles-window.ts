/// <reference lib="dom" />
/**
 * Small single-shot bodies to one BSS, gathered: the bodies handed over within a few
 * milliseconds (or until BUNDLE_FILES of them or BUNDLE_BYTES) go as ONE `POST /upload/singles`
 * (docs/protocol.md), a simple request with no CORS preflight. A browser pays about a millisecond
 * of its own work for each request it starts; a folder of small files pays it once per bundle.
 * Each caller gets its own file's answer: the stored blob, or its error as the file's own request
 * would have had it. A BSS without the route (404) gets each body on its own (a PUT) from then on.
 */
import { STATUS_BY_CODE } from '@dreamlake/protocol';
import { ProtocolError, protocolErrors, readFailure } from '../protocol/index.ts';
import { abortable } from './abortable.ts';
import type { PutAnswer } from './put.ts';

/** How long the first body of a bundle waits for others. */
const WINDOW_MS = 10;
/** Bodies one bundle may carry (BSS takes up to 1,000). */
const BUNDLE_FILES = 100;
/** Once a bundle holds this many bytes it goes without waiting. */
const BUNDLE_BYTES = 8 * 1024 * 1024;
/** A bundle's files are answered this many to a task of the page's thread (each answer sets its file going on). */
const ANSWERS_AT_ONCE = 20;

type SendOne = (singleUrl: string, blob: Blob, contentType: string, signal: AbortSignal) => Promise<PutAnswer>;

interface Waiter {
  url: string;
  blob: Blob;
  contentType: string;
  signal: AbortSignal;
  resolve(answer: PutAnswer): void;
  reject(error: unknown): void;
}

interface Bundle {
  waiters: Waiter[];
  bytes: number;
  timer: ReturnType<typeof setTimeout>;
}

export class SinglesWindow {
  readonly #open = new Map<string, Bundle>();
  /** Origins that answered 404: their BSS has no `/upload/singles`. */
  readonly #without = new Set<string>();
  readonly #sendOne: SendOne;

  /** `sendOne` sends a body on its own, for a BSS without the route. */
  constructor(sendOne: SendOne) {
    this.#sendOne = sendOne;
  }

  send(singleUrl: string, blob: Blob, contentType: string, signal: AbortSignal): Promise<PutAnswer> {
    const origin = new URL(singleUrl).origin;
    if (this.#without.has(origin)) return this.#sendOne(singleUrl, blob, contentType, signal);
    return abortable<PutAnswer>(signal, (settle) => {
      const waiter: Waiter = { url: singleUrl, blob, contentType, signal, ...settle };
      let bundle = this.#open.get(origin);
      if (!bundle) {
        bundle = { waiters: [], bytes: 0, timer: setTimeout(() => this.#flush(origin), WINDOW_MS) };
        this.#open.set(origin, bundle);
      }
      bundle.waiters.push(waiter);
      bundle.bytes += blob.size;
      if (bundle.waiters.length >= BUNDLE_FILES || bundle.bytes >= BUNDLE_BYTES) this.#flush(origin);
    });
  }

  #flush(origin: string): void {
    const bundle = this.#open.get(origin);
    if (!bundle) return;
    this.#open.delete(origin);
    clearTimeout(bundle.timer);
    const waiters = bundle.waiters.filter((w) => !w.signal.aborted);
    if (waiters.length > 0) void this.#post(origin, waiters);
  }

  async #post(origin: string, waiters: Waiter[]): Promise<void> {
    const head = JSON.stringify({ files: waiters.map((w) => ({ url: w.url, contentType: w.contentType })) });
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${origin}/upload/singles`, {
        method: 'POST',
        body: new Blob([head, '\n', ...waiters.map((w) => w.blob)]),
        headers: { 'content-type': 'text/plain' },
      });
      text = await res.text();
    } catch (error) {
      const failure = new ProtocolError(
        0,
        'network',
        `${origin} did not answer the upload: ${(error as Error).message}`,
      );
      for (const w of waiters) w.reject(failure);
      return;
    }
    if (res.status === 404) {
      this.#without.add(origin);
      for (const w of waiters) this.#sendOne(w.url, w.blob, w.contentType, w.signal).then(w.resolve, w.reject);
      return;
    }
    if (!res.ok) {
      const failure = protocolErrors.answer(readFailure(res.status, text, res.headers.get('retry-after')));
      for (const w of waiters) w.reject(failure);
      return;
    }
    let files: Array<Record<string, unknown>> = [];
    try {
      files = (JSON.parse(text) as { files?: Array<Record<string, unknown>> }).files ?? [];
    } catch {
      // Answered below as an answer without the file.
    }
    const answer = (w: Waiter, i: number): void => {
      const { index: _index, error, ...stored } = files[i] ?? {};
      if (error && typeof error === 'object') {
        const { code, message } = error as { code: string; message: string };
        const status = (STATUS_BY_CODE as Record<string, number>)[code] ?? 400;
        w.reject(new ProtocolError(status, code, message));
      } else if (files[i]) w.resolve({ etag: null, text: JSON.stringify(stored) });
      else w.reject(new ProtocolError(502, 'invalid_answer', 'BSS answered the bundle without this file'));
    };
    const some = (from: number): void => {
      for (let i = from; i < Math.min(waiters.length, from + ANSWERS_AT_ONCE); i += 1) answer(waiters[i] as Waiter, i);
      if (from + ANSWERS_AT_ONCE < waiters.length) setTimeout(() => some(from + ANSWERS_AT_ONCE), 0);
    };
    some(0);
  }
}
