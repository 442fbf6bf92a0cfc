import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { presign } from '@dreamlake/presign';
import type { FastifyInstance } from 'fastify';
import { buildBssApp } from '../src/app.ts';
import { type BssConfig, loadBssConfig } from '../src/config.ts';
import { createStorage } from '../src/storage/index.ts';
import type { Storage } from '../src/storage/storage.ts';

export const SECRET = 'bss-test-secret-0123456789abcdef0123456789';

export async function tempDir(prefix = 'bss-test-'): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function testConfig(dataDir: string, env: Record<string, string> = {}): BssConfig {
  return loadBssConfig({
    PRESIGN_SECRETS: SECRET,
    DREAMLAKE_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    SWEEP_INTERVAL_SECONDS: '0',
    ...env,
  });
}

/** PUTs bytes over real HTTP, as a client does with a part URL. */
export function httpPut(
  url: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; etag?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length), ...headers },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      res.on('error', reject);
      res.on('end', () => {
        const etag = res.headers.etag;
        resolve({ status: res.statusCode ?? 0, ...(typeof etag === 'string' ? { etag } : {}) });
      });
    });
    req.end(body);
  });
}

/** A signed query string for one of BSS's actions. */
export function signedQuery(
  action: string,
  params: Record<string, string>,
  opts: { now?: number; ttl?: number; secret?: string } = {},
): string {
  const { query } = presign({
    action,
    params,
    secrets: [opts.secret ?? SECRET],
    now: opts.now ?? Math.floor(Date.now() / 1000),
    ttlSeconds: opts.ttl ?? 600,
  });
  return new URLSearchParams(query).toString();
}

export interface TestApp {
  app: FastifyInstance;
  storage: Storage;
  config: BssConfig;
  dir: string;
  close(): Promise<void>;
}

/** An in-process BSS over a fresh data folder. */
export async function makeApp(env: Record<string, string> = {}, clock?: () => number): Promise<TestApp> {
  const temp = await tempDir();
  const config = testConfig(temp.dir, env);
  const storage = await createStorage(config, clock ? { clock } : {});
  const app = await buildBssApp({ config, storage, ...(clock ? { clock } : {}) });
  return {
    app,
    storage,
    config,
    dir: temp.dir,
    async close() {
      await app.close();
      await temp.remove();
    },
  };
}

export type Scope = { owner: string; project: string; hash: string };

/** The five signed endpoint paths for one file, as the server would hand them out. */
export function uploadPaths(type: string, scope: Scope, opts: { now?: number; ttl?: number; secret?: string } = {}) {
  const path = (action: string, route: string) =>
    `/${type}/upload/multipart/${route}?${signedQuery(action, scope, opts)}`;
  return {
    init: path('upload-init', 'init'),
    parts: path('upload-parts', 'parts'),
    partsDone: path('upload-parts-done', 'parts-done'),
    complete: path('upload-complete', 'complete'),
    abort: path('upload-abort', 'abort'),
  };
}

/** The signed single-shot path for one file (action `upload-single`, signed size), as a batch grant hands it out. */
export function singlePath(
  type: string,
  scope: Scope & { size: number },
  opts: { now?: number; ttl?: number; secret?: string } = {},
): string {
  const params = { owner: scope.owner, project: scope.project, hash: scope.hash, size: String(scope.size) };
  return `/${type}/upload/single?${signedQuery('upload-single', params, opts)}`;
}

/** Everything under the disk backend's data folder except finished blobs: temporaries and stages. */
export async function stagedFiles(dataDir: string): Promise<string[]> {
  return readdir(join(dataDir, 'bss', 'tmp')).catch(() => [] as string[]);
}

/** Path and query of a full URL, for `inject`. */
export function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
export const md5hex = (data: Buffer) => createHash('md5').update(data).digest('hex');

export const MiB = 1024 * 1024;

/** A copy of `data` with its first byte flipped: always other bytes of the same length. */
export function flipFirst(data: Buffer): Buffer {
  const copy = Buffer.from(data);
  copy[0] = (copy[0] ?? 0) ^ 0xff;
  return copy;
}

/** Splits data into 5 MiB parts (the last shorter). */
export function split(data: Buffer, partSize = 5 * MiB): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length || parts.length === 0; at += partSize) parts.push(data.subarray(at, at + partSize));
  return parts;
}

/** Runs init, parts and the part PUTs through the app; answers what complete needs. */
export async function sendParts(
  app: FastifyInstance,
  paths: ReturnType<typeof uploadPaths>,
  data: Buffer,
  contentType = 'video/mp4',
) {
  const init = await app.inject({ method: 'POST', url: paths.init, payload: { contentType, size: data.length } });
  assert.equal(init.statusCode, 200, init.body);
  const { uploadId, key } = init.json() as { uploadId: string; key: string };
  const parts = split(data);
  const urls = await app.inject({
    method: 'POST',
    url: paths.parts,
    payload: { uploadId, key, partNumbers: parts.map((_, i) => i + 1) },
  });
  assert.equal(urls.statusCode, 200, urls.body);
  const etags: { partNumber: number; etag: string }[] = [];
  for (const [i, body] of parts.entries()) {
    const url = (urls.json() as { parts: Record<string, string> }).parts[String(i + 1)] as string;
    const put = await app.inject({
      method: 'PUT',
      url: pathOf(url),
      payload: body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(put.statusCode, 200, put.body);
    etags.push({ partNumber: i + 1, etag: String(put.headers.etag) });
  }
  return { uploadId, key, etags };
}
