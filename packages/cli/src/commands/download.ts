import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ServerApi } from '../api.ts';
import { loadSettings, type SettingFlags } from '../config.ts';
import type { Io } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { createAgent, getStream } from '../http.ts';
import { formatBytes } from '../progress.ts';
import { parseFileRef } from '../target.ts';

async function destination(output: string, name: string): Promise<string> {
  const path = resolve(output);
  const info = await stat(path).catch(() => null);
  return info?.isDirectory() ? join(path, basename(name)) : path;
}

/** Downloads a file and checks its SHA-256; on a mismatch nothing is left behind. */
export async function download(io: Io, fileText: string, options: SettingFlags & { output?: string; json?: boolean }): Promise<void> {
  if (!options.output) throw new UsageError('-o PATH is required');
  const ref = parseFileRef(fileText);
  const settings = await loadSettings(io.env, options);
  const agent = createAgent(2);
  try {
    const api = new ServerApi(settings.server, agent, settings.token);
    const grant = await api.downloadGrant(ref.namespace, ref.space, ref.name);
    const target = await destination(options.output, ref.name);
    await mkdir(dirname(target), { recursive: true });
    const partial = `${target}.partial`;
    const sha = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sha.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      const response = await getStream(agent, grant.url);
      await pipeline(response.body, tap, createWriteStream(partial, { mode: 0o644 }));
    } catch (error) {
      await rm(partial, { force: true });
      throw error instanceof CliError ? error : new CliError(`download interrupted: ${(error as Error).message}`);
    }
    const actual = sha.digest('hex');
    if (actual !== grant.hash || (typeof grant.size === 'number' && size !== grant.size)) {
      await rm(partial, { force: true });
      throw new CliError(`SHA-256 mismatch for ${ref.name}: expected ${grant.hash}, received ${actual} (${size} bytes); the partial file was deleted`);
    }
    await rename(partial, target);
    if (options.json) io.stdout.write(`${JSON.stringify({ ...ref, path: target, hash: actual, size })}\n`);
    else io.stdout.write(`${target}  ${formatBytes(size)}  sha256 ${actual} verified\n`);
  } finally {
    await agent.close();
  }
}
