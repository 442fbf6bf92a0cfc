import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fsp, { type FileHandle, mkdir, readdir, rm } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { buildBssApp } from '../src/app.ts';
import { loadBssConfig } from '../src/config.ts';
import { createStorage } from '../src/storage/index.ts';
import {
  makeApp,
  pathOf,
  SECRET,
  sendParts,
  sha256,
  signedQuery,
  singlePath,
  stagedFiles,
  type TestApp,
  tempDir,
  uploadPaths,
} from './helpers.ts';

/**
 * The disk backend on a full disk: the client gets a clear 503 `storage_unavailable`, nothing of
 * the refused part or blob stays, and the same upload goes through once there is room again.
 */

const KiB = 1024;

/**
 * Makes every file write of this process (write streams, and writes through an opened file
 * handle) fail with ENOSPC once `room` bytes have been written so, as a full disk does. Answers a
 * handle to give the room back.
 */
function fillDisk(room: number): { restore(): void } {
  const original = fs.createWriteStream;
  let used = 0;
  const full = () =>
    Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
      errno: -28,
      syscall: 'write',
    });
  fs.createWriteStream = ((...args: Parameters<typeof original>) => {
    const stream = original(...args);
    const write = stream._write.bind(stream);
    stream._write = (chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void) => {
      used += chunk.length;
      if (used > room) callback(full());
      else write(chunk, encoding, callback);
    };
    stream._writev = undefined;
    return stream;
  }) as typeof original;
  // The disk backend gathers a body's chunks into writes of its own (`writev` on a descriptor).
  const originalWritev = fs.writev;
  fs.writev = ((fd: number, buffers: NodeJS.ArrayBufferView[], ...rest: unknown[]) => {
    const callback = rest[rest.length - 1] as (error: Error | null, written?: number) => void;
    used += buffers.reduce((sum, buffer) => sum + buffer.byteLength, 0);
    if (used > room) process.nextTick(() => callback(full()));
    else (originalWritev as (...a: unknown[]) => void)(fd, buffers, ...rest);
  }) as typeof originalWritev;
  const originalOpen = fsp.open;
  fsp.open = (async (...args: Parameters<typeof originalOpen>) => {
    const handle: FileHandle = await originalOpen(...args);
    const write = handle.write.bind(handle) as (...a: unknown[]) => Promise<{ bytesWritten: number }>;
    handle.write = ((buffer: Buffer, offset?: number, length?: number, ...rest: unknown[]) => {
      used += length ?? buffer.length - (offset ?? 0);
      if (used > room) return Promise.reject(full());
      return write(buffer, offset, length, ...rest);
    }) as FileHandle['write'];
    return handle;
  }) as typeof originalOpen;
  syncBuiltinESMExports();
  return {
    restore() {
      fs.createWriteStream = original;
      fs.writev = originalWritev;
      fsp.open = originalOpen;
      syncBuiltinESMExports();
    },
  };
}

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

function assertFull(res: { statusCode: number; json(): unknown; body: string }) {
  assert.ok(res.statusCode === 503 || res.statusCode === 507, `${res.statusCode}: ${res.body}`);
  assert.equal((res.json() as { error: { code: string } }).error.code, 'storage_unavailable', res.body);
}

/** A multipart upload of two parts whose second PUT meets a full disk, then goes through. */
async function multipartOnFullDisk(app: TestApp, disk: { full(room: number): void; free(): void }) {
  const first = Buffer.alloc(5 * 1024 * KiB, 1);
  const second = Buffer.alloc(256 * KiB, 2);
  const scope = { owner: 'alice', project: 'full', hash: sha256(Buffer.concat([first, second])) };
  const paths = uploadPaths('videos', scope);
  const init = await app.app.inject({ method: 'POST', url: paths.init, payload: { contentType: 'video/mp4' } });
  assert.equal(init.statusCode, 200, init.body);
  const { uploadId, key } = init.json() as { uploadId: string; key: string };
  const urls = await app.app.inject({
    method: 'POST',
    url: paths.parts,
    payload: { uploadId, key, partNumbers: [1, 2] },
  });
  const partUrl = (n: number) => pathOf((urls.json() as { parts: Record<string, string> }).parts[String(n)] as string);
  const put = (n: number, body: Buffer) =>
    app.app.inject({
      method: 'PUT',
      url: partUrl(n),
      payload: body,
      headers: { 'content-type': 'application/octet-stream' },
    });

  const one = await put(1, first);
  assert.equal(one.statusCode, 200, one.body);
  const before = await filesUnder(join(app.dir, 'bss'));

  disk.full(64 * KiB);
  assertFull(await put(2, second));
  assert.deepEqual(await filesUnder(join(app.dir, 'bss')), before, 'the refused part left files behind');
  const done = await app.app.inject({
    method: 'GET',
    url: `${paths.partsDone}&uploadId=${encodeURIComponent(uploadId)}&key=${encodeURIComponent(key)}`,
  });
  assert.deepEqual(
    (done.json() as { parts: { partNumber: number }[] }).parts.map((p) => p.partNumber),
    [1],
  );

  disk.free();
  const two = await put(2, second);
  assert.equal(two.statusCode, 200, two.body);
  const parts = [
    { partNumber: 1, etag: String(one.headers.etag) },
    { partNumber: 2, etag: String(two.headers.etag) },
  ];
  const complete = await app.app.inject({ method: 'POST', url: paths.complete, payload: { uploadId, key, parts } });
  assert.equal(complete.statusCode, 200, complete.body);
  assert.equal((complete.json() as { size: number }).size, first.length + second.length);
}

/** A single-shot upload (streamed to disk, or for a small body held in memory) that meets a full disk, then goes through. */
async function singleOnFullDisk(
  app: TestApp,
  disk: { full(room: number): void; free(): void },
  size = 512 * KiB,
  room = 64 * KiB,
) {
  const data = Buffer.alloc(size, 3);
  const scope = { owner: 'alice', project: 'full', hash: sha256(data) };
  const url = singlePath('files', { ...scope, size: data.length });
  const put = () =>
    app.app.inject({ method: 'PUT', url, payload: data, headers: { 'content-type': 'application/octet-stream' } });
  disk.full(room);
  assertFull(await put());
  assert.deepEqual(await stagedFiles(app.dir), [], 'the refused body left a stage behind');
  const stat = await app.app.inject({ method: 'GET', url: `/blobs/stat?${signedQuery('stat', scope)}` });
  assert.equal(stat.statusCode, 404, `the refused body was published: ${stat.body}`);
  assert.equal(stat.json().error.code, 'not_found');
  disk.free();
  const ok = await put();
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal((ok.json() as { size: number }).size, data.length);
}

test('a part PUT on a full disk is 503 storage_unavailable, leaves nothing, and the upload completes once there is room', async (t) => {
  const app = await makeApp();
  let injected: { restore(): void } | undefined;
  const disk = { full: (room: number) => (injected = fillDisk(room)), free: () => injected?.restore() };
  t.after(async () => {
    disk.free();
    await app.close();
  });
  await multipartOnFullDisk(app, disk);
});

test('a single-shot PUT on a full disk is 503 storage_unavailable, leaves no stage, and succeeds once there is room', async (t) => {
  const app = await makeApp();
  let injected: { restore(): void } | undefined;
  const disk = { full: (room: number) => (injected = fillDisk(room)), free: () => injected?.restore() };
  t.after(async () => {
    disk.free();
    await app.close();
  });
  await singleOnFullDisk(app, disk);
});

/** Mounts a small tmpfs when this process may (root on Linux); false otherwise. */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Disk {
  full(room: number): void;
  free(): void;
}

/** Runs `fn` against a BSS whose data folder is a 16 MiB tmpfs; skips where one cannot be mounted. */
async function onTmpfs(t: TestContext, fn: (app: TestApp, disk: Disk) => Promise<void>): Promise<void> {
  const temp = await tempDir('bss-full-');
  const mountPoint = join(temp.dir, 'data');
  await mkdir(mountPoint);
  if (process.platform !== 'linux' || !mountTmpfs(mountPoint, '16m')) {
    await temp.remove();
    t.skip('mounting a tmpfs needs root on Linux');
    return;
  }
  const config = loadBssConfig({
    PRESIGN_SECRETS: SECRET,
    DREAMLAKE_DATA_DIR: mountPoint,
    LOG_LEVEL: 'silent',
    SWEEP_INTERVAL_SECONDS: '0',
  });
  const storage = await createStorage(config);
  const app = await buildBssApp({ config, storage });
  const ballast = join(mountPoint, 'ballast');
  const disk: Disk = {
    /** Fills the file system up to `room` bytes free. */
    full(room) {
      const { bavail, bsize } = fs.statfsSync(mountPoint);
      fs.writeFileSync(ballast, Buffer.alloc(Math.max(0, bavail * bsize - room)));
    },
    free() {
      fs.rmSync(ballast, { force: true });
    },
  };
  try {
    await fn({ app, storage, config, dir: mountPoint, close: async () => {} }, disk);
  } finally {
    await app.close();
    await storage.close();
    execFileSync('umount', [mountPoint]);
    await rm(temp.dir, { recursive: true, force: true });
  }
}

test('on a real full file system (a small tmpfs) part and single-shot bodies are refused cleanly and go through once there is room', async (t) => {
  await onTmpfs(t, async (app, disk) => {
    await singleOnFullDisk(app, disk);
    await singleOnFullDisk(app, disk, 20 * KiB, 4 * KiB);
    await multipartOnFullDisk(app, disk);
  });
});

test('on a real full file system a complete is 503 storage_unavailable, and completes once there is room', async (t) => {
  await onTmpfs(t, async (app, disk) => {
    const data = Buffer.alloc(6 * 1024 * KiB, 5);
    const paths = uploadPaths('videos', { owner: 'alice', project: 'full', hash: sha256(data) });
    const { uploadId, key, etags } = await sendParts(app.app, paths, data);
    const complete = () =>
      app.app.inject({ method: 'POST', url: paths.complete, payload: { uploadId, key, parts: etags } });
    disk.full(0);
    assertFull(await complete());
    assert.deepEqual(await stagedFiles(app.dir), [], 'the refused complete left a stage behind');
    disk.free();
    const done = await complete();
    assert.equal(done.statusCode, 200, done.body);
    assert.equal((done.json() as { size: number }).size, data.length);
  });
});

test('on a real full file system, opening an upload is 503 storage_unavailable', async (t) => {
  await onTmpfs(t, async (app, disk) => {
    disk.full(0);
    const scope = { owner: 'alice', project: 'full', hash: sha256(Buffer.from('nothing fits')) };
    assertFull(
      await app.app.inject({
        method: 'POST',
        url: uploadPaths('files', scope).init,
        payload: { contentType: 'text/plain' },
      }),
    );
  });
});
