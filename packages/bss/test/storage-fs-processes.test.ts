import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { MIN_PART_SIZE } from '@dreamlake/protocol';
import { buildBssApp } from '../src/app.ts';
import { startBss } from '../src/start.ts';
import { createFsStorage } from '../src/storage/fs/index.ts';
import { httpPut, SECRET, sha256, tempDir, testConfig } from './helpers.ts';

test('two disk backends over one folder (as two BSS processes) complete one hash concurrently into one blob', async (t) => {
  const temp = await tempDir();
  const root = join(temp.dir, 'bss');
  const config = testConfig(temp.dir);
  const serving = await createFsStorage({ root, publicUrl: 'http://127.0.0.1:1', secrets: [SECRET] });
  const app = await buildBssApp({ config, storage: serving });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await temp.remove();
  });
  const one = await createFsStorage({ root, publicUrl: url, secrets: [SECRET] });
  const two = await createFsStorage({ root, publicUrl: url, secrets: [SECRET] });

  const data = randomBytes(MIN_PART_SIZE + 77);
  const hash = sha256(data);
  const scope = { owner: 'frank', project: 'shared', hash, contentType: 'video/mp4' };
  const uploads = [];
  for (const storage of [one, two]) {
    const upload = await storage.createUpload(scope);
    const etags = [];
    for (const [i, body] of [data.subarray(0, MIN_PART_SIZE), data.subarray(MIN_PART_SIZE)].entries()) {
      const res = await httpPut(await storage.partUrl(upload, i + 1, { expiresInSeconds: 60 }), body);
      etags.push({ partNumber: i + 1, etag: res.etag as string });
    }
    uploads.push({ storage, upload, etags });
  }
  // Each upload completed from both "processes" at once.
  const results = await Promise.all(
    uploads.flatMap(({ upload, etags }) => [one.complete(upload, etags), two.complete(upload, etags)]),
  );
  for (const info of results)
    assert.deepEqual(info, { owner: 'frank', project: 'shared', hash, size: data.length, contentType: 'video/mp4' });
  assert.equal((await two.stat({ owner: 'frank', project: 'shared', hash }))?.size, data.length);
  assert.equal(await one.listParts(uploads[1]!.upload), null, 'a completed upload is no longer open in either process');
});

test('startBss listens, points part URLs at the bound port, sweeps stale uploads, and closes', async (t) => {
  const temp = await tempDir();
  t.after(() => temp.remove());
  const bss = await startBss(
    testConfig(temp.dir, { BSS_PORT: '0', SWEEP_INTERVAL_SECONDS: '1', STALE_UPLOAD_HOURS: '0.0002' }),
  );
  t.after(() => bss.close());
  const health = await fetch(`${bss.url}/healthz`);
  assert.deepEqual(await health.json(), { ok: true, storage: 'fs' });

  const storage = await createFsStorage({ root: join(temp.dir, 'bss'), publicUrl: bss.url, secrets: [SECRET] });
  const upload = await storage.createUpload({
    owner: 'gina',
    project: 'p',
    hash: sha256(Buffer.from('x')),
    contentType: 'text/plain',
  });
  assert.deepEqual(await storage.listParts(upload), []);
  let open: unknown = [];
  for (let i = 0; i < 40 && open !== null; i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    open = await storage.listParts(upload);
  }
  assert.equal(open, null, 'the periodic sweep removed the stale upload');
  await bss.close();
  await bss.close();
  await assert.rejects(fetch(`${bss.url}/healthz`));
});
