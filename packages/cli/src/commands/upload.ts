import { ServerApi } from '../api.ts';
import { DEFAULT_CONCURRENCY, runUpload, type UploadRunOptions } from '../client.ts';
import { loadSettings, type SettingFlags, type Settings } from '../config.ts';
import type { Io } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { createAgent } from '../http.ts';
import { formatBytes } from '../progress.ts';
import { shownName } from '../shown-name.ts';
import { parseSpaceFolder } from '../target.ts';
import { HashCache } from '../transfer/hash-cache.ts';
import { ASSET_TYPES, isAssetType } from '../types.ts';
import { planUpload } from '../upload/dry-run.ts';
import { collectFiles, taking } from '../upload/files.ts';
import type { FileResult, LocalFile } from '../upload/uploader.ts';
import { uploadRunBase } from './run-options.ts';
import { commitJson, commitText } from './snapshot-text.ts';
import { transferProgress } from './transfer-progress.ts';
import { bwlimitOf, skippedReporter, type WalkFlags, walkOptions } from './walk-flags.ts';

export interface UploadOptions extends SettingFlags, WalkFlags {
  to?: string;
  type?: string;
  json?: boolean;
  concurrency?: string;
  message?: string;
}

/** Without a terminal, a line as a file starts, for files at least this large. */
const ANNOUNCE_FROM_BYTES = 16 * 1024 * 1024;

function concurrencyOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_CONCURRENCY;
  const n = Number(text);
  // Digits only, as sync takes it: not `0x10`, `1e1` or an empty string.
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n < 1 || n > 64)
    throw new UsageError('--concurrency must be an integer from 1 to 64');
  return n;
}

function describe(result: FileResult): string {
  const where = `${result.namespace}/${result.space}/${result.name}`;
  if (result.skipped) return `${where}  already stored (sha256 ${result.hash}), nothing sent`;
  const resumed =
    result.partsSent < result.partsTotal ? `, resumed: ${result.partsSent} of ${result.partsTotal} parts sent` : '';
  const legacy = result.legacy ? ' through the legacy BSS flow (not in the index)' : '';
  return `${where}  ${formatBytes(result.size)} ${result.type}  sha256 ${result.hash}${resumed}${legacy}`;
}

/**
 * Uploads files and folders into a space (or a folder of it: `--to NS/SPACE/FOLDER/`) as ONE
 * snapshot, and prints its version; stops starting files at the first failure (and then commits
 * nothing: a run again sends what is missing and commits the whole). A file that changes while
 * it is uploaded is named and left out, the others commit, and the exit code is 1. `--dry-run`
 * prints what would be sent and sends nothing.
 */
export async function upload(io: Io, paths: string[], options: UploadOptions): Promise<void> {
  if (!options.to) throw new UsageError('--to NAMESPACE/SPACE is required');
  const { prefix, ...target } = parseSpaceFolder(options.to, 'an upload writes to');
  const bwlimit = bwlimitOf(options);
  if (options.type !== undefined && !isAssetType(options.type)) {
    throw new UsageError(`--type must be one of ${ASSET_TYPES.join(', ')}`);
  }
  const typeOverride = options.type as (typeof ASSET_TYPES)[number] | undefined;
  const concurrency = concurrencyOf(options.concurrency);
  const settings = await loadSettings(io.env, options);
  if (!settings.token)
    throw new CliError(`not logged in to ${settings.server}: run \`dreamlake login\` (or set DREAMLAKE_TOKEN)`);
  let ignored = 0;
  const files = await collectFiles(paths, {
    ...walkOptions(options),
    prefix,
    // Said at once, before the run's display starts: what the walk left out and why.
    onSkipped: skippedReporter(io, options),
    onIgnored: () => {
      ignored += 1;
    },
  });
  if (options.dryRun) return dryRun(io, settings, files, target, ignored, Boolean(options.json));
  const progress = transferProgress(io, options.json);
  const run: UploadRunOptions = {
    ...uploadRunBase(settings, settings.token, concurrency, (line) => progress.note(line)),
    type: typeOverride,
    message: options.message,
    bwlimit,
  };
  const failed: string[] = [];
  progress.start(
    files.length,
    files.reduce((sum, f) => sum + f.size, 0),
  );
  // Results printed in the files' order, each as soon as every file before it is done. The lines
  // that become printable together (a batch registered at once) go in one write, not one each.
  const results: Array<string | undefined> = [];
  let printed = 0;
  let flushing: NodeJS.Immediate | undefined;
  const flushNow = (): void => {
    if (flushing) clearImmediate(flushing);
    flushing = undefined;
    const lines: string[] = [];
    while (printed < results.length && results[printed] !== undefined) {
      lines.push(results[printed] as string);
      results[printed++] = undefined;
    }
    if (lines.length > 0) progress.log(lines.join('\n'));
  };
  const flush = (): void => {
    flushing ??= setImmediate(flushNow);
  };
  try {
    const answer = await runUpload(run, taking(files), target, progress, {
      begin: (file) => {
        progress.begin(file.name, file.size);
        if (!progress.live && !options.json && file.size >= ANNOUNCE_FROM_BYTES)
          io.stderr.write(`uploading ${file.name} (${formatBytes(file.size)})\n`);
      },
      result: (index, result) => {
        if (result.skipped) progress.skipped();
        results[index] = options.json ? JSON.stringify(result) : describe(result);
        flush();
      },
      end: (file) => progress.end(file.name),
      // A file written to while it was sent: named, left out of the snapshot, the others go on.
      failed: (index, file, error) => {
        failed.push(file.name);
        results[index] = options.json
          ? JSON.stringify({ event: 'failed', name: file.name, reason: error.change.reason, message: error.message })
          : `${file.name}  failed: ${error.message}`;
        progress.note(`dreamlake: ${error.message}`);
        flush();
      },
    });
    flushNow();
    progress.stop();
    // The snapshot made (none against a server without snapshots): the run's result, on stdout.
    if (answer) io.stdout.write(`${options.json ? commitJson(answer) : commitText(target, answer)}\n`);
    // The run's summary: beside the display on a terminal, on stderr otherwise (stdout stays one line per file).
    const summary = `${progress.summary()}${ignored > 0 ? `; ${ignored} ignored by the filters` : ''}`;
    if (progress.live) io.stdout.write(`${summary}\n`);
    else io.stderr.write(`${summary}\n`);
  } finally {
    // After a failure, the files that did finish are still reported.
    flushNow();
    const rest = results.slice(printed).filter((line) => line !== undefined);
    if (rest.length > 0) progress.log(rest.join('\n'));
    progress.stop();
  }
  if (failed.length > 0) {
    const shown = failed.slice(0, 10).map((name) => `"${shownName(name)}"`);
    const more = failed.length > 10 ? ` and ${failed.length - 10} more` : '';
    throw new CliError(
      `${failed.length} file${failed.length === 1 ? '' : 's'} changed while being uploaded and ${failed.length === 1 ? 'was' : 'were'} left out of the snapshot: ${shown.join(', ')}${more}; upload again once they are no longer being written`,
    );
  }
}

/** `upload --dry-run`: each file's fate (hashed, one lookup per 10,000 files), nothing sent or committed. */
async function dryRun(
  io: Io,
  settings: Settings,
  files: LocalFile[],
  target: { namespace: string; space: string },
  ignored: number,
  json: boolean,
): Promise<void> {
  const agent = createAgent(2);
  const cache = new HashCache(settings.home);
  try {
    const entries = await planUpload(new ServerApi(settings.server, agent, settings.token), cache, files, target);
    const lines = entries.map((e) =>
      json
        ? JSON.stringify(e)
        : e.action === 'skip'
          ? `skip    ${shownName(e.name)}  (unchanged)`
          : `upload  ${shownName(e.name)}  (${e.reason === 'stored' ? 'bytes already stored, nothing to send' : 'new'}, ${formatBytes(e.size)})`,
    );
    const upload = entries.filter((e) => e.action === 'upload');
    const bytes = upload.filter((e) => e.reason === 'new').reduce((sum, e) => sum + e.size, 0);
    const skip = entries.length - upload.length;
    lines.push(
      json
        ? JSON.stringify({
            event: 'plan',
            dryRun: true,
            upload: upload.length,
            uploadBytes: bytes,
            unchanged: skip,
            ignored,
          })
        : `dry run: would upload ${upload.length} file${upload.length === 1 ? '' : 's'} (${formatBytes(bytes)} to send), ${skip} unchanged, ${ignored} ignored; nothing was sent or committed`,
    );
    io.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await cache.flush().catch(() => undefined);
    await agent.close().catch(() => undefined);
  }
}
