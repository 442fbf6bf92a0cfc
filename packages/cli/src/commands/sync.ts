import { resolve } from 'node:path';
import { DEFAULT_CONCURRENCY } from '../client.ts';
import { loadSettings, type SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { formatBytes } from '../progress.ts';
import { shownName } from '../shown-name.ts';
import type { PlanEntry, SyncPlan } from '../sync/plan.ts';
import { runSync } from '../sync/run.ts';
import { parseSpaceFolder } from '../target.ts';
import { uploadRunBase } from './run-options.ts';
import { commitJson, commitText } from './snapshot-text.ts';
import { transferProgress } from './transfer-progress.ts';
import { bwlimitOf, skippedReporter, type WalkFlags, walkOptions } from './walk-flags.ts';

export interface SyncOptions extends SettingFlags, WalkFlags {
  delete?: boolean;
  deleteExcluded?: boolean;
  maxDelete?: string;
  message?: string;
  concurrency?: string;
}

function countOf(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}`);
  return n;
}

/** A plan's line for a person: `upload  NAME  (new, 1.2 KiB)`, `delete  NAME`; unchanged files are counted, not listed. */
function entryText(entry: PlanEntry): string | undefined {
  if (entry.action === 'upload')
    return `upload  ${shownName(entry.name)}  (${entry.reason}, ${formatBytes(entry.size)})`;
  if (entry.action === 'delete') return `delete  ${shownName(entry.name)}`;
  return undefined;
}

/** What the plan comes to, in one line. */
function planSummary(plan: SyncPlan, dryRun: boolean): string {
  const would = dryRun ? 'would ' : '';
  const parts = [
    `${would}upload ${plan.uploads.length} file${plan.uploads.length === 1 ? '' : 's'} (${formatBytes(plan.uploadBytes)}: ${plan.added} new, ${plan.uploads.length - plan.added} changed)`,
    `${plan.unchanged} unchanged`,
    `${would}delete ${plan.deletes.length}`,
  ];
  if (plan.kept > 0) parts.push(`${plan.kept} only in the space kept`);
  parts.push(`${plan.ignored} ignored`);
  return `${dryRun ? 'dry run: ' : ''}${parts.join(', ')}${dryRun ? '; nothing was sent or committed' : ''}`;
}

function planJson(plan: SyncPlan, dryRun: boolean): string {
  return JSON.stringify({
    event: 'plan',
    dryRun,
    namespace: plan.namespace,
    space: plan.space,
    prefix: plan.prefix,
    head: plan.head,
    upload: plan.uploads.length,
    uploadBytes: plan.uploadBytes,
    added: plan.added,
    changed: plan.uploads.length - plan.added,
    unchanged: plan.unchanged,
    delete: plan.deletes.length,
    kept: plan.kept,
    ignored: plan.ignored,
  });
}

/**
 * `dreamlake sync DIR NAMESPACE/SPACE[/PREFIX]`: makes the names under PREFIX the folder's
 * contents as ONE snapshot (see runSync). Prints the plan (uploads and deletes; with --json every
 * file, unchanged ones too), then the snapshot made. A file that changed while it was uploaded
 * is named and left out, the others commit, and the exit code is 1. `--max-delete` exceeded:
 * exit 3, nothing sent.
 */
export async function sync(io: Io, dir: string, targetText: string, options: SyncOptions): Promise<void> {
  const where = parseSpaceFolder(targetText, 'a sync writes to');
  const maxDelete = countOf(options.maxDelete, '--max-delete', 0, Number.MAX_SAFE_INTEGER);
  const concurrency = countOf(options.concurrency, '--concurrency', 1, 64) ?? DEFAULT_CONCURRENCY;
  const bwlimit = bwlimitOf(options);
  const dryRun = Boolean(options.dryRun);
  const settings = await loadSettings(io.env, options);
  if (!settings.token)
    throw new CliError(`not logged in to ${settings.server}: run \`dreamlake login\` (or set DREAMLAKE_TOKEN)`);
  const cwd = (io.cwd ?? process.cwd)();
  const progress = transferProgress(io, options.json);
  const failed: Array<{ name: string; message: string }> = [];
  let started = false;
  try {
    const outcome = await runSync(
      {
        ...uploadRunBase(settings, settings.token, concurrency, (line) => progress.note(line)),
        message: options.message,
        bwlimit,
        filters: {
          ...walkOptions(options),
          delete: Boolean(options.delete),
          deleteExcluded: Boolean(options.deleteExcluded),
        },
        maxDelete,
        dryRun,
      },
      resolve(cwd, dir),
      where,
      progress,
      {
        onSkipped: skippedReporter(io, options),
        plan: (plan) => {
          // The plan, as it will happen (or would, with --dry-run): in name order.
          const lines: string[] = [];
          for (const entry of plan.entries) {
            const line = options.json ? JSON.stringify(entry) : entryText(entry);
            if (line !== undefined) lines.push(line);
          }
          lines.push(options.json ? planJson(plan, dryRun) : planSummary(plan, dryRun));
          io.stdout.write(`${lines.join('\n')}\n`);
          if (!dryRun && plan.uploads.length > 0) {
            progress.start(plan.uploads.length, plan.uploadBytes);
            started = true;
          }
        },
        begin: (file) => progress.begin(file.name, file.size),
        result: (_index, result) => {
          if (result.skipped) progress.skipped();
          // With --json, each file's upload as `upload --json` tells it (`skipped`: no bytes sent).
          if (options.json) progress.log(JSON.stringify({ event: 'uploaded', ...result }));
        },
        end: (file) => progress.end(file.name),
        failed: (_index, file, error) => {
          failed.push({ name: file.name, message: error.message });
          if (options.json)
            progress.log(
              JSON.stringify({ event: 'failed', name: file.name, reason: error.change.reason, message: error.message }),
            );
          else progress.note(`dreamlake: ${error.message}`);
        },
      },
    );
    progress.stop();
    if (outcome.commit) {
      const line = options.json ? commitJson(outcome.commit) : commitText(where, outcome.commit);
      io.stdout.write(`${line}\n`);
    }
    if (started && !options.json) {
      if (progress.live) io.stdout.write(`${progress.summary()}\n`);
      else io.stderr.write(`${progress.summary()}\n`);
    }
  } finally {
    progress.stop();
  }
  if (failed.length > 0) {
    const names = failed
      .slice(0, 10)
      .map((f) => `"${shownName(f.name)}"`)
      .join(', ');
    const more = failed.length > 10 ? ` and ${failed.length - 10} more` : '';
    throw new CliError(
      `${failed.length} file${failed.length === 1 ? '' : 's'} changed while being uploaded and ${failed.length === 1 ? 'was' : 'were'} left out of the snapshot: ${names}${more}; run the sync again once they are no longer being written`,
    );
  }
}
