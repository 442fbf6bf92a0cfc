/**
 * Folders of many small files, and the floor for sending them: a minimal node:http server that
 * streams each PUT body through SHA-256 into its own file and fsyncs it before answering 200,
 * and a minimal client that reads each file, SHA-256s it and PUTs it over keep-alive (undici),
 * 16 at a time. Everything in one process, on loopback. A second variant of the server makes
 * each file durable the way a store publishing blobs by rename does (four fsyncs per file).
 *
 *   node --import tsx scripts/bench-small-files.ts [files] [bytes]   # the floor alone
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mapLimit } from '@dreamlake/protocol';
import { Agent, request } from 'undici';
import { machineBusySeconds } from './bench-machine.ts';
import { removeTemp, tempDir } from './bench-services.ts';

export interface SmallFiles {
  /** The folder to upload. */
  dir: string;
  /** Every file, in the order written. */
  paths: string[];
  bytesEach: number;
}

/**
 * Writes `count` files of `bytesEach` random bytes under `parent/name`, in subfolders of at most
 * `perFolder` files (flat when count <= perFolder).
 */
export async function makeSmallFiles(
  parent: string,
  name: string,
  count: number,
  bytesEach: number,
  perFolder = 1000,
): Promise<SmallFiles> {
  const dir = join(parent, name);
  const width = String(count - 1).length;
  const flat = count <= perFolder;
  const folders = flat ? 0 : Math.ceil(count / perFolder);
  const paths = Array.from({ length: count }, (_, i) => {
    const file = `f${String(i).padStart(width, '0')}.bin`;
    return flat
      ? join(dir, file)
      : join(dir, `d${String(Math.floor(i / perFolder)).padStart(String(folders - 1).length, '0')}`, file);
  });
  await mkdir(dir, { recursive: true });
  for (let f = 0; f < folders; f += 1)
    await mkdir(join(dir, `d${String(f).padStart(String(folders - 1).length, '0')}`));
  await mapLimit(paths, 32, async (path) => writeFile(path, randomBytes(bytesEach)));
  return { dir, paths, bytesEach };
}

export interface RawServer {
  origin: string;
  close(): Promise<void>;
}

/**
 * How the floor's server makes a file durable:
 * - `file`: the body is fsynced (one fsync per file);
 * - `publish`: the steps a store that publishes whole blobs by rename takes (BSS's disk backend
 *   does these): the body into a staging folder, then at once its fsync and a small manifest
 *   beside it written and fsynced; the staging folder fsynced, renamed onto its final path, the
 *   parent folder fsynced (four fsyncs per file, two of them together).
 */
export type Durability = 'file' | 'publish';

async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The floor's server: each PUT body through SHA-256 into a file of its own, made durable, then 200. */
export async function startRawFileServer(storeDir: string, durability: Durability = 'file'): Promise<RawServer> {
  await mkdir(join(storeDir, 'blobs'), { recursive: true });
  let n = 0;
  const receive = async (req: AsyncIterable<unknown>, path: string): Promise<string> => {
    const hash = createHash('sha256');
    const file = await open(path, 'w');
    try {
      for await (const chunk of req) {
        hash.update(chunk as Buffer);
        await file.write(chunk as Buffer);
      }
      await file.sync();
    } finally {
      await file.close();
    }
    return hash.digest('hex');
  };
  const server: Server = createServer((req, res) => {
    const fail = (error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    };
    (async () => {
      const id = n++;
      let sha256: string;
      if (durability === 'file') sha256 = await receive(req, join(storeDir, `${id}.blob`));
      else {
        // The body is received and hashed first (the manifest names its hash), then its fsync, the
        // manifest's write and fsync and the parent folder run together; then the stage folder's
        // fsync, the rename that publishes it, and the parent folder's fsync.
        const stage = join(storeDir, `stage-${id}`);
        await mkdir(stage);
        const data = join(stage, 'data');
        const file = await open(data, 'w');
        const hash = createHash('sha256');
        try {
          for await (const chunk of req) {
            hash.update(chunk as Buffer);
            await file.write(chunk as Buffer);
          }
        } finally {
          await file.close();
        }
        sha256 = hash.digest('hex');
        const parent = join(storeDir, 'blobs', sha256.slice(0, 2));
        const writeManifest = async () => {
          const handle = await open(join(stage, 'manifest.json'), 'wx');
          try {
            await handle.writeFile(JSON.stringify({ sha256, id }));
            await handle.sync();
          } finally {
            await handle.close();
          }
        };
        await Promise.all([syncPath(data), writeManifest(), mkdir(parent, { recursive: true })]);
        await syncPath(stage);
        await rename(stage, join(parent, sha256));
        await syncPath(parent);
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ sha256 }));
    })().catch(fail);
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

export interface RawSendResult {
  files: number;
  seconds: number;
  filesPerSecond: number;
  /** Requests the client sent: one PUT per file. */
  requests: number;
  /** CPU seconds of the process (client and server together). */
  cpuSeconds: number;
  /** CPU seconds every other process of the machine used meanwhile (a disturbance). */
  othersCpuSeconds: number;
}

/** The floor's client: read, SHA-256, PUT over keep-alive, `concurrency` at a time; checks each answer's hash. */
export async function rawSendFiles(paths: readonly string[], origin: string, concurrency = 16): Promise<RawSendResult> {
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 30_000 });
  let requests = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const machineBefore = await machineBusySeconds();
  try {
    await mapLimit(paths, concurrency, async (path, i) => {
      const body = await readFile(path);
      const sha256 = createHash('sha256').update(body).digest('hex');
      requests += 1;
      const res = await request(`${origin}/put/${i}`, {
        method: 'PUT',
        dispatcher: agent,
        body,
        headers: { 'content-type': 'application/octet-stream' },
      });
      const answer = (await res.body.json()) as { sha256?: string };
      if (res.statusCode !== 200 || answer.sha256 !== sha256)
        throw new Error(`raw PUT of ${path}: ${res.statusCode} ${JSON.stringify(answer)}`);
    });
  } finally {
    await agent.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const othersCpuSeconds = Math.max(0, (await machineBusySeconds()) - machineBefore - cpuSeconds);
  return {
    files: paths.length,
    seconds,
    filesPerSecond: paths.length / seconds,
    requests,
    cpuSeconds,
    othersCpuSeconds,
  };
}

/** The whole floor on the given files: a fresh server and store, the client, cleanup. */
export async function runRawSmallFiles(
  paths: readonly string[],
  durability: Durability = 'file',
  concurrency = 16,
): Promise<RawSendResult> {
  const store = await tempDir('dreamlake-bench-raw-store-');
  const server = await startRawFileServer(store, durability);
  try {
    return await rawSendFiles(paths, server.origin, concurrency);
  } finally {
    await server.close();
    await removeTemp(store);
  }
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 1000);
  const bytes = Number(process.argv[3] ?? 20 * 1024);
  const work = await tempDir('dreamlake-bench-files-');
  try {
    const files = await makeSmallFiles(work, 'small', count, bytes);
    for (const durability of ['file', 'publish'] as const) {
      const result = await runRawSmallFiles(files.paths, durability);
      process.stdout.write(`${JSON.stringify({ durability, ...result })}\n`);
    }
  } finally {
    await removeTemp(work);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  });
}
