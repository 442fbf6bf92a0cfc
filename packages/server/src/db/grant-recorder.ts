import type { DB } from './open.ts';
import { type GrantAuditRow, recordUploadGrants } from './upload-grants.ts';

/** Writes audit rows; rows recorded in the same turn of the event loop share one statement or transaction. */
export interface GrantRecorder {
  /** Resolves once the rows are written. */
  record(grants: readonly GrantAuditRow[]): Promise<void>;
}

/**
 * Group commit for the audit log: every request still waits until its rows are in the database,
 * but the rows of requests answered at the same moment go in one multi-row insert rather than a
 * transaction each. A failed write fails every request whose rows it carried.
 */
export function createGrantRecorder(db: DB): GrantRecorder {
  let pending: { grants: GrantAuditRow[]; done: Promise<void> } | null = null;
  let writing: Promise<void> = Promise.resolve();

  function flush(grants: GrantAuditRow[]): Promise<void> {
    const previous = writing;
    const done = previous.then(() => {
      if (pending?.grants === grants) pending = null;
      return recordUploadGrants(db, grants);
    });
    writing = done.catch(() => {});
    return done;
  }

  return {
    record(grants) {
      if (grants.length === 0) return Promise.resolve();
      if (!pending) {
        const batch: GrantAuditRow[] = [];
        pending = {
          grants: batch,
          done: new Promise<void>((resolve) => setImmediate(resolve)).then(() => flush(batch)),
        };
      }
      pending.grants.push(...grants);
      return pending.done;
    },
  };
}
