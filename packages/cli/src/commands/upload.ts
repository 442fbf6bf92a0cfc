import { ServerApi } from '../api.ts';
import { loadSettings, type SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { CliError, describeError, UsageError } from '../errors.ts';
import { createAgent } from '../http.ts';
import { formatBytes, Progress } from '../progress.ts';
import { parseSpace } from '../target.ts';
import { isAssetType, ASSET_TYPES } from '../types.ts';
import { collectFiles } from '../upload/files.ts';
import { HashCache } from '../upload/hash.ts';
import { runPool, Semaphore } from '../upload/pool.ts';
import { DEFAULT_RETRY } from '../upload/retry.ts';
import { uploadFile, type FileResult } from '../upload/uploader.ts';

export interface UploadOptions extends SettingFlags {
  to?: string;
  type?: string;
  json?: boolean;
  concurrency?: string;
}

export const DEFAULT_CONCURRENCY = 4;
/** Files in progress at once: small files then overlap their round trips. */
const FILES_AT_ONCE = 3;
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
  const resumed = result.partsSent < result.partsTotal ? `, resumed: ${result.partsSent} of ${result.partsTotal} parts sent` : '';
  const legacy = result.legacy ? ' through the legacy BSS flow (not in the index)' : '';
  return `${where}  ${formatBytes(result.size)} ${result.type}  sha256 ${result.hash}${resumed}${legacy}`;
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
  if (!settings.token) throw new CliError(`not logged in to ${settings.server}: run \`dreamlake login\` (or set DREAMLAKE_TOKEN)`);
  const files = await collectFiles(paths);
  const progress = new Progress({
    out: io.stdout,
    err: io.stderr,
    live: Boolean(io.stdout.isTTY) && !options.json,
    plainEveryMs: options.json ? undefined : PLAIN_PROGRESS_EVERY_MS,
    color: !io.env.NO_COLOR && Boolean(io.stdout.isTTY),
  });
  const agent = createAgent(concurrency + FILES_AT_ONCE + 1);
  const api = new ServerApi(settings.server, agent, settings.token);
  const deps = {
    api,
    dispatcher: agent,
    home: settings.home,
    bss: settings.bss,
    concurrency,
    partSlots: new Semaphore(concurrency),
    hashCache: new HashCache(settings.home),
    retry: {
      ...DEFAULT_RETRY,
      onRetry: (error: unknown, attempt: number, delay: number) =>
        progress.note(`retrying in ${(delay / 1000).toFixed(1)}s (attempt ${attempt + 1} of ${DEFAULT_RETRY.attempts}): ${(error as Error).message}`),
    },
    events: progress,
  };
  progress.start(files.length, files.reduce((sum, f) => sum + f.size, 0));
  // A few files at once (their parts share one bound), results printed in the files' order.
  const results: Array<string | undefined> = [];
  let printed = 0;
  const flush = (): void => {
    while (printed < results.length && results[printed] !== undefined) progress.log(results[printed++] as string);
  };
  try {
    await runPool(files.map((file, index) => ({ file, index })), FILES_AT_ONCE, async ({ file, index }) => {
      progress.begin(file.name, file.size);
      if (!progress.live && !options.json) io.stderr.write(`uploading ${file.name} (${formatBytes(file.size)})\n`);
      try {
        const result = await uploadFile(deps, file, target, typeOverride);
        if (result.skipped) progress.skipped();
        results[index] = options.json ? JSON.stringify(result) : describe(result);
      } catch (error) {
        throw new CliError(`${file.name}: ${describeError(error)}`);
      } finally {
        progress.end(file.name);
      }
      flush();
    });
    progress.stop();
    // The run's summary: beside the display on a terminal, on stderr otherwise (stdout stays one line per file).
    if (progress.live) io.stdout.write(`${progress.summary()}\n`);
    else io.stderr.write(`${progress.summary()}\n`);
  } finally {
    // After a failure, the files that did finish are still reported.
    for (; printed < results.length; printed += 1) if (results[printed] !== undefined) progress.log(results[printed] as string);
    progress.stop();
    await agent.close();
  }
}
