import { ServerApi } from '../api.ts';
import { loadSettings, type SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { createAgent } from '../http.ts';
import { formatBytes, Progress } from '../progress.ts';
import { parseSpace } from '../target.ts';
import { ASSET_TYPES, isAssetType } from '../types.ts';
import { Budget } from '../upload/budget.ts';
import { collectFiles } from '../upload/files.ts';
import { HashCache } from '../upload/hash.ts';
import { DEFAULT_RETRY } from '../upload/retry.ts';
import { uploadFiles } from '../upload/run.ts';
import type { FileResult, LocalFile } from '../upload/uploader.ts';

export interface UploadOptions extends SettingFlags {
  to?: string;
  type?: string;
  json?: boolean;
  concurrency?: string;
}

export const DEFAULT_CONCURRENCY = 4;
/** Requests sending bodies at once (small files and parts together), and the bytes they may hold. */
const REQUESTS_IN_FLIGHT = 16;
const BYTES_IN_FLIGHT = 64 * 1024 * 1024;
/** Without a terminal, a line as a file starts, for files at least this large. */
const ANNOUNCE_FROM_BYTES = 16 * 1024 * 1024;
/** Without a terminal, a progress line for a long file at most this often. */
const PLAIN_PROGRESS_EVERY_MS = 10_000;

function concurrencyOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_CONCURRENCY;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError('--concurrency must be an integer from 1 to 64');
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
 * The list's files in order, each let go of as it is taken: a run over 100,000s of files then
 * holds only those under way, not the whole list until its end.
 */
function* taking(files: Array<LocalFile | undefined>): Generator<LocalFile> {
  for (let i = 0; i < files.length; i += 1) {
    const file = files[i] as LocalFile;
    files[i] = undefined;
    yield file;
  }
}

/** Uploads files and folders into a space; stops starting files at the first failure. */
export async function upload(io: Io, paths: string[], options: UploadOptions): Promise<void> {
  if (!options.to) throw new UsageError('--to NAMESPACE/SPACE is required');
  const target = parseSpace(options.to);
  if (options.type !== undefined && !isAssetType(options.type)) {
    throw new UsageError(`--type must be one of ${ASSET_TYPES.join(', ')}`);
  }
  const typeOverride = options.type as (typeof ASSET_TYPES)[number] | undefined;
  const concurrency = concurrencyOf(options.concurrency);
  const settings = await loadSettings(io.env, options);
  if (!settings.token)
    throw new CliError(`not logged in to ${settings.server}: run \`dreamlake login\` (or set DREAMLAKE_TOKEN)`);
  const files = await collectFiles(paths);
  const progress = new Progress({
    out: io.stdout,
    err: io.stderr,
    live: Boolean(io.stdout.isTTY) && !options.json,
    plainEveryMs: options.json ? undefined : PLAIN_PROGRESS_EVERY_MS,
    color: !io.env.NO_COLOR && Boolean(io.stdout.isTTY),
  });
  const budget = new Budget(BYTES_IN_FLIGHT, REQUESTS_IN_FLIGHT);
  // One pool: every request in flight has its connection, plus one for the server's batch calls.
  const agent = createAgent(REQUESTS_IN_FLIGHT + 2);
  const api = new ServerApi(settings.server, agent, settings.token);
  const hashCache = new HashCache(settings.home);
  const deps = {
    api,
    dispatcher: agent,
    home: settings.home,
    bss: settings.bss,
    concurrency,
    budget,
    hashCache,
    retry: {
      ...DEFAULT_RETRY,
      onRetry: (error: unknown, attempt: number, delay: number) =>
        progress.note(
          `retrying in ${(delay / 1000).toFixed(1)}s (attempt ${attempt + 1} of ${DEFAULT_RETRY.attempts}): ${(error as Error).message}`,
        ),
    },
    events: progress,
  };
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
    await uploadFiles(
      deps,
      taking(files),
      target,
      {
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
      },
      typeOverride,
    );
    flushNow();
    progress.stop();
    // The run's summary: beside the display on a terminal, on stderr otherwise (stdout stays one line per file).
    if (progress.live) io.stdout.write(`${progress.summary()}\n`);
    else io.stderr.write(`${progress.summary()}\n`);
  } finally {
    // After a failure, the files that did finish are still reported.
    flushNow();
    const rest = results.slice(printed).filter((line) => line !== undefined);
    if (rest.length > 0) progress.log(rest.join('\n'));
    progress.stop();
    await hashCache.flush().catch(() => undefined);
    await agent.close();
  }
}
