/**
 * Upload benchmark: uploads a generated file of N MiB (default 1024) with the real `dreamlake`
 * bin against running services, and reports its throughput and peak RSS next to the raw limits
 * measured in the same run on the same bytes: a sequential read with SHA-256, and a plain
 * loopback HTTP PUT to a server that streams the body to a file on the same disk, once as it is
 * and once flushed to the disk (fsync) before answering (each the median of three runs). The
 * floor of a verified upload is the first two one after the other: the hash has to be known
 * before the upload is granted.
 *
 * `runUploadBench({ serverUrl })` runs against services already started (sign-up must be open);
 * `tsx packages/cli/bench/upload.ts [MiB]` starts a server and BSS itself.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { BenchServices, CLI_BIN, removeTemp, tempDir, track, watchPeakRss } from '../../../scripts/bench-services.ts';
import { choosePartSize, partCount } from '../src/transfer/plan.ts';

const MIB = 1024 * 1024;

export interface UploadBenchOptions {
  serverUrl: string;
  /** Size of the generated file in MiB (default 1024). */
  sizeMiB?: number;
  /** Parts in flight (the CLI's --concurrency, default 4). */
  concurrency?: number;
  /** Measure the floors too (default true); without, they read 0. */
  floors?: boolean;
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
    /** The same bytes PUT over loopback HTTP to a server that writes them to a file (no fsync). */
    loopbackPutMiBPerSec: number;
    /** The same, with the file flushed to the disk before the answer. */
    loopbackPutSyncedMiBPerSec: number;
    /** Read+SHA-256, then the PUT: the floor of an upload that must know its hash first. */
    floorMiBPerSec: number;
    /** The same with the synced PUT: the floor of a durable one. */
    durableFloorMiBPerSec: number;
  };
}

const mibPerSec = (bytes: number, ms: number): number => Math.round((bytes / MIB / (ms / 1000)) * 10) / 10;

async function medianOf3(run: () => Promise<number>): Promise<number> {
  const values = [await run(), await run(), await run()].sort((a, b) => a - b);
  return values[1] as number;
}

async function rawReadSha256(path: string): Promise<number> {
  const { size } = await stat(path);
  const started = performance.now();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MIB })) hash.update(chunk as Buffer);
  hash.digest();
  return mibPerSec(size, performance.now() - started);
}

async function rawLoopbackPut(path: string, target: string, synced: boolean): Promise<number> {
  const { size } = await stat(path);
  const server = createServer((req, res) => {
    // `flush`: fsync before the file is closed.
    const out = createWriteStream(target, { flush: synced });
    req.pipe(out);
    out.on('close', () => res.end('ok'));
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
    await rm(target, { force: true });
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

/** Writes `size` bytes of a cheap deterministic pattern (streamed, so memory stays flat). */
async function makeFile(path: string, size: number, seed: number): Promise<void> {
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

/** A new user through the server's sign-up; the CLI gets the token in its environment. */
async function signup(serverUrl: string): Promise<{ username: string; token: string }> {
  const username = `bench${randomBytes(4).toString('hex')}`;
  const res = await fetch(`${serverUrl}/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'benchmark password' }),
  });
  const body = (await res.json()) as { token?: string };
  if (res.status !== 201 || typeof body.token !== 'string')
    throw new Error(`sign-up failed: ${res.status} ${JSON.stringify(body)}`);
  return { username, token: body.token };
}

export async function runUploadBench(options: UploadBenchOptions): Promise<UploadBenchResult> {
  const sizeMiB = options.sizeMiB ?? 1024;
  const concurrency = options.concurrency ?? 4;
  const work = await tempDir('dreamlake-bench-');
  try {
    const { username: user, token } = await signup(options.serverUrl);
    const home = join(work, 'home');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      DREAMLAKE_HOME: home,
      DREAMLAKE_SERVER: options.serverUrl,
      DREAMLAKE_TOKEN: token,
      NO_COLOR: '1',
    };
    const path = join(work, 'bench.bin');
    await makeFile(path, sizeMiB * MIB, 42);

    // Each floor three times, the median: one short run swings with whatever else the machine does.
    const floors = options.floors ?? true;
    const readSha256MiBPerSec = floors ? await medianOf3(() => rawReadSha256(path)) : 0;
    const target = join(work, 'floor.bin');
    const loopbackPutMiBPerSec = floors ? await medianOf3(() => rawLoopbackPut(path, target, false)) : 0;
    const loopbackPutSyncedMiBPerSec = floors ? await medianOf3(() => rawLoopbackPut(path, target, true)) : 0;
    const sequential = (a: number, b: number) => (a && b ? Math.round(10 / (1 / a + 1 / b)) / 10 : 0);

    const started = performance.now();
    const child = track(
      spawn(
        process.execPath,
        [CLI_BIN, 'upload', path, '--to', `${user}/bench`, '--json', '--concurrency', String(concurrency)],
        {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ),
    );
    const peak = watchPeakRss(child.pid ?? 0);
    // As many parts as the CLI will cut the file into (its part size grows with the file).
    const phases = watchPhases(home, partCount(sizeMiB * MIB, choosePartSize(sizeMiB * MIB)), started);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
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
        phases: {
          hashSeconds: secs(hashedAt),
          partsSeconds: secs(partsAt - hashedAt),
          finishSeconds: secs(ms - partsAt),
        },
      },
      raw: {
        readSha256MiBPerSec,
        loopbackPutMiBPerSec,
        loopbackPutSyncedMiBPerSec,
        floorMiBPerSec: sequential(readSha256MiBPerSec, loopbackPutMiBPerSec),
        durableFloorMiBPerSec: sequential(readSha256MiBPerSec, loopbackPutSyncedMiBPerSec),
      },
    };
  } finally {
    await removeTemp(work);
  }
}

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 1024);
  const services = await BenchServices.start();
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
