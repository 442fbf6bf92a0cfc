/**
 * The web page against the CLI: one file (256 MiB) uploaded by the page in headless Chromium
 * (hashing in its worker included) and by the `dreamlake` bin, in the same run, to the same
 * server and BSS (disk backend, SQLite, loopback).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { partCount } from '@dreamlake/protocol';
import { choosePartSize } from '@dreamlake/protocol/client';
import { buildPage, launchChromium, waitForStates } from '../support/browser.ts';
import { runCliUpload } from './bench-cli.ts';
import { cpuSecondsOf } from './bench-machine.ts';
import type { BenchRow } from './bench-presign.ts';
import { type Child, freePort, ROOT, removeTemp, spawnTs, stopChild, tempDir, waitHealthy } from './bench-services.ts';

const MiB = 1024 * 1024;

export interface WebBenchOptions {
  sizeMiB: number;
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  for (let written = 0; written < bytes; written += MiB) {
    if (!out.write(randomBytes(Math.min(MiB, bytes - written))))
      await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

/** The server and BSS with BSS's CORS open to the server's origin, as `npm start` sets it. */
export async function startServices(dir: string): Promise<{
  serverUrl: string;
  bssUrl: string;
  stop(): Promise<void>;
  cpuSeconds(): Promise<{ bss: number; server: number }>;
}> {
  const [serverPort, bssPort] = [await freePort(), await freePort()];
  const serverUrl = `http://127.0.0.1:${serverPort}`;
  const bssUrl = `http://127.0.0.1:${bssPort}`;
  const common = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOST: '127.0.0.1',
    PRESIGN_SECRETS: randomBytes(32).toString('hex'),
    BSS_PUBLIC_URL: bssUrl,
    LOG_LEVEL: 'warn',
  };
  const children: Child[] = [
    spawnTs(join(ROOT, 'packages/bss/src/main.ts'), {
      ...common,
      STORAGE: 'fs',
      DREAMLAKE_DATA_DIR: join(dir, 'bss'),
      BSS_PORT: String(bssPort),
      CORS_ORIGINS: serverUrl,
    }),
    spawnTs(join(ROOT, 'packages/server/src/main.ts'), {
      ...common,
      DREAMLAKE_DATA_DIR: join(dir, 'server'),
      SERVER_PORT: String(serverPort),
      JWT_SECRET: randomBytes(32).toString('hex'),
      SNAPSHOT_SIGNING_KEYS: randomBytes(32).toString('base64url'),
      ALLOW_SIGNUP: 'true',
      SCRYPT_LOG_N: '12',
    }),
  ];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => stopChild(c)));
  };
  try {
    await Promise.all([
      waitHealthy(children[0] as Child, `${bssUrl}/healthz`, 'BSS'),
      waitHealthy(children[1] as Child, `${serverUrl}/healthz`, 'server'),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  /** CPU seconds (user + system) each service has used so far. */
  const cpuSeconds = async () => {
    const [bss, server] = await Promise.all(children.map((c) => cpuSecondsOf(c.child.pid ?? 0)));
    return { bss: bss ?? 0, server: server ?? 0 };
  };
  return { serverUrl, bssUrl, stop, cpuSeconds };
}

export async function signup(serverUrl: string, username: string): Promise<string> {
  const res = await fetch(`${serverUrl}/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'bench password 0123456789' }),
  });
  if (!res.ok) throw new Error(`sign-up answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

export async function runWebBench(options: WebBenchOptions): Promise<BenchRow[]> {
  buildPage();
  const dir = await tempDir('dreamlake-bench-web-');
  const services = await startServices(dir);
  const browser = await launchChromium();
  try {
    const bytes = options.sizeMiB * MiB;
    const file = join(dir, 'clip.mp4');
    await writeRandomFile(file, bytes);
    const suffix = randomBytes(3).toString('hex');

    const cliToken = await signup(services.serverUrl, `cli${suffix}`);
    const home = join(dir, 'home');
    const cli = await runCliUpload({
      paths: [file],
      to: `cli${suffix}/bench`,
      serverUrl: services.serverUrl,
      token: cliToken,
      home,
      timeoutMs: 600_000,
    });

    const webUser = `web${suffix}`;
    const webToken = await signup(services.serverUrl, webUser);
    const page = await browser.newPage();
    await page.addInitScript((token) => sessionStorage.setItem('dreamlake.token', token), webToken);
    await page.goto(`${services.serverUrl}/`);
    await page.waitForSelector('#app:not([hidden])');
    await page.fill('#space', 'bench');
    const started = performance.now();
    await page.setInputFiles('#drop input[type=file]:not([webkitdirectory])', file);
    await page.waitForFunction(
      () => {
        const state = document.querySelector<HTMLElement>('#queue tr[data-name="clip.mp4"]')?.dataset.state;
        return state !== undefined && state !== 'queued' && state !== 'hashing';
      },
      undefined,
      { timeout: 600_000, polling: 50 },
    );
    const hashed = performance.now();
    await waitForStates(page, ['clip.mp4'], ['done'], 600_000);
    const finished = performance.now();

    const webSeconds = (finished - started) / 1000;
    const hashSeconds = (hashed - started) / 1000;
    const rate = (s: number) => (options.sizeMiB / s).toFixed(0);
    const ratio = cli.seconds / webSeconds;
    // The page and the CLI cut the file by the same shared part plan.
    const partSize = choosePartSize(bytes);
    const parts = `${partCount(bytes, partSize)} parts of ${partSize / MiB} MiB`;
    return [
      {
        measure: `web page upload of ${options.sizeMiB} MiB in headless Chromium (SHA-256 in a worker, ${parts}, 4 in flight, verify, register)`,
        result: `${rate(webSeconds)} MiB/s (${webSeconds.toFixed(1)} s; hashing ${hashSeconds.toFixed(1)} s)`,
        rawLimit: `CLI, same file, same run, the same ${parts}: ${rate(cli.seconds)} MiB/s (${cli.seconds.toFixed(1)} s)`,
        note: `page / CLI = ${ratio.toFixed(2)} (target ≥ 0.7); the page's time runs from choosing the file to "done"`,
      },
    ];
  } finally {
    await browser.close();
    await services.stop();
    await removeTemp(dir);
  }
}
