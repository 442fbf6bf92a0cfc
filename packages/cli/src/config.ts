import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError } from './errors.ts';

export const DEFAULT_SERVER = 'http://127.0.0.1:10233';

export type Env = Readonly<Record<string, string | undefined>>;

/** What `login` saves in `config.json`. */
export interface SavedConfig {
  server?: string;
  token?: string;
  username?: string;
  bss?: string;
}

/** The settings a command runs with, after flags, environment and the saved file. */
export interface Settings {
  readonly home: string;
  readonly server: string;
  readonly token: string | undefined;
  readonly bss: string | undefined;
  readonly saved: SavedConfig;
}

/** `$DREAMLAKE_HOME`, else `~/.dreamlake`. */
export function homeDir(env: Env): string {
  return env.DREAMLAKE_HOME && env.DREAMLAKE_HOME !== '' ? env.DREAMLAKE_HOME : join(homedir(), '.dreamlake');
}

export function configPath(home: string): string {
  return join(home, 'config.json');
}

/**
 * Writes a file only its owner can read (0600), atomically, creating its folder (0700). The data
 * may come in pieces, written as they come (a large cache is never one string in memory).
 */
export async function writePrivateFile(path: string, data: string | Iterable<string>): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    if (typeof data === 'string') await writeFile(tmp, data, { mode: 0o600 });
    else await pipeline(Readable.from(data), createWriteStream(tmp, { mode: 0o600 }));
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Reads a JSON file; null when it does not exist or is not valid JSON. */
export async function readJsonFile<T>(path: string): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

export async function readSavedConfig(home: string): Promise<SavedConfig> {
  const saved = await readJsonFile<SavedConfig>(configPath(home));
  return saved && typeof saved === 'object' ? saved : {};
}

export async function writeSavedConfig(home: string, config: SavedConfig): Promise<void> {
  await writePrivateFile(configPath(home), `${JSON.stringify(config, null, 2)}\n`);
}

/** A service URL without a trailing slash; a usage error when it is not http(s). */
export function normalizeUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${what} must be a URL like http://127.0.0.1:10233, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${what} must be an http(s) URL`);
  return url.toString().replace(/\/+$/, '');
}

export interface SettingFlags {
  server?: string;
  bss?: string;
}

/** Flags win, then DREAMLAKE_SERVER / DREAMLAKE_TOKEN / DREAMLAKE_BSS, then the saved file. */
export async function loadSettings(env: Env, flags: SettingFlags = {}): Promise<Settings> {
  const home = homeDir(env);
  const saved = await readSavedConfig(home);
  const server = normalizeUrl(
    flags.server ?? nonEmpty(env.DREAMLAKE_SERVER) ?? saved.server ?? DEFAULT_SERVER,
    'server',
  );
  const bssText = flags.bss ?? nonEmpty(env.DREAMLAKE_BSS) ?? saved.bss;
  const token =
    nonEmpty(env.DREAMLAKE_TOKEN) ?? (saved.server === undefined || saved.server === server ? saved.token : undefined);
  return Object.freeze({
    home,
    server,
    token,
    bss: bssText === undefined ? undefined : normalizeUrl(bssText, 'BSS URL'),
    saved,
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
