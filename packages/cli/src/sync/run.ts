/**
 * A sync run: the plan (see planSync), then its uploads and deletes as ONE snapshot (one commit,
 * or a draft filled and committed once), made against the version the plan compared with. What
 * `dreamlake sync` and `DreamLakeClient.sync` run.
 */
import { type CommitAnswer, ServerApi } from '../api.ts';
import { runUpload, type UploadRunOptions } from '../client.ts';
import { CliError } from '../errors.ts';
import { createAgent } from '../http.ts';
import type { SpaceFolder } from '../target.ts';
import { HashCache } from '../transfer/hash-cache.ts';
import { taking } from '../upload/files.ts';
import type { RunHooks } from '../upload/run.ts';
import type { UploadEvents } from '../upload/types.ts';
import { type PlanHooks, planSync, type SyncFilterOptions, type SyncPlan } from './plan.ts';

/** The exit code of a sync refused by `--max-delete`. */
export const MAX_DELETE_EXIT = 3;

export interface SyncRunOptions extends Omit<UploadRunOptions, 'parent' | 'deletes' | 'hashCache' | 'type'> {
  filters: SyncFilterOptions;
  /** Refuse (exit 3, nothing sent or committed) a sync that would remove more names than this. */
  maxDelete?: number | undefined;
  /** Work out the plan and stop: nothing is sent or committed. */
  dryRun?: boolean | undefined;
}

export interface SyncHooks extends RunHooks, PlanHooks {
  /** The plan, once worked out, before anything is sent. */
  plan?(plan: SyncPlan): void;
}

export interface SyncOutcome {
  plan: SyncPlan;
  /**
   * The ONE snapshot the sync made, or head as it stayed (`created: false`) when nothing was to
   * change; null for a dry run, or against a server without snapshots.
   */
  commit: CommitAnswer | null;
}

/** The refusal of `--max-delete`: how many names it would have removed. */
export class TooManyDeletes extends CliError {
  readonly count: number;

  constructor(count: number, max: number) {
    super(
      `the sync would delete ${count} name${count === 1 ? '' : 's'}, more than --max-delete ${max}: nothing was sent or committed`,
      MAX_DELETE_EXIT,
    );
    this.count = count;
  }
}

/**
 * Syncs the folder `dir` into `where` (see planSync for what changes): plans, then, unless
 * `dryRun`, uploads the new and changed files and commits them with the deletes as one snapshot
 * whose parent is the version planned against (a name changed there meanwhile: 409, nothing
 * committed). A file that changes while it is uploaded is told to `hooks.failed` and left out;
 * the others commit. Nothing to change: no commit at all.
 */
export async function runSync(
  options: SyncRunOptions,
  dir: string,
  where: SpaceFolder,
  events: UploadEvents,
  hooks: SyncHooks,
): Promise<SyncOutcome> {
  options.signal?.throwIfAborted();
  const hashCache = new HashCache(options.home);
  const agent = createAgent(2);
  try {
    const api = new ServerApi(options.server, agent, options.token);
    const plan = await planSync(api, hashCache, dir, where, options.filters, hooks);
    hooks.plan?.(plan);
    if (options.maxDelete !== undefined && plan.deletes.length > options.maxDelete)
      throw new TooManyDeletes(plan.deletes.length, options.maxDelete);
    if (options.dryRun) return { plan, commit: null };
    if (plan.uploads.length === 0 && plan.deletes.length === 0)
      return { plan, commit: { created: false, snapshot: plan.headSnapshot ?? null } as CommitAnswer };
    options.signal?.throwIfAborted();
    const commit = await runUpload(
      {
        ...options,
        parent: plan.head,
        deletes: plan.deletes.map((f) => f.name),
        hashCache,
      },
      taking([...plan.uploads]),
      where,
      events,
      hooks,
    );
    return { plan, commit };
  } finally {
    await hashCache.flush().catch(() => undefined);
    await agent.close().catch(() => undefined);
  }
}
