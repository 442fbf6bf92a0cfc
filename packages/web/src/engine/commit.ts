/**
 * The files of one drop (a folder, or many files at once) land as ONE snapshot: once their blobs
 * are stored, their names go to the server in one commit — `POST …/commits` for up to
 * COMMIT_BATCH names, else a draft (opened, its entries added COMMIT_BATCH at a time, then
 * committed). No DOM: the page passes its waiting and its login in.
 */
import {
  type CommitAnswer,
  isExpired,
  isTransient,
  ProtocolError,
  type RegisterRequest,
  type ServerApi,
} from '../protocol/index.ts';
import { retryDelay } from './retry-delay.ts';

/** Names one request may carry: the server's BATCH_MAX_FILES. */
export const COMMIT_BATCH = 1000;
/** A receipt this close to its end is left out: the server proves the blob with BSS instead. */
const RECEIPT_MARGIN_SECONDS = 120;
const MAX_SERVER_FAILURES = 8;

export type CommitEvent =
  | { kind: 'committing'; added: number; total: number }
  | { kind: 'retrying'; reason: string; inSeconds: number };

export interface CommitContext {
  api: ServerApi;
  namespace: string;
  space: string;
  /** The snapshot's message ("" for none). */
  message: string;
  /** Aborts the commit (its requests and its waits). */
  signal?: AbortSignal;
  report?(event: CommitEvent): void;
  /** Resolves once the user has logged in again after a 401. */
  reauthenticate(): Promise<void>;
  /** Waits before the next attempt after a transient failure. */
  wait(ms: number): Promise<void>;
  /** Seconds since the epoch (receipts are checked against it). */
  now?(): number;
}

/** The puts with receipts that are about to expire (or have) left out, so the server stats BSS instead. */
export function freshReceipts(puts: RegisterRequest[], nowSeconds: number, all = false): RegisterRequest[] {
  return puts.map((put) => {
    if (!put.receipt || (!all && put.receipt.exp - nowSeconds > RECEIPT_MARGIN_SECONDS)) return put;
    const { receipt: _, ...rest } = put;
    return rest;
  });
}

/** Runs one step, again after a 401 (once logged in), an expired receipt (without receipts) or a transient failure. */
async function withRetries<T>(ctx: CommitContext, step: (dropReceipts: boolean) => Promise<T>): Promise<T> {
  let serverFailures = 0;
  let dropReceipts = false;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await step(dropReceipts);
    } catch (error) {
      if (ctx.signal?.aborted) throw ctx.signal.reason ?? error;
      if (error instanceof ProtocolError && error.status === 401) {
        await ctx.reauthenticate();
        continue;
      }
      if (isExpired(error) && !dropReceipts) {
        dropReceipts = true;
        continue;
      }
      if (!isTransient(error)) throw error;
      if ((error as ProtocolError).status !== 0) serverFailures += 1;
      if (serverFailures > MAX_SERVER_FAILURES) throw error;
      const ms = retryDelay(attempt, error);
      ctx.report?.({ kind: 'retrying', reason: (error as Error).message, inSeconds: Math.round(ms / 1000) });
      await ctx.wait(ms);
    }
  }
}

/**
 * Commits `puts` as one snapshot on the space's head. Answers the server's CommitAnswer: the
 * snapshot made, or head (`created: false`) when every name already pointed at its blob.
 */
export async function commitPuts(puts: RegisterRequest[], ctx: CommitContext): Promise<CommitAnswer> {
  const { api, namespace, space } = ctx;
  const call = ctx.signal ? { signal: ctx.signal } : {};
  const now = ctx.now ?? (() => Math.floor(Date.now() / 1000));
  const message = ctx.message;
  const prepared = (batch: RegisterRequest[], dropReceipts: boolean): RegisterRequest[] =>
    freshReceipts(batch, now(), dropReceipts);
  if (puts.length <= COMMIT_BATCH) {
    ctx.report?.({ kind: 'committing', added: 0, total: puts.length });
    return withRetries(ctx, (dropReceipts) =>
      api.commit(namespace, space, { ...(message ? { message } : {}), puts: prepared(puts, dropReceipts) }, call),
    );
  }
  const draft = await withRetries(ctx, () => api.openDraft(namespace, space, message ? { message } : {}, call));
  try {
    for (let from = 0; from < puts.length; from += COMMIT_BATCH) {
      ctx.report?.({ kind: 'committing', added: from, total: puts.length });
      const batch = puts.slice(from, from + COMMIT_BATCH);
      // Adding entries is idempotent: a batch sent again replaces its own entries.
      await withRetries(ctx, (dropReceipts) =>
        api.addDraftEntries(namespace, space, draft.id, { puts: prepared(batch, dropReceipts) }, call),
      );
    }
    ctx.report?.({ kind: 'committing', added: puts.length, total: puts.length });
    return await withRetries(ctx, () => api.commitDraft(namespace, space, draft.id, message ? { message } : {}, call));
  } catch (error) {
    // A draft that cannot commit holds its blobs until it expires: let them go now (best effort).
    await api.deleteDraft(namespace, space, draft.id).catch(() => undefined);
    throw error;
  }
}
