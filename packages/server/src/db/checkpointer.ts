import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the WAL is copied back into the database file. */
const CHECKPOINT_INTERVAL_MS = 1000;

/**
 * The checkpointer's own thread and connection (plain JavaScript, so it runs however the server is
 * started). PASSIVE never waits for readers or writers.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (error) { parentPort.postMessage(String(error)); }
}, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Checkpoints a WAL-mode SQLite file from a worker thread. SQLite otherwise checkpoints inside
 * the commit that fills the WAL, on the event loop: copying the pages back and the fsync that
 * follows stall every request for milliseconds (far more on a busy disk). `onFailure` is called if
 * the worker cannot run, so the caller can hand checkpoints back to SQLite.
 */
export function startCheckpointer(path: string, onFailure: (why: string) => void): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { path, driver, intervalMs: CHECKPOINT_INTERVAL_MS },
  });
  worker.unref();
  let failed = false;
  const fail = (why: string) => {
    if (failed) return;
    failed = true;
    onFailure(why);
  };
  worker.on('error', (error) => fail(error.message));
  worker.on('message', (message: string) => fail(message));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      worker.postMessage('stop');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      await worker.terminate();
    },
  };
}
