import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { parseRate } from '../bwlimit.ts';
import { loadSettings, type SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { DownloadClient, fileItem, folderItems } from '../download/client.ts';
import type { DownloadEvents, DownloadItem, FileOutcome } from '../download/run.ts';
import { DownloadProgress } from '../download-progress.ts';
import { CliError } from '../errors.ts';
import { formatBytes, formatDuration } from '../progress.ts';
import { isShareLink } from '../share-link.ts';
import { parseSpacePath } from '../target.ts';
import { retryTold } from './retry-told.ts';
import { transferProgress } from './transfer-progress.ts';

export interface DownloadOptions extends SettingFlags {
  output?: string;
  json?: boolean;
  force?: boolean;
  /** `--bwlimit RATE`: the whole run's speed, shared by every file and range. */
  bwlimit?: string;
}

/**
 * Where a single file goes: `-o FILE` as the caller wrote it; otherwise the folder its base name
 * goes in (`-o FOLDER`, or the working folder), the name then checked as a folder's files are.
 */
async function fileDestination(
  cwd: string,
  output: string | undefined,
): Promise<{ folder: string } | { file: string }> {
  if (output === undefined) return { folder: cwd };
  const path = resolve(cwd, output);
  const info = await stat(path).catch(() => null);
  return info?.isDirectory() ? { folder: path } : { file: path };
}

function jsonLine(where: { namespace: string; space: string }, outcome: FileOutcome): string {
  const { status, ...rest } = outcome;
  const resumedBytes = status === 'downloaded' ? outcome.resumedBytes : 0;
  return JSON.stringify({ ...where, ...rest, skipped: status === 'skipped', resumedBytes });
}

function describe(outcome: FileOutcome): string {
  if (outcome.status === 'skipped')
    return `${outcome.path}  ${formatBytes(outcome.size)}  sha256 ${outcome.hash} already there, skipped`;
  const resumed =
    outcome.status === 'downloaded' && outcome.resumedBytes > 0
      ? `, resumed after ${formatBytes(outcome.resumedBytes)}`
      : '';
  return `${outcome.path}  ${formatBytes(outcome.size)}  sha256 ${outcome.hash} verified${resumed}`;
}

/**
 * `dreamlake download NAMESPACE/SPACE[/PATH]`: one file (as before), or a whole space or folder
 * into `-o DIR` with the relative paths recreated. Prints a line (or a JSON object) per file;
 * any file that fails makes the run exit 1 after the others are done.
 */
export async function download(io: Io, refText: string, options: DownloadOptions): Promise<void> {
  if (isShareLink(refText)) return (await import('./download-link.ts')).downloadLink(io, refText, options);
  const ref = parseSpacePath(refText);
  const where = {
    namespace: ref.namespace,
    space: ref.space,
    ...(ref.version !== undefined ? { version: ref.version } : {}),
  };
  const cwd = (io.cwd ?? process.cwd)();
  const settings = await loadSettings(io.env, options);
  const client = new DownloadClient({
    bwlimit: options.bwlimit === undefined ? undefined : parseRate(options.bwlimit),
    server: settings.server,
    token: settings.token,
    home: settings.home,
    retry: retryTold((line) => io.stderr.write(`${line}\n`)),
  });
  try {
    const remote = await client.resolve(ref.namespace, ref.space, ref.path, ref.version);
    if (remote.kind === 'file') {
      const { grant } = remote;
      const destination = await fileDestination(cwd, options.output);
      const item = fileItem(grant, 'file' in destination ? destination.file : undefined);
      const folder = 'folder' in destination ? destination.folder : cwd;
      const outcome = await oneFile(io, client, where, item, folder, options);
      if (outcome.status === 'failed') throw new CliError(outcome.error);
      io.stdout.write(`${options.json ? jsonLine(where, outcome) : describe(outcome)}\n`);
      return;
    }
    const { prefix } = remote;
    const folderName = prefix === '' ? ref.space : (prefix.slice(0, -1).split('/').pop() as string);
    const root = resolve(cwd, options.output ?? folderName);
    const items = folderItems(remote);
    await manyFiles(io, client, where, items, root, options);
  } finally {
    await client.close();
  }
}

async function oneFile(
  io: Io,
  client: DownloadClient,
  where: { namespace: string; space: string },
  item: DownloadItem,
  folder: string,
  options: DownloadOptions,
): Promise<FileOutcome> {
  const progress =
    io.stdout.isTTY && !options.json
      ? new DownloadProgress({ out: io.stdout, name: basename(item.target ?? item.relative), total: item.size })
      : undefined;
  const events: DownloadEvents = {
    begin: () => progress?.start(),
    bytes: (_name, bytes) => progress?.received(bytes),
    resumed: (_name, bytes) => progress?.received(bytes),
  };
  try {
    const [outcome] = await client.fetch(where, [item], { root: folder, force: Boolean(options.force) }, events);
    return outcome as FileOutcome;
  } finally {
    progress?.stop();
  }
}

export async function manyFiles(
  io: Io,
  client: Pick<DownloadClient, 'fetch'>,
  where: { namespace: string; space: string },
  items: DownloadItem[],
  root: string,
  options: DownloadOptions,
): Promise<void> {
  const progress = transferProgress(io, options.json);
  const counts = { downloaded: 0, skipped: 0, failed: 0, bytes: 0 };
  const startedAt = Date.now();
  progress.start(
    items.length,
    items.reduce((sum, f) => sum + f.size, 0),
  );
  const events: DownloadEvents = {
    begin: (name, size) => {
      progress.begin(name, size);
      progress.phase(name, 'uploading');
    },
    bytes: (name, bytes) => {
      counts.bytes += bytes;
      progress.sent(name, bytes);
    },
    resumed: (name, bytes) => progress.resumed(name, bytes),
    end: (outcome) => {
      counts[outcome.status] += 1;
      if (outcome.status === 'skipped') progress.begin(outcome.name, outcome.size);
      progress.end(outcome.name);
      if (options.json) progress.log(jsonLine(where, outcome));
      else if (outcome.status === 'failed') progress.note(`dreamlake: ${outcome.error}`);
      else progress.log(describe(outcome));
    },
  };
  try {
    await client.fetch(where, items, { root, force: Boolean(options.force) }, events);
  } finally {
    progress.stop();
  }
  const seconds = (Date.now() - startedAt) / 1000;
  const took = seconds < 10 ? `${seconds.toFixed(1)}s` : formatDuration(seconds);
  const summary =
    `done: ${counts.downloaded} downloaded, ${counts.skipped} already there, ${counts.failed} failed, into ${root}; ` +
    `${formatBytes(counts.bytes)} received in ${took}, ${formatBytes(seconds > 0 ? counts.bytes / seconds : 0)}/s average`;
  if (progress.live) io.stdout.write(`${summary}\n`);
  else io.stderr.write(`${summary}\n`);
  if (counts.failed > 0) throw new CliError(`${counts.failed} of ${items.length} files failed (see above)`);
}
