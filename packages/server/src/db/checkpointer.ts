import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the WAL is copied back into the database file. */
const CHECKPOINT_INTERVAL_MS = 1000;

/**
 * A WAL of this many frames or more after a checkpoint (256 MiB of 4 KiB pages) is made to start
 * over from its beginning (see `onLongWal`).
 */
export const WAL_RESTART_FRAMES = 65_536;

/** A checkpoint pass this short leaves the main thread little to copy (see the worker). */
const SHORT_PASS_MS = 5;

/**
 * The checkpointer's own thread and connection (plain JavaScript, so it runs however the server is
 * started). PASSIVE never waits for readers or writers. It tells of a failure, and of a WAL still
 * `restartFrames` long or more after a checkpoint, to the main thread.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
const checkpoint = () => {
  const started = performance.now();
  const [result] = db.pragma('wal_checkpoint(PASSIVE)');
  return { frames: result ? result.log : 0, ms: performance.now() - started };
};
// Set from telling the main thread of a long WAL until it answers that its own checkpoint is
// over: one checkpoint at a time, as a second one meanwhile would find the first one's lock and
// copy nothing, and the WAL would not start over.
let waiting = false;
const timer = setInterval(() => {
  if (waiting) return;
  try {
    let last = checkpoint();
    if (last.frames < workerData.restartFrames) return;
    // Copies what was written during the last pass, until a pass is short: the main thread then
    // has only a few milliseconds of writes left to copy.
    for (let pass = 0; pass < 8 && last.ms > workerData.shortPassMs; pass += 1) last = checkpoint();
    waiting = true;
    parentPort.postMessage({ longWal: true });
  } catch (error) {
    parentPort.postMessage({ failed: String(error) });
  }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'resume') {
    waiting = false;
    return;
  }
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  /** Called if the worker cannot run, so the caller can hand checkpoints back to SQLite. */
  onFailure: (why: string) => void;
  /**
   * Called on the main thread when the WAL was still `restartFrames` long or more after a
   * checkpoint. SQLite starts a WAL over only at a write that finds every frame copied back, and
   * the main thread's writes keep adding frames while the worker copies: under steady writes the
   * WAL would grow for as long as they last. The caller checkpoints once on its own connection,
   * between two of its transactions: no frame is added meanwhile, only those written since the
   * worker's checkpoint are left to copy, and its next write starts the WAL over. The worker does
   * not checkpoint until this has returned: SQLite runs one checkpoint at a time, and one that
   * finds another running copies nothing.
   */
  onLongWal: () => void;
  intervalMs?: number;
  restartFrames?: number;
}

/**
 * Checkpoints a WAL-mode SQLite file from a worker thread. SQLite otherwise checkpoints inside
 * the commit that fills the WAL, on the event loop: copying the pages back and the fsync that
 * follows stall every request for milliseconds (far more on a busy disk).
 */
export function startCheckpointer(path: string, options: CheckpointerOptions): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      path,
      driver,
      intervalMs: options.intervalMs ?? CHECKPOINT_INTERVAL_MS,
      restartFrames: options.restartFrames ?? WAL_RESTART_FRAMES,
      shortPassMs: SHORT_PASS_MS,
    },
  });
  worker.unref();
  let failed = false;
  const fail = (why: string) => {
    if (failed) return;
    failed = true;
    options.onFailure(why);
  };
  worker.on('error', (error) => fail(error.message));
  worker.on('message', (message: { failed?: string; longWal?: true }) => {
    if (message.failed !== undefined) fail(message.failed);
    else if (message.longWal && !failed) {
      try {
        options.onLongWal();
      } finally {
        // The worker checkpoints again only now (see `waiting` in its source).
        worker.postMessage('resume');
      }
    }
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      worker.postMessage('stop');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      await worker.terminate();
    },
  };
}
