/**
 * Upload benchmark: uploads a generated file of N MiB (default 1024) with the real `dreamlake`
 * bin against running services, and reports its throughput and peak RSS next to the raw limits
 * measured in the same run on the same bytes: a sequential read with SHA-256, and a plain
 * loopback HTTP PUT.
 *
 * `runUploadBench({ serverUrl })` runs against services already started (sign-up must be open);
 * `tsx packages/cli/bench/upload.ts [MiB]` starts a server and BSS itself.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { CLI_BIN, cliEnv, makeFile, MIB, runCli, Services, tempDir, uniqueName, backends } from '../test/e2e/harness.ts';

export interface UploadBenchOptions {
  serverUrl: string;
  /** Size of the generated file in MiB (default 1024). */
  sizeMiB?: number;
  /** Parts in flight (the CLI's --concurrency, default 4). */
  concurrency?: number;
}

export interface UploadBenchResult {
  sizeMiB: number;
  concurrency: number;
  cli: {
    seconds: number;
    /** Whole command: hashing, transfer, completion (BSS verifies the SHA-256) and registration. */
    mibPerSec: number;
    peakRssMiB: number;
    partsTotal: number;
    /** Phases, seen from outside through the resume state: start-up, hashing and grant; parts; complete and register. */
    phases: { hashSeconds: number; partsSeconds: number; finishSeconds: number };
  };
  raw: {
    /** One sequential read of the file through SHA-256 in this process. */
    readSha256MiBPerSec: number;
    /** The same bytes PUT over loopback HTTP to a server that discards them. */
    loopbackPutMiBPerSec: number;
  };
}

const mibPerSec = (bytes: number, ms: number): number => Math.round((bytes / MIB / (ms / 1000)) * 10) / 10;

async function rawReadSha256(path: string): Promise<number> {
  const { size } = await stat(path);
  const started = performance.now();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MIB })) hash.update(chunk as Buffer);
  hash.digest();
  return mibPerSec(size, performance.now() - started);
}

async function rawLoopbackPut(path: string): Promise<number> {
  const { size } = await stat(path);
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  try {
    const started = performance.now();
    const response = await request(`http://127.0.0.1:${port}/put`, {
      method: 'PUT',
      dispatcher: agent,
      headers: { 'content-length': String(size) },
      body: createReadStream(path, { highWaterMark: 256 * 1024 }),
    });
    await response.body.text();
    return mibPerSec(size, performance.now() - started);
  } finally {
    await agent.close();
    server.close();
  }
}

/** When the upload's resume state first appears (hashing done) and when it records every part. */
function watchPhases(home: string, partsTotal: number, started: number): () => { hashedAt: number; partsAt: number } {
  let hashedAt = 0;
  let partsAt = 0;
  const dir = join(home, 'uploads');
  const timer = setInterval(async () => {
    const names = await readdir(dir).catch(() => [] as string[]);
    const name = names.find((n) => n.endsWith('.json'));
    if (!name) return;
    hashedAt ||= performance.now() - started;
    const state = JSON.parse(await readFile(join(dir, name), 'utf8').catch(() => '{}')) as { done?: object };
    if (!partsAt && Object.keys(state.done ?? {}).length >= partsTotal) partsAt = performance.now() - started;
  }, 25);
  return () => {
    clearInterval(timer);
    return { hashedAt, partsAt };
  };
}

/** Peak RSS of a child, from the kernel's high-water mark, sampled until it exits. */
function watchPeakRss(pid: number): () => number {
  let peak = 0;
  const sample = async () => {
    const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(text)?.[1] ?? 0);
    peak = Math.max(peak, kb);
  };
  const timer = setInterval(() => void sample(), 50);
  return () => {
    clearInterval(timer);
    return Math.round((peak / 1024) * 10) / 10;
  };
}

export async function runUploadBench(options: UploadBenchOptions): Promise<UploadBenchResult> {
  const sizeMiB = options.sizeMiB ?? 1024;
  const concurrency = options.concurrency ?? 4;
  const work = await tempDir('dreamlake-bench-');
  try {
    const env = cliEnv(join(work, 'home'));
    const user = uniqueName('bench');
    const signup = await runCli(['signup', '--server', options.serverUrl, '--username', user, '--password-stdin'], env, 'benchmark password\n');
    if (signup.code !== 0) throw new Error(`sign-up failed: ${signup.stderr}`);
    const path = join(work, 'bench.bin');
    await makeFile(path, sizeMiB * MIB, 42);

    const readSha256MiBPerSec = await rawReadSha256(path);
    const loopbackPutMiBPerSec = await rawLoopbackPut(path);

    const started = performance.now();
    const child = spawn(process.execPath, [CLI_BIN, 'upload', path, '--to', `${user}/bench`, '--json', '--concurrency', String(concurrency)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const peak = watchPeakRss(child.pid ?? 0);
    const phases = watchPhases(env.DREAMLAKE_HOME as string, Math.ceil((sizeMiB * MIB) / (5 * MIB)), started);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    const ms = performance.now() - started;
    const peakRssMiB = peak();
    const { hashedAt, partsAt } = phases();
    const secs = (v: number) => Math.round(v / 100) / 10;
    if (code !== 0) throw new Error(`upload failed: ${stderr}`);
    const line = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { partsTotal: number };
    return {
      sizeMiB,
      concurrency,
      cli: {
        seconds: secs(ms),
        mibPerSec: mibPerSec(sizeMiB * MIB, ms),
        peakRssMiB,
        partsTotal: line.partsTotal,
        phases: { hashSeconds: secs(hashedAt), partsSeconds: secs(partsAt - hashedAt), finishSeconds: secs(ms - partsAt) },
      },
      raw: { readSha256MiBPerSec, loopbackPutMiBPerSec },
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 1024);
  const services = await Services.start({ backend: backends()[0]! });
  try {
    const result = await runUploadBench({ serverUrl: services.serverUrl, sizeMiB });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await services.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
