import { ServerApi } from '../api.ts';
import { loadSettings, type SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { CliError, describeError, UsageError } from '../errors.ts';
import { createAgent } from '../http.ts';
import { formatBytes, Progress } from '../progress.ts';
import { parseSpace } from '../target.ts';
import { isAssetType, ASSET_TYPES } from '../types.ts';
import { collectFiles } from '../upload/files.ts';
import { DEFAULT_RETRY } from '../upload/retry.ts';
import { uploadFile, type FileResult } from '../upload/uploader.ts';

export interface UploadOptions extends SettingFlags {
  to?: string;
  type?: string;
  json?: boolean;
  concurrency?: string;
}

export const DEFAULT_CONCURRENCY = 4;

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

/** Uploads files and folders into a space, one file after the other; stops at the first failure. */
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
    color: !io.env.NO_COLOR && Boolean(io.stdout.isTTY),
  });
  const agent = createAgent(concurrency + 2);
  const api = new ServerApi(settings.server, agent, settings.token);
  const deps = {
    api,
    dispatcher: agent,
    home: settings.home,
    bss: settings.bss,
    concurrency,
    retry: {
      ...DEFAULT_RETRY,
      onRetry: (error: unknown, attempt: number, delay: number) =>
        progress.note(`retrying in ${(delay / 1000).toFixed(1)}s (attempt ${attempt + 1} of ${DEFAULT_RETRY.attempts}): ${(error as Error).message}`),
    },
    events: progress,
  };
  progress.start(files.length, files.reduce((sum, f) => sum + f.size, 0));
  try {
    for (const file of files) {
      progress.begin(file.name, file.size);
      if (!progress.live && !options.json) io.stderr.write(`uploading ${file.name} (${formatBytes(file.size)})\n`);
      try {
        const result = await uploadFile(deps, file, target, typeOverride);
        progress.end(file.name);
        progress.log(options.json ? JSON.stringify(result) : describe(result));
      } catch (error) {
        progress.end(file.name);
        throw new CliError(`${file.name}: ${describeError(error)}`);
      }
    }
  } finally {
    progress.stop();
    await agent.close();
  }
}
