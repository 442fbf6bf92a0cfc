/**
 * The benchmark's own service starter: the real DreamLake server and BSS as child processes
 * (`node --import tsx`, as `npm run server` / `npm run bss` run them), disk backend and SQLite in a
 * temporary data folder, on free loopback ports. Also the small helpers the benchmark modules
 * share: free ports, temporary folders, child processes, peak RSS, a user's token.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Child,
  freePort,
  ROOT,
  startProcess,
  stopChild,
  waitHealthy as waitUntilHealthy,
} from '../support/process.ts';

// The process helpers live in support/ (shared with the tests); re-exported for the bench modules.
export { type Child, freePort, ROOT, stopChild } from '../support/process.ts';
export { sleep } from '../support/wait.ts';
export const CLI_BIN = join(ROOT, 'packages/cli/bin/dreamlake.js');
const SERVER_MAIN = join(ROOT, 'packages/server/src/main.ts');
const BSS_MAIN = join(ROOT, 'packages/bss/src/main.ts');

/** Temporary folders and child processes of this run, for an interrupted run to clean up. */
const temps = new Set<string>();
const children = new Set<ChildProcess>();

/** A new temporary folder; removeTemp() removes it (and an interrupted run does too). */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.add(dir);
  return dir;
}

export async function removeTemp(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  temps.delete(dir);
}

/** Registers the child processes for cleanup too. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** On SIGINT or SIGTERM: kills the children this run started, removes its temporary folders, exits. */
export function cleanUpOnSignal(): void {
  const stop = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping the services and removing temporary files\n`);
    for (const child of children) child.kill('SIGKILL');
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Runs a TypeScript file of this repository with tsx in its own process (its last output kept). */
export function spawnTs(script: string, env: Record<string, string>, args: readonly string[] = []): Child {
  const proc = startProcess(script, { env, args, keep: 200 });
  track(proc.child);
  return proc;
}

/** Waits until `url` answers 2xx, or throws with the child's output when it exits or takes too long. */
export function waitHealthy(proc: Child, url: string, what: string, timeoutMs = 60_000): Promise<void> {
  return waitUntilHealthy(proc, url, what, timeoutMs);
}

/** Peak resident set of a process, from the kernel's high-water mark (VmHWM), sampled until stopped. */
export function watchPeakRss(pid: number, everyMs = 50): () => number {
  let peakKb = 0;
  const sample = async () => {
    const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(text)?.[1] ?? 0));
  };
  const timer = setInterval(() => void sample(), everyMs);
  void sample();
  return () => {
    clearInterval(timer);
    return Math.round((peakKb / 1024) * 10) / 10;
  };
}

export interface BenchServiceOptions {
  /**
   * The address clients are given for BSS (signed URLs of the server and of BSS), from BSS's port;
   * BSS itself by default. A counting proxy in front of BSS sets it to its own address.
   */
  bssPublicUrl?: (bssPort: number) => string;
  /** Ports chosen by the caller (for a proxy started before the services). */
  serverPort?: number;
  bssPort?: number;
  /** More settings for BSS (its S3 backend's, for instance: they replace the disk backend's). */
  bssEnv?: Record<string, string>;
  /** More settings for the server (`DATABASE_URL`, for instance). */
  serverEnv?: Record<string, string>;
}

/** A running server and BSS (disk backend unless told, SQLite), in a temporary folder removed by close(). */
export class BenchServices {
  readonly serverUrl: string;
  readonly bssUrl: string;
  /** The secret both services sign and check URLs and receipts with. */
  readonly presignSecret = randomBytes(32).toString('hex');
  readonly #dir: string;
  #server: Child | undefined;
  #bss: Child | undefined;

  private constructor(dir: string, serverPort: number, bssPort: number) {
    this.#dir = dir;
    this.serverUrl = `http://127.0.0.1:${serverPort}`;
    this.bssUrl = `http://127.0.0.1:${bssPort}`;
  }

  static async start(options: BenchServiceOptions = {}): Promise<BenchServices> {
    const dir = await tempDir('dreamlake-bench-services-');
    const serverPort = options.serverPort ?? (await freePort());
    const bssPort = options.bssPort ?? (await freePort());
    const services = new BenchServices(dir, serverPort, bssPort);
    const publicUrl = options.bssPublicUrl?.(bssPort) ?? services.bssUrl;
    const common = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOST: '127.0.0.1',
      PRESIGN_SECRETS: services.presignSecret,
      BSS_PUBLIC_URL: publicUrl,
      PRESIGN_TTL_SECONDS: '3600',
      LOG_LEVEL: 'warn',
    };
    try {
      services.#bss = spawnTs(BSS_MAIN, {
        ...common,
        STORAGE: 'fs',
        DREAMLAKE_DATA_DIR: join(dir, 'bss'),
        BSS_PORT: String(bssPort),
        ...options.bssEnv,
      });
      services.#server = spawnTs(SERVER_MAIN, {
        ...common,
        // The server's own calls to BSS (stat) go straight to it, not through a client-side proxy.
        BSS_INTERNAL_URL: services.bssUrl,
        DREAMLAKE_DATA_DIR: join(dir, 'server'),
        SERVER_PORT: String(serverPort),
        JWT_SECRET: randomBytes(32).toString('hex'),
        SNAPSHOT_SIGNING_KEYS: randomBytes(32).toString('base64url'),
        ALLOW_SIGNUP: 'true',
        SCRYPT_LOG_N: '12',
        ...options.serverEnv,
      });
      await Promise.all([
        waitHealthy(services.#bss, `${services.bssUrl}/healthz`, 'BSS'),
        waitHealthy(services.#server, `${services.serverUrl}/healthz`, 'server'),
      ]);
    } catch (error) {
      await services.close();
      throw error;
    }
    return services;
  }

  get serverPid(): number {
    return this.#server?.child.pid ?? 0;
  }

  get bssPid(): number {
    return this.#bss?.child.pid ?? 0;
  }

  /** Signs up a new user (sign-up is open) and returns the JWT the server issued. */
  async signup(prefix = 'bench'): Promise<{ username: string; token: string }> {
    const username = `${prefix}${randomBytes(4).toString('hex')}`;
    const res = await fetch(`${this.serverUrl}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: 'benchmark password' }),
    });
    const body = (await res.json()) as { token?: string };
    if (res.status !== 201 || typeof body.token !== 'string')
      throw new Error(`sign-up failed: ${res.status} ${JSON.stringify(body)}`);
    return { username, token: body.token };
  }

  /** How many files the space's index lists (a check that an upload did what it said). */
  /** The files the space's index holds: every page of its listing, followed to the last. */
  async indexedFiles(token: string, namespace: string, space: string): Promise<number> {
    let count = 0;
    let cursor: string | undefined;
    do {
      const query = new URLSearchParams({ limit: '10000', ...(cursor ? { cursor } : {}) });
      const res = await fetch(`${this.serverUrl}/namespaces/${namespace}/spaces/${space}/files?${query}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.json()) as { files?: unknown[]; next?: string };
      if (!res.ok)
        throw new Error(`listing ${namespace}/${space}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
      count += body.files?.length ?? 0;
      cursor = body.next;
    } while (cursor);
    return count;
  }

  logs(): string {
    return `--- server ---\n${this.#server?.output.join('') ?? ''}\n--- BSS ---\n${this.#bss?.output.join('') ?? ''}`;
  }

  async close(): Promise<void> {
    await Promise.all([stopChild(this.#server), stopChild(this.#bss)]);
    await removeTemp(this.#dir);
  }
}
