import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ServerApi } from '../api.ts';
import { loadSettings, type SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { DownloadProgress } from '../download-progress.ts';
import { CliError } from '../errors.ts';
import { createAgent, getStream } from '../http.ts';
import { formatBytes } from '../progress.ts';
import { parseFileRef } from '../target.ts';

export interface DownloadOptions extends SettingFlags {
  output?: string;
  json?: boolean;
  force?: boolean;
}

/** `-o PATH` (a folder takes the file's base name), or the file's base name in the working folder. */
async function destination(cwd: string, output: string | undefined, name: string): Promise<string> {
  if (output === undefined) return resolve(cwd, basename(name));
  const path = resolve(cwd, output);
  const info = await stat(path).catch(() => null);
  return info?.isDirectory() ? join(path, basename(name)) : path;
}

/** An existing target is replaced only when asked to (`--force`). */
async function checkTarget(target: string, force: boolean | undefined): Promise<void> {
  const existing = await lstat(target).catch(() => null);
  if (!existing) return;
  if (existing.isDirectory()) throw new CliError(`${target} is a folder: choose another path with -o`);
  if (!force)
    throw new CliError(`${target} already exists: pass --force to overwrite it, or choose another path with -o`);
}

/**
 * Downloads a file into a temporary file beside the target and checks its SHA-256; only a match
 * is renamed into place, so a mismatch or an interruption leaves nothing behind.
 */
export async function download(io: Io, fileText: string, options: DownloadOptions): Promise<void> {
  const ref = parseFileRef(fileText);
  const target = await destination((io.cwd ?? process.cwd)(), options.output, ref.name);
  await checkTarget(target, options.force);
  const settings = await loadSettings(io.env, options);
  const agent = createAgent(2);
  try {
    const api = new ServerApi(settings.server, agent, settings.token);
    const grant = await api.downloadGrant(ref.namespace, ref.space, ref.name);
    await mkdir(dirname(target), { recursive: true });
    const partial = `${target}.${randomBytes(4).toString('hex')}.partial`;
    const progress =
      io.stdout.isTTY && !options.json
        ? new DownloadProgress({
            out: io.stdout,
            name: basename(target),
            total: typeof grant.size === 'number' ? grant.size : undefined,
          })
        : undefined;
    const sha = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sha.update(chunk);
        size += chunk.length;
        progress?.received(chunk.length);
        callback(null, chunk);
      },
    });
    try {
      const response = await getStream(agent, grant.url);
      progress?.start();
      await pipeline(response.body, tap, createWriteStream(partial, { mode: 0o644, flags: 'wx' }));
    } catch (error) {
      await rm(partial, { force: true });
      throw error instanceof CliError ? error : new CliError(`download interrupted: ${(error as Error).message}`);
    } finally {
      progress?.stop();
    }
    const actual = sha.digest('hex');
    if (actual !== grant.hash || (typeof grant.size === 'number' && size !== grant.size)) {
      await rm(partial, { force: true });
      throw new CliError(
        `SHA-256 mismatch for ${ref.name}: expected ${grant.hash}, received ${actual} (${size} bytes); the partial file was deleted`,
      );
    }
    await rename(partial, target);
    if (options.json) io.stdout.write(`${JSON.stringify({ ...ref, path: target, hash: actual, size })}\n`);
    else io.stdout.write(`${target}  ${formatBytes(size)}  sha256 ${actual} verified\n`);
  } finally {
    await agent.close();
  }
}
