/**
 * A small single-shot blob whose flush fails: the upload is answered an error and nothing of it
 * can be seen (no blob, no temporary file); the same upload goes through once flushes work again.
 * The file flushes of this process are made to fail (EIO, as a failing disk answers) before the
 * storage is loaded.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { readdir } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';

let failFlushes = false;
const fsync = fs.fsync;
fs.fsync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
  if (!failFlushes) return fsync(fd, callback);
  const error = Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO', errno: -5, syscall: 'fsync' });
  process.nextTick(callback, error);
}) as typeof fs.fsync;
syncBuiltinESMExports();

// Loaded after the patch (the helpers load the storage too).
const { buildBssApp } = await import('../src/app.ts');
const { createStorage } = await import('../src/storage/index.ts');
const { SECRET, sha256, signedQuery, singlePath, tempDir, testConfig } = await import('./helpers.ts');

test('a small single-shot upload whose flush fails is an error and leaves nothing visible; sent again it lands', async (t) => {
  const temp = await tempDir('bss-fsync-');
  const config = testConfig(temp.dir, { PRESIGN_SECRETS: SECRET });
  const storage = await createStorage(config);
  const app = await buildBssApp({ config, storage });
  t.after(async () => {
    failFlushes = false;
    await app.close();
    await temp.remove();
  });
  const data = Buffer.from('a small file that must reach the disk before it is acknowledged\n'.repeat(100));
  const scope = { owner: 'fay', project: 'logs', hash: sha256(data), size: data.length };
  const put = () =>
    app.inject({
      method: 'PUT',
      url: singlePath('files', scope),
      payload: data,
      headers: { 'content-type': 'text/plain' },
    });
  const visible = async () => ({
    blobs: await readdir(join(temp.dir, 'bss', 'blobs', 'fay', 'logs')).catch(() => [] as string[]),
    tmp: await readdir(join(temp.dir, 'bss', 'tmp')).catch(() => [] as string[]),
  });

  failFlushes = true;
  const failed = await put();
  assert.equal(failed.statusCode, 500, failed.body);
  assert.equal(failed.json().error.code, 'internal', 'a generic error, not the system message');
  const stat = await app.inject({
    method: 'GET',
    url: `/blobs/stat?${signedQuery('stat', { owner: scope.owner, project: scope.project, hash: scope.hash })}`,
  });
  assert.equal(stat.statusCode, 404, `the failed upload was published: ${stat.body}`);
  assert.equal(stat.json().error.code, 'not_found');
  assert.deepEqual(await visible(), { blobs: [], tmp: [] });

  failFlushes = false;
  const ok = await put();
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(await visible(), { blobs: [scope.hash], tmp: [] });
});
