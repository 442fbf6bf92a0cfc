import type { BssClient } from '../bss-client.ts';
import type { ServerConfig } from '../config.ts';
import { blobIndexed } from '../db/files.ts';
import type { DB } from '../db/open.ts';
import { type GrantCursor, type GrantedBlob, grantedAfter, grantsBetween } from '../db/upload-grants.ts';
import { readCursor, saveCursor } from './cursor.ts';

/** What the collection needs: the database, a way to ask BSS, the settings and the clock (ms). */
export interface BlobGcDeps {
  db: DB;
  bss: Pick<BssClient, 'deleteBlob'>;
  config: Pick<ServerConfig, 'blobGcGraceSeconds' | 'presignTtlSeconds'>;
  clock: () => number;
}

export interface BlobGcResult {
  /** Blobs BSS deleted. */
  deleted: number;
  /** False when BSS kept a blob as too recent: the walk stopped before it and resumes there next time. */
  finished: boolean;
}

const WALK = 'grants';
const PAGE = 500;
const FULL_HASH = /^[0-9a-f]{64}$/;

/**
 * One collection: walks the grants (in the order they were made) whose URLs expired more than
 * BLOB_GC_GRACE_SECONDS ago, and for each blob they name that was granted no later and that no
 * index entry points at, asks BSS to delete it. BSS itself keeps a blob published within its own
 * grace period. How far the walk got is kept in the database, so each grant is looked at once;
 * a blob granted again later is looked at again when that grant's turn comes.
 */
export async function collectBlobs(deps: BlobGcDeps): Promise<BlobGcResult> {
  const { db, config } = deps;
  const now = deps.clock();
  // A grant's URLs live PRESIGN_TTL_SECONDS; the receipts of what they uploaded as long again.
  const until = new Date(now - (config.presignTtlSeconds + config.blobGcGraceSeconds) * 1000).toISOString();
  const start = (await readCursor(db, WALK)) ?? { createdAt: '', id: '' };
  let cursor: GrantCursor = start;
  let deleted = 0;
  try {
    for (;;) {
      const page = await grantsBetween(db, cursor, until, PAGE);
      const looked = new Set<string>();
      for (const grant of page) {
        const key = `${grant.namespace}\n${grant.space}\n${grant.hash}`;
        if (!looked.has(key)) {
          looked.add(key);
          const outcome = await collectOne(deps, grant, until);
          if (outcome === 'recent') return { deleted, finished: false };
          if (outcome === 'deleted') deleted += 1;
        }
        cursor = { createdAt: grant.createdAt, id: grant.id };
      }
      if (page.length < PAGE) return { deleted, finished: true };
    }
  } finally {
    if (cursor !== start) await saveCursor(db, WALK, cursor, new Date(now).toISOString());
  }
}

async function collectOne(
  deps: BlobGcDeps,
  grant: GrantedBlob,
  until: string,
): Promise<'deleted' | 'absent' | 'recent' | 'kept'> {
  if (!FULL_HASH.test(grant.hash)) return 'kept';
  // Granted again since: that grant's own turn comes later.
  if (await grantedAfter(deps.db, grant, until)) return 'kept';
  if (await blobIndexed(deps.db, grant)) return 'kept';
  return deps.bss.deleteBlob({ owner: grant.namespace, project: grant.space, hash: grant.hash });
}

export interface BlobGcJob {
  /** Stops the timer and waits for a collection under way. */
  stop(): Promise<void>;
}

/** Runs `collectBlobs` every `intervalSeconds` (and once at start); a run still going skips the next tick. */
export function startBlobGc(
  deps: BlobGcDeps,
  intervalSeconds: number,
  onError: (error: unknown) => void,
  onRun: (result: BlobGcResult) => void = () => {},
): BlobGcJob {
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running) return;
    running = collectBlobs(deps)
      .then(onRun, onError)
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, intervalSeconds * 1000);
  timer.unref();
  tick();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
