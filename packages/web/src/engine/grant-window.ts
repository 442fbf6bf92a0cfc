/**
 * Grants in windows, as the CLI asks for them: the transfers of a drop each ask for their own
 * file's grant, and the calls made within one window (a few milliseconds, or until GRANT_BATCH
 * files wait) to the same space go to the server as ONE `POST /uploads/batch`. Each caller gets
 * its own entry back, or the error of the request they shared. No DOM.
 */
import type { BatchGrantEntry, BatchGrantFile, ServerApi } from '../protocol/index.ts';
import { abortable } from './abortable.ts';

/** Files one batch grant may carry: the server's BATCH_MAX_FILES. */
export const GRANT_BATCH = 1000;
/** How long the first call of a window waits for others to join it. */
const WINDOW_MS = 15;
/** A window's callers are answered this many to a task (each answer sets its file's upload going). */
const ANSWERS_AT_ONCE = 20;

interface Waiter {
  file: BatchGrantFile;
  resolve(answer: { files: BatchGrantEntry[] }): void;
  reject(error: unknown): void;
}

interface Window {
  waiters: Waiter[];
  timer: ReturnType<typeof setTimeout>;
}

type CallOptions = Parameters<ServerApi['grantBatch']>[3];

/**
 * The same API, but `grantBatch` calls of one file each are gathered into windows. A call of
 * several files goes as it is. A caller whose signal aborts is answered with its reason at once;
 * the shared request goes on for the others.
 */
export function grantWindows(api: ServerApi): ServerApi {
  const open = new Map<string, Window>();

  const send = (key: string, namespace: string, space: string): void => {
    const window = open.get(key);
    if (!window) return;
    open.delete(key);
    clearTimeout(window.timer);
    const { waiters } = window;
    api
      .grantBatch(
        namespace,
        space,
        waiters.map((w) => w.file),
      )
      .then(
        (answer) => {
          const some = (from: number): void => {
            waiters.slice(from, from + ANSWERS_AT_ONCE).forEach((w, i) => {
              const entry = answer.files[from + i];
              w.resolve({ files: entry ? [entry] : [] });
            });
            if (from + ANSWERS_AT_ONCE < waiters.length) setTimeout(() => some(from + ANSWERS_AT_ONCE), 0);
          };
          some(0);
        },
        (error: unknown) => {
          for (const w of waiters) w.reject(error);
        },
      );
  };

  const grantBatch = (
    namespace: string,
    space: string,
    files: BatchGrantFile[],
    call?: CallOptions,
  ): Promise<{ files: BatchGrantEntry[] }> => {
    const [file] = files;
    if (files.length !== 1 || !file) return api.grantBatch(namespace, space, files, call);
    return abortable<{ files: BatchGrantEntry[] }>(call?.signal, (settle) => {
      const waiter: Waiter = { file, ...settle };
      const key = JSON.stringify([namespace, space]);
      let window = open.get(key);
      if (!window) {
        window = { waiters: [], timer: setTimeout(() => send(key, namespace, space), WINDOW_MS) };
        open.set(key, window);
      }
      window.waiters.push(waiter);
      if (window.waiters.length >= GRANT_BATCH) send(key, namespace, space);
    });
  };

  return new Proxy(api, {
    get(target, property, receiver) {
      if (property === 'grantBatch') return grantBatch;
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
