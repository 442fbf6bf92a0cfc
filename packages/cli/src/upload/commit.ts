import type { CommitAnswer, RegisterRequest, ServerApi } from '../api.ts';
import { CliError } from '../errors.ts';
import { type RetryOptions, withRetry } from '../transfer/retry.ts';
import { ServerCapabilities } from './capabilities.ts';
import type { PendingBlobs } from './pending-blobs.ts';
import type { Target } from './types.ts';

/** Changes in one commit or one batch of a draft (the server's limit). */
export const COMMIT_BATCH_MAX = 1000;
/**
 * A receipt that runs out within this long is left out when its entry goes: the server then asks
 * BSS whether it holds the blob (a receipt expired on its way would refuse the whole commit).
 */
const RECEIPT_MARGIN_MS = 2 * 60 * 1000;

export type CommitApi = Pick<
  ServerApi,
  'commit' | 'openDraft' | 'addDraftEntries' | 'commitDraft' | 'deleteDraft' | 'registerFiles' | 'registerFile'
>;

export interface CommitterOptions {
  api: CommitApi;
  target: Target;
  retry: RetryOptions;
  /** The snapshot's message. */
  message?: string | undefined;
  /**
   * The version the run's changes were worked out against (a sync's listing): the server lands
   * them on head when no name they touch changed since, and refuses them (409) otherwise.
   */
  parent?: number | undefined;
  /** Where the drafts this run opens are noted (and those earlier runs left are found). */
  pending?: PendingBlobs | undefined;
  /** Changes per request (COMMIT_BATCH_MAX; smaller in tests). */
  batch?: number;
  /** Milliseconds since the epoch (the receipts' clock). */
  now?: () => number;
  /** Told of a batch refused while the run goes on (the run then stops starting files). */
  onError?: (error: unknown) => void;
  /** What the server answers to (the run's, when it has learnt some already); learnt here otherwise. */
  capabilities?: ServerCapabilities;
}

/**
 * Gathers a run's entries into ONE snapshot: up to COMMIT_BATCH_MAX of them go in one
 * `POST …/commits` when the run ends; past that a draft is opened, filled a batch at a time as
 * the entries come (each batch proven by the server as it is added), and committed at the end.
 * Against a server without commits, the entries are registered in batches (no snapshot).
 */
export class Committer {
  readonly #o: CommitterOptions;
  readonly #batch: number;
  #pending: RegisterRequest[] = [];
  /** Names to remove from head in the same snapshot (sent at the end). */
  #deletes: string[] = [];
  #draft: string | undefined;
  /** Whether the server keeps commits and takes registrations in batches. */
  readonly #server: ServerCapabilities;
  /** The batches sent so far, one after the other. */
  #chain: Promise<void> = Promise.resolve();
  #failure: { error: unknown } | undefined;
  /** Entries sent to a draft (or registered) so far. */
  #sent = 0;

  constructor(options: CommitterOptions) {
    this.#o = options;
    this.#batch = options.batch ?? COMMIT_BATCH_MAX;
    this.#server = options.capabilities ?? new ServerCapabilities();
  }

  /** Entries taken so far. */
  get count(): number {
    return this.#sent + this.#pending.length + this.#deletes.length;
  }

  /** Names to remove from head in the run's snapshot (a sync's deletes), sent with its last changes. */
  remove(names: Iterable<string>): void {
    for (const name of names) this.#deletes.push(name);
  }

  /** The snapshot's parent, when the run named one. */
  get #base(): { parent?: number } {
    return this.#o.parent !== undefined ? { parent: this.#o.parent } : {};
  }

  /** Takes one entry; once more than one request's worth are waiting, a batch goes to the draft. */
  add(entry: RegisterRequest): void {
    this.#pending.push(entry);
    if (this.#pending.length > this.#batch) this.#send(this.#pending.splice(0, this.#batch));
  }

  #send(batch: RegisterRequest[]): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#failure) return;
      try {
        await this.#toDraft(batch);
      } catch (error) {
        this.#failure = { error };
        this.#o.onError?.(error);
      }
    });
  }

  #fresh(entries: RegisterRequest[]): RegisterRequest[] {
    const now = (this.#o.now ?? Date.now)();
    return entries.map((entry) => {
      if (!entry.receipt || entry.receipt.exp * 1000 - now > RECEIPT_MARGIN_MS) return entry;
      const { receipt: _expiring, ...rest } = entry;
      return rest;
    });
  }

  async #toDraft(batch: RegisterRequest[]): Promise<void> {
    const { api, target, retry } = this.#o;
    if (this.#server.has('commits') && this.#draft === undefined) {
      const draft = await this.#server.ask('commits', () =>
        withRetry(
          () =>
            api.openDraft(target.namespace, target.space, {
              ...this.#base,
              ...(this.#o.message ? { message: this.#o.message } : {}),
            }),
          retry,
        ),
      );
      if (draft) {
        this.#draft = draft.id;
        await this.#o.pending?.recordDraft(draft.id);
      }
    }
    if (batch.length === 0) return;
    const puts = this.#fresh(batch);
    if (!this.#server.has('commits')) await this.#register(puts);
    else {
      const id = this.#draft as string;
      await withRetry(() => api.addDraftEntries(target.namespace, target.space, id, { puts }), retry);
    }
    this.#sent += batch.length;
  }

  /** Registers entries one batch at a time the way a server without commits takes them. */
  async #register(entries: RegisterRequest[]): Promise<void> {
    const { api, target, retry } = this.#o;
    for (let start = 0; start < entries.length; start += this.#batch) {
      const batch = entries.slice(start, start + this.#batch);
      const answers = (
        await this.#server.ask('batchRegister', () =>
          withRetry(() => api.registerFiles(target.namespace, target.space, batch), retry),
        )
      )?.files;
      if (answers === undefined) {
        for (const entry of batch)
          await withRetry(() => api.registerFile(target.namespace, target.space, entry), retry);
        continue;
      }
      batch.forEach((entry, i) => {
        const answer = answers[i];
        if (!answer) throw new CliError(`${entry.name}: the server did not answer this registration`);
        if ('error' in answer) throw new CliError(`${entry.name}: ${answer.error.code}: ${answer.error.message}`);
      });
    }
  }

  /**
   * Commits what was taken as one snapshot, and answers it (`created: false` with head when
   * nothing changed); null against a server without commits (the entries were registered).
   * Drafts left by earlier runs into the space are dropped once this one has committed.
   */
  async finish(): Promise<CommitAnswer | null> {
    const { api, target, retry, message } = this.#o;
    await this.#chain;
    if (this.#failure) throw this.#failure.error;
    const rest = this.#pending;
    const deletes = this.#deletes;
    this.#pending = [];
    this.#deletes = [];
    let answer: CommitAnswer | null = null;
    if (this.#draft === undefined && this.#server.has('commits') && rest.length + deletes.length <= this.#batch) {
      answer =
        (await this.#server.ask('commits', () =>
          withRetry(
            () =>
              api.commit(target.namespace, target.space, {
                ...this.#base,
                puts: this.#fresh(rest),
                ...(deletes.length > 0 ? { deletes } : {}),
                ...(message ? { message } : {}),
              }),
            retry,
          ),
        )) ?? null;
    } else if (this.#draft === undefined && this.#server.has('commits')) {
      // More than one request holds: a draft, filled below.
      await this.#toDraft([]);
    }
    if (!this.#server.has('commits')) {
      if (deletes.length > 0) throw new CliError('this server keeps no snapshots: it cannot remove names');
      await this.#register(this.#fresh(rest));
      this.#sent += rest.length;
      return null;
    }
    if (this.#draft !== undefined) {
      const id = this.#draft;
      for (let start = 0; start < rest.length; start += this.#batch)
        await this.#toDraft(rest.slice(start, start + this.#batch));
      for (let start = 0; start < deletes.length; start += this.#batch) {
        const batch = deletes.slice(start, start + this.#batch);
        await withRetry(() => api.addDraftEntries(target.namespace, target.space, id, { deletes: batch }), retry);
        this.#sent += batch.length;
      }
      answer = await withRetry(
        () => api.commitDraft(target.namespace, target.space, id, message ? { message } : {}),
        retry,
      );
    }
    await this.#forgetEarlier();
    return answer;
  }

  /** The run committed: the drafts of earlier runs into the space go, and so does the journal. */
  async #forgetEarlier(): Promise<void> {
    const pending = this.#o.pending;
    if (!pending) return;
    const { api, target } = this.#o;
    for (const id of pending.drafts) {
      if (id === this.#draft) continue;
      await api.deleteDraft(target.namespace, target.space, id).catch(() => undefined);
    }
    await pending.remove();
  }
}
