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
/**
 * Bundles in flight to one BSS. BSS stores 8 files of a bundle at once, so 4 bundles keep 32
 * files being stored, as the CLI's 32 single-shot PUTs do; more only queue up at BSS (each file
 * waits there for its fsyncs, slower for all) while a bundle that waits here for its turn keeps
 * taking the files that come meanwhile, up to BUNDLE_FILES.
 */
const BUNDLES_AT_ONCE = 8;

type SendOne = (singleUrl: string, blob: Blob, contentType: string, signal: AbortSignal) => Promise<PutAnswer>;

interface Waiter {
  url: string;
  blob: Blob;
  /** The blob's bytes, when its hashing kept them: the bundle sends them, without reading the file again. */
  bytes: Uint8Array | undefined;
  contentType: string;
  signal: AbortSignal;
  resolve(answer: PutAnswer): void;
  reject(error: unknown): void;
}

interface Bundle {
  waiters: Waiter[];
  bytes: number;
  timer: ReturnType<typeof setTimeout>;
  /** Its window has passed: it goes at the next free turn. */
  due: boolean;
}

/** One BSS's bundles: the one taking files, those full or due waiting for a turn, and how many are in flight. */
interface Origin {
  open: Bundle | undefined;
  ready: Waiter[][];
  inFlight: number;
}

/**
 * A bundle's body: its first line, then each file's bytes, those kept from its hashing (the
 * browser sends them as they are) or the file (the browser reads it as it sends it). A Blob even
 * when every file's bytes were kept: a buffer body would be copied whole into each DevTools event
 * of the request (Playwright, the tests), a Blob's parts are not.
 */
function bundleBody(head: string, waiters: Waiter[]): Blob {
  return new Blob([head, '\n', ...waiters.map((w) => (w.bytes as Uint8Array<ArrayBuffer> | undefined) ?? w.blob)]);
}

export class SinglesWindow {
  readonly #origins = new Map<string, Origin>();
  /** Origins that answered 404: their BSS has no `/upload/singles`. */
  readonly #without = new Set<string>();
  readonly #sendOne: SendOne;
  readonly #bundlesAtOnce: number;

  /** `sendOne` sends a body on its own, for a BSS without the route. */
  constructor(sendOne: SendOne, bundlesAtOnce = BUNDLES_AT_ONCE) {
    this.#sendOne = sendOne;
    this.#bundlesAtOnce = bundlesAtOnce;
  }

  send(
    singleUrl: string,
    blob: Blob,
    contentType: string,
    signal: AbortSignal,
    bytes?: Uint8Array,
  ): Promise<PutAnswer> {
    const origin = new URL(singleUrl).origin;
    if (this.#without.has(origin)) return this.#sendOne(singleUrl, blob, contentType, signal);
    return abortable<PutAnswer>(signal, (settle) => {
      const waiter: Waiter = { url: singleUrl, blob, bytes, contentType, signal, ...settle };
      let state = this.#origins.get(origin);
      if (!state) {
        state = { open: undefined, ready: [], inFlight: 0 };
        this.#origins.set(origin, state);
      }
      let bundle = state.open;
      if (!bundle) {
        const opened: Bundle = {
          waiters: [],
          bytes: 0,
          due: false,
          timer: setTimeout(() => this.#due(origin, opened), WINDOW_MS),
        };
        bundle = opened;
        state.open = bundle;
      }
      bundle.waiters.push(waiter);
      bundle.bytes += blob.size;
      if (bundle.waiters.length >= BUNDLE_FILES || bundle.bytes >= BUNDLE_BYTES) {
        this.#close(state);
        this.#pump(origin, state);
      }
    });
  }

  /** A bundle's window passed: it goes now, or at the next free turn (taking more files meanwhile). */
  #due(origin: string, bundle: Bundle): void {
    const state = this.#origins.get(origin);
    if (!state || state.open !== bundle) return;
    bundle.due = true;
    if (state.inFlight < this.#bundlesAtOnce) {
      this.#close(state);
      this.#pump(origin, state);
    }
  }

  /** The open bundle takes no more files: it waits for its turn. */
  #close(state: Origin): void {
    const bundle = state.open;
    if (!bundle) return;
    state.open = undefined;
    clearTimeout(bundle.timer);
    state.ready.push(bundle.waiters);
  }

  #pump(origin: string, state: Origin): void {
    while (state.inFlight < this.#bundlesAtOnce) {
      if (state.ready.length === 0 && state.open?.due) this.#close(state);
      const waiters = state.ready.shift();
      if (!waiters) return;
      const live = waiters.filter((w) => !w.signal.aborted);
      if (live.length === 0) continue;
      state.inFlight += 1;
      void this.#post(origin, live).finally(() => {
        state.inFlight -= 1;
        this.#pump(origin, state);
      });
    }
  }

  async #post(origin: string, waiters: Waiter[]): Promise<void> {
    const head = JSON.stringify({ files: waiters.map((w) => ({ url: w.url, contentType: w.contentType })) });
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${origin}/upload/singles`, {
        method: 'POST',
        body: bundleBody(head, waiters),
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
