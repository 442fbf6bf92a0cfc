/**
 * End-to-end harness: starts the real server and BSS as child processes (on free ports, with an
 * explicitly built environment and temporary data folders) and runs the real `dreamlake` bin.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { presignUrl } from '@dreamlake/presign';
import { readEnvFile } from '../../support/env-file.ts';
import { type Child, freePort, ROOT, startService, stopChild } from '../../support/process.ts';
import { waitFor } from '../../support/wait.ts';

export { freePort, ROOT } from '../../support/process.ts';
export { GaveUp, waitFor } from '../../support/wait.ts';
export const CLI_BIN = join(ROOT, 'packages/cli/bin/dreamlake.js');
const SERVER_MAIN = join(ROOT, 'packages/server/src/main.ts');
const BSS_MAIN = join(ROOT, 'packages/bss/src/main.ts');
export const MIB = 1024 * 1024;

export interface Backend {
  name: 'fs' | 's3';
  env: Record<string, string>;
}

/** The fs backend always; S3 too when DREAMLAKE_TEST_S3_ENV names a file of `export K=V` lines. */
export function backends(): Backend[] {
  const list: Backend[] = [{ name: 'fs', env: { STORAGE: 'fs' } }];
  const file = process.env.DREAMLAKE_TEST_S3_ENV;
  if (file) list.push({ name: 's3', env: { ...readEnvFile(file), STORAGE: 's3' } });
  return list;
}

export const S3_SKIP = process.env.DREAMLAKE_TEST_S3_ENV
  ? false
  : 'S3 backend not tested: DREAMLAKE_TEST_S3_ENV is not set';

/** Without an S3 backend, a suite run per backend reports its S3 case as skipped instead of dropping it silently. */
export function reportS3Skipped(title: string): void {
  if (S3_SKIP) test(`${title} (s3 backend)`, { skip: S3_SKIP }, () => {});
}

export interface ServiceOptions {
  backend: Backend;
  presignTtlSeconds?: number;
  /** BSS's REQUIRE_PRESIGNED_UPLOADS (default true). */
  requirePresignedUploads?: boolean;
  /**
   * BSS's CLOCK_SKEW_SECONDS (default 0 here: both services share this machine's clock, and tests
   * that wait for URLs to expire wait exactly their lifetime).
   */
  clockSkewSeconds?: number;
  /** Start BSS alone (for tests that stand in for the server themselves). */
  bssOnly?: boolean;
  /** The server's DATABASE_URL (a PostgreSQL database, say); default a SQLite file in its data folder. */
  databaseUrl?: string;
}

/** A running server and BSS pair. */
export class Services {
  readonly dir: string;
  readonly serverUrl: string;
  readonly bssUrl: string;
  readonly #secret: string;
  readonly #ttlSeconds: number;
  readonly #serverEnv: Record<string, string>;
  readonly #bssEnv: Record<string, string>;
  #server: Child | undefined;
  #bss: Child | undefined;

  private constructor(dir: string, serverPort: number, bssPort: number, options: ServiceOptions) {
    this.dir = dir;
    this.serverUrl = `http://127.0.0.1:${serverPort}`;
    this.bssUrl = `http://127.0.0.1:${bssPort}`;
    const secret = createHash('sha256').update(dir).digest('hex');
    this.#secret = secret;
    this.#ttlSeconds = options.presignTtlSeconds ?? 3600;
    const common = {
      HOST: '127.0.0.1',
      PRESIGN_SECRETS: secret,
      BSS_PUBLIC_URL: this.bssUrl,
      PRESIGN_TTL_SECONDS: String(options.presignTtlSeconds ?? 3600),
      LOG_LEVEL: 'warn',
    };
    this.#serverEnv = {
      ...common,
      DREAMLAKE_DATA_DIR: join(dir, 'server'),
      SERVER_PORT: String(serverPort),
      JWT_SECRET: createHash('sha256').update(`${dir}/jwt`).digest('hex'),
      SNAPSHOT_SIGNING_KEYS: createHash('sha256').update(`${dir}/snapshots`).digest('base64url'),
      ALLOW_SIGNUP: 'true',
      SCRYPT_LOG_N: '12',
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    };
    this.#bssEnv = {
      ...common,
      ...options.backend.env,
      DREAMLAKE_DATA_DIR: join(dir, 'bss'),
      BSS_PORT: String(bssPort),
      REQUIRE_PRESIGNED_UPLOADS: String(options.requirePresignedUploads ?? true),
      CLOCK_SKEW_SECONDS: String(options.clockSkewSeconds ?? 0),
    };
  }

  static async start(options: ServiceOptions): Promise<Services> {
    for (let attempt = 1; ; attempt += 1) {
      const dir = await mkdtemp(join(tmpdir(), 'dreamlake-e2e-'));
      const services = new Services(dir, await freePort(), await freePort(), options);
      try {
        await Promise.all([services.startBss(), options.bssOnly ? undefined : services.#startServer()]);
        return services;
      } catch (error) {
        await services.close();
        // Another test's process took a port between freePort() and the listen: try other ports.
        if (attempt < 4 && /EADDRINUSE/.test((error as Error).message)) continue;
        throw error;
      }
    }
  }

  async #startServer(): Promise<void> {
    this.#server = await this.#start(SERVER_MAIN, this.#serverEnv, this.serverUrl, 'server');
  }

  async startBss(): Promise<void> {
    this.#bss = await this.#start(BSS_MAIN, this.#bssEnv, this.bssUrl, 'BSS');
  }

  #start(script: string, env: Record<string, string>, url: string, what: string): Promise<Child> {
    // PWD: a relative DREAMLAKE_DATA_DIR would resolve inside the test's folder.
    return startService(script, { env: { ...env, PWD: this.dir }, url, what });
  }

  /** A BSS URL signed as the server would sign it (for tests that act as another party on BSS). */
  signedBssUrl(path: string, action: string, params: Record<string, string>, ttlSeconds = this.#ttlSeconds): string {
    return presignUrl(this.bssUrl, path, {
      secrets: [this.#secret],
      action,
      params,
      ttlSeconds,
      now: Date.now() / 1000,
    }).url;
  }

  /** Where BSS keeps an upload's files (the disk backend). */
  bssUploadDir(key: string): string {
    return join(this.dir, 'bss', 'bss', key);
  }

  /**
   * Resolves once BSS refuses as expired a URL signed at this call with the services' lifetime:
   * by then every URL the server granted before the call has run out too.
   */
  async urlsSignedNowExpired(): Promise<void> {
    const url = this.signedBssUrl('/blobs/download', 'download', {
      owner: 'probe',
      project: 'probe',
      hash: '0'.repeat(64),
    });
    await waitFor(
      'URLs signed earlier to expire',
      async () => {
        const res = await fetch(url);
        const body = (await res.json()) as { error?: { code?: string } };
        return body.error?.code === 'expired_signature';
      },
      (this.#ttlSeconds + 30) * 1000,
      100,
    );
  }

  /** Kills BSS at once (no clean shutdown), as a crash would. */
  async killBss(): Promise<void> {
    await stopChild(this.#bss, 'SIGKILL');
  }

  logs(): string {
    return `--- server ---\n${this.#server?.output.join('') ?? ''}\n--- BSS ---\n${this.#bss?.output.join('') ?? ''}`;
  }

  async close(): Promise<void> {
    await Promise.all([stopChild(this.#server), stopChild(this.#bss)]);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A user's shell: their own DREAMLAKE_HOME, nothing else inherited. */
export function cliEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { DREAMLAKE_HOME: home, HOME: home, NO_COLOR: '1', ...extra };
}

/** Runs the real bin; `cwd` is where relative paths (and a download without -o) land. */
export function spawnCli(
  args: readonly string[],
  env: Record<string, string>,
  stdin?: string,
  cwd = ROOT,
): ChildProcess & { result: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(stdin ?? '');
  const result = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    stdout,
    stderr,
  }));
  return Object.assign(child, { result });
}

export function runCli(
  args: readonly string[],
  env: Record<string, string>,
  stdin?: string,
  cwd?: string,
): Promise<CliResult> {
  return spawnCli(args, env, stdin, cwd).result;
}

/** One line of `dreamlake upload --json` (the CLI's own type of it). */
export type { FileResult as UploadLine } from '@dreamlake/cli';

/** A new user signed up through the CLI in its own home: their shell's environment and name. */
export async function signedUpUser(
  serverUrl: string,
  home: string,
  prefix = 'u',
): Promise<{ env: Record<string, string>; user: string; home: string }> {
  const env = cliEnv(home);
  const user = uniqueName(prefix);
  const r = await runCli(
    ['signup', '--server', serverUrl, '--username', user, '--password-stdin'],
    env,
    'a long enough password\n',
  );
  if (r.code !== 0) throw new Error(`signup failed: ${r.stderr}`);
  return { env, user, home };
}

/** A new user signed up through the server's API (no CLI home): their JWT. */
export async function signupToken(serverUrl: string, username: string): Promise<string> {
  const res = await fetch(`${serverUrl}/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'a long enough password' }),
  });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** JSON lines of `--json` output. */
export function jsonLines<T = Record<string, unknown>>(stdout: string): T[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** Writes `size` bytes of a cheap deterministic pattern (streamed, so memory stays flat). */
export async function makeFile(path: string, size: number, seed: number): Promise<void> {
  const block = Buffer.alloc(MIB);
  const out = createWriteStream(path);
  for (let offset = 0, n = 0; offset < size; offset += MIB, n += 1) {
    for (let i = 0; i < block.length; i += 4) block.writeUInt32LE(((seed * 2654435761) ^ (n * 40503) ^ i) >>> 0, i);
    const chunk = block.subarray(0, Math.min(MIB, size - offset));
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The resume state files under the home (an upload in the middle of its parts). */
export async function resumeStates(
  home: string,
): Promise<Array<{ uploadId: string; key: string; hash: string; done: Record<string, string> }>> {
  const dir = join(home, 'uploads');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8'))));
}

/** The largest number of parts done recorded in any resume state file under the home. */
export async function partsDoneInState(home: string): Promise<number> {
  const dir = join(home, 'uploads');
  let best = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.json')) continue;
    const state = JSON.parse(await readFile(join(dir, name), 'utf8').catch(() => '{}')) as {
      done?: Record<string, string>;
    };
    best = Math.max(best, Object.keys(state.done ?? {}).length);
  }
  return best;
}

export function uniqueName(prefix: string): string {
  return `${prefix}${Math.random().toString(36).slice(2, 8)}`;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
