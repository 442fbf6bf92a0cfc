/**
 * The world a model-based run acts on: a BSS over one backend (a fresh data folder, or a fresh
 * bucket), served over real HTTP by two app instances ("A" and "B", as two processes over the
 * same storage), plus what the invariant needs to look at the storage from outside: every object
 * it holds, and every blob's bytes, read by a storage instance of its own that no run ever wraps.
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import { buildBssApp } from '../../src/app.ts';
import { createFsStorage } from '../../src/storage/fs/index.ts';
import { createS3Client } from '../../src/storage/s3/client.ts';
import { resolveOptions } from '../../src/storage/s3/config.ts';
import { createS3Storage, S3Storage } from '../../src/storage/s3/index.ts';
import { createPartUrlSigner } from '../../src/storage/s3/part-url-signer.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { SECRET, tempDir, testConfig } from '../helpers.ts';
import { createTestBucket, readS3TestConfig, s3EnvVars, type TestBucket } from '../storage-s3-env.ts';

export type Backend = 'fs' | 's3';
export type Via = 'A' | 'B';

/** Turns the storage a BSS instance serves into another one (tests use it to break the storage on purpose). */
export type StorageWrap = (storage: Storage) => Storage;

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): Record<string, unknown>;
}

/** The most an S3 call of a BSS instance is held back (see rawStorage). */
const S3_LATENCY_MS = 12;

/** Gives up on a request after this long, so a hung server fails the run instead of stalling it. */
const REQUEST_TIMEOUT_MS = 60_000;

/** One HTTP request over a fresh connection (a restarted app must not see an old keep-alive socket). */
export function send(
  method: string,
  url: string,
  options: { json?: unknown; body?: Buffer; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const body =
    options.json !== undefined ? Buffer.from(JSON.stringify(options.json)) : (options.body ?? Buffer.alloc(0));
  const headers: Record<string, string> = {
    ...(options.json !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(method === 'GET' ? {} : { 'content-length': String(body.length) }),
    connection: 'close',
    ...options.headers,
  };
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false, timeout: REQUEST_TIMEOUT_MS });
    req.on('timeout', () =>
      req.destroy(new Error(`${method} ${url.split('?')[0]} took over ${REQUEST_TIMEOUT_MS} ms`)),
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      // A server that hangs up on a body it refused before reading it (BSS does, on purpose)
      // may reset the connection before its answer is read: that counts as a refusal.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') {
        resolve({ status: 499, headers: {}, text: error.code, json: () => ({}) });
      } else reject(error);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json: () => {
            try {
              return JSON.parse(text) as Record<string, unknown>;
            } catch {
              return {};
            }
          },
        });
      });
    });
    req.end(method === 'GET' ? undefined : body);
  });
}

/** Something the storage holds, as the invariant sees it. */
export interface InventoryBlob {
  owner: string;
  project: string;
  hash: string;
  /** What the storage says the blob's size is (its manifest, or the object's length). */
  statedSize: number | null;
  /** The bytes it serves. */
  sha256: string;
  length: number;
}

export interface Inventory {
  blobs: InventoryBlob[];
  /** `owner/project/hash` of every upload or staged object the storage holds. */
  uploadScopes: string[];
  /** Anything that is neither a blob, an upload nor (disk) a temporary. */
  strays: string[];
}

interface Instance {
  app: FastifyInstance;
  storage: Storage;
  base: string;
}

export interface WorldOptions {
  backend: Backend;
  wrap?: StorageWrap;
}

const sha256Of = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function streamDigest(stream: NodeJS.ReadableStream): Promise<{ sha256: string; length: number }> {
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    length += chunk.length;
  }
  return { sha256: hash.digest('hex'), length };
}

async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** A BSS over a fresh folder or bucket, served by two app instances. */
export class World {
  readonly backend: Backend;
  private readonly wrap: StorageWrap | undefined;
  private readonly instances: Partial<Record<Via, Instance>> = {};
  /** Origins BSS has listened on: a disk part URL minted by an instance since restarted is sent to the live one. */
  private readonly bssOrigins = new Set<string>();
  private temp!: { dir: string; remove(): Promise<void> };
  private bucket: TestBucket | undefined;
  /** Reads blobs for the invariant: the real backend, never wrapped. */
  private inspector!: Storage;
  /** S3 blobs already read back, by key and ETag. */
  private readonly s3Read = new Map<string, InventoryBlob>();
  restarts = 0;

  private constructor(options: WorldOptions) {
    this.backend = options.backend;
    this.wrap = options.wrap;
  }

  static async open(options: WorldOptions): Promise<World> {
    const world = new World(options);
    try {
      world.temp = await tempDir('bss-invariant-');
      if (options.backend === 's3') {
        const base = readS3TestConfig();
        if (!base) throw new Error('DREAMLAKE_TEST_S3_ENV is unset: no S3 server to run against');
        world.bucket = await createTestBucket(base);
      }
      world.inspector = await world.rawStorage(() => 'http://127.0.0.1:1');
      await world.start('A');
      await world.start('B');
      return world;
    } catch (error) {
      await world.close();
      throw error;
    }
  }

  get root(): string {
    return join(this.temp.dir, 'bss');
  }

  /**
   * The storage of one instance. On S3, instance A takes small single-shot bodies itself (PUT to
   * BSS, hashed as they arrive, one PutObject) and B stages every one in the bucket, as two
   * processes of different versions during an upgrade would: both ways run in every run, and an
   * object staged through B may be completed through A.
   */
  private async rawStorage(publicUrl: () => string, latency = false, via: Via = 'A'): Promise<Storage> {
    if (!this.bucket) return createFsStorage({ root: this.root, publicUrl, secrets: [SECRET] });
    if (!latency) return createS3Storage(this.bucket.config);
    // Each call to S3 waits a random few milliseconds first: the steps of a complete (hash, copy,
    // delete) spread out, so a re-PUT fired during one lands between them more often.
    const slowed = (client: S3Client): S3Client => {
      const send = client.send.bind(client) as (...args: unknown[]) => Promise<unknown>;
      return new Proxy(client, {
        get(target, prop, receiver) {
          if (prop !== 'send') return Reflect.get(target, prop, receiver);
          return async (...args: unknown[]) => {
            await sleep(Math.random() * S3_LATENCY_MS);
            return send(...args);
          };
        },
      });
    };
    const client = createS3Client(this.bucket.config);
    const partUrls = await createPartUrlSigner(client, this.bucket.config.bucket);
    return new S3Storage({
      client: slowed(client),
      copyClient: slowed(createS3Client({ ...this.bucket.config, maxAttempts: 1 })),
      bucket: this.bucket.config.bucket,
      // Files over 1 MiB are published from a private copy, the smaller ones from memory: both ways.
      options: resolveOptions({
        memoryPublishLimit: 1024 * 1024,
        ...(via === 'B' ? { memoryReceiveLimit: 0 } : {}),
      }),
      partUrls,
      publicUrl,
    });
  }

  private async start(via: Via): Promise<void> {
    let base = '';
    const raw = await this.rawStorage(() => base, true, via);
    const storage = this.wrap ? this.wrap(raw) : raw;
    const env = this.bucket ? s3EnvVars(this.bucket.config) : {};
    const app = await buildBssApp({ config: testConfig(this.temp.dir, env), storage });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    this.bssOrigins.add(new URL(base).origin);
    this.instances[via] = { app, storage, base };
  }

  private instance(via: Via): Instance {
    const found = this.instances[via];
    if (!found) throw new Error(`BSS instance ${via} is not running`);
    return found;
  }

  /** The full URL of a BSS path on instance `via`. */
  url(via: Via, pathAndQuery: string): string {
    return `${this.instance(via).base}${pathAndQuery}`;
  }

  /** A URL BSS or S3 handed out, pointed at instance A when it names a BSS instance that has since restarted. */
  live(url: string): string {
    const parsed = new URL(url);
    if (!this.bssOrigins.has(parsed.origin)) return url;
    const running = Object.values(this.instances).some((i) => new URL(i.base).origin === parsed.origin);
    return running ? url : `${this.instance('A').base}${parsed.pathname}${parsed.search}`;
  }

  storage(via: Via): Storage {
    return this.instance(via).storage;
  }

  /** Closes instance A (app and storage) and starts it again over the same folder or bucket. */
  async restart(): Promise<void> {
    const old = this.instance('A');
    delete this.instances.A;
    await old.app.close();
    await old.storage.close();
    await this.start('A');
    this.restarts += 1;
  }

  /** Sweeps as if every upload had gone stale (a clock a year ahead), or as if none had (a day behind). */
  async sweep(via: Via, stale: boolean): Promise<number> {
    const day = 24 * 3600 * 1000;
    return this.instance(via).storage.sweep(new Date(stale ? Date.now() + 365 * day : Date.now() - day));
  }

  /** Everything the storage holds now. */
  async inventory(): Promise<Inventory> {
    return this.bucket ? this.s3Inventory(this.bucket) : this.fsInventory();
  }

  private async fsInventory(): Promise<Inventory> {
    const out: Inventory = { blobs: [], uploadScopes: [], strays: [] };
    for (const top of await entries(this.root)) {
      if (!['blobs', 'uploads', 'tmp'].includes(top)) out.strays.push(top);
    }
    for (const owner of await entries(join(this.root, 'blobs'))) {
      for (const project of await entries(join(this.root, 'blobs', owner))) {
        for (const hash of await entries(join(this.root, 'blobs', owner, project))) {
          const ref = { owner, project, hash };
          let info: Awaited<ReturnType<Storage['stat']>>;
          try {
            info = await this.inspector.stat(ref);
          } catch {
            out.strays.push(`blobs/${owner}/${project}/${hash} (unreadable)`);
            continue;
          }
          if (!info) {
            // A path that is no blob the backend would serve (e.g. a folder without a manifest).
            out.strays.push(`blobs/${owner}/${project}/${hash} (not a blob)`);
            continue;
          }
          const digest = await streamDigest(await this.inspector.read(ref));
          out.blobs.push({ ...ref, statedSize: info.size, ...digest });
        }
      }
    }
    for (const owner of await entries(join(this.root, 'uploads'))) {
      for (const project of await entries(join(this.root, 'uploads', owner))) {
        for (const hash of await entries(join(this.root, 'uploads', owner, project))) {
          const info = await stat(join(this.root, 'uploads', owner, project, hash));
          if (info.isDirectory()) out.uploadScopes.push(`${owner}/${project}/${hash}`);
          else out.strays.push(`uploads/${owner}/${project}/${hash}`);
        }
      }
    }
    return out;
  }

  private async s3Inventory(bucket: TestBucket): Promise<Inventory> {
    const out: Inventory = { blobs: [], uploadScopes: [], strays: [] };
    const etags = new Map<string, string>();
    let token: string | undefined;
    do {
      const page = await bucket.client.send(
        new ListObjectsV2Command({ Bucket: bucket.config.bucket, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) etags.set(object.Key ?? '', object.ETag ?? '');
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const keys = [...etags.keys()];
    const pending = await bucket.client.send(new ListMultipartUploadsCommand({ Bucket: bucket.config.bucket }));
    for (const upload of pending.Uploads ?? []) keys.push(upload.Key ?? '');
    for (const key of keys) {
      const segments = key.split('/');
      if (segments[0] === 'uploads' && segments.length === 5) {
        out.uploadScopes.push(segments.slice(1, 4).join('/'));
      } else if (segments[0] === 'blobs' && segments.length === 4) {
        const [, owner, project, hash] = segments as [string, string, string, string];
        // An object keeps its ETag until it is written again: one already read back is not read again.
        const listed = etags.get(key);
        const known = listed ? this.s3Read.get(`${key} ${listed}`) : undefined;
        if (known) {
          out.blobs.push(known);
          continue;
        }
        const object = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.config.bucket, Key: key }));
        const bytes = Buffer.from(await object.Body!.transformToByteArray());
        const blob = {
          owner,
          project,
          hash,
          statedSize: object.ContentLength ?? null,
          sha256: sha256Of(bytes),
          length: bytes.length,
        };
        if (object.ETag) this.s3Read.set(`${key} ${object.ETag}`, blob);
        out.blobs.push(blob);
      } else out.strays.push(key);
    }
    return out;
  }

  async close(): Promise<void> {
    for (const via of ['A', 'B'] as const) {
      const instance = this.instances[via];
      delete this.instances[via];
      await instance?.app.close().catch(() => undefined);
      await instance?.storage.close().catch(() => undefined);
    }
    await this.inspector?.close().catch(() => undefined);
    await this.bucket?.destroy().catch(() => undefined);
    await this.temp?.remove().catch(() => undefined);
  }
}
