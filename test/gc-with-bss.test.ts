import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildBssApp } from '../packages/bss/src/app.ts';
import { loadBssConfig } from '../packages/bss/src/config.ts';
import { createFsStorage } from '../packages/bss/src/storage/fs/index.ts';
import { createBssClient } from '../packages/server/src/bss-client.ts';
import { collectBlobs } from '../packages/server/src/gc/blob-gc.ts';
import { forEachEngine } from '../packages/server/test/helpers/engines.ts';
import { PRESIGN_SECRET, useHarness } from '../packages/server/test/helpers/harness.ts';

/** The server's collection against a real BSS (disk backend), both on clocks the test moves. */

const TTL = 3600;
const GRACE = 7200;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

forEachEngine((engine) => {
  let bss: FastifyInstance;
  let bssUrl = '';
  let dir = '';
  const bssClock = { offset: 0 };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gc-with-bss-'));
    const config = loadBssConfig({
      PRESIGN_SECRETS: PRESIGN_SECRET,
      DREAMLAKE_DATA_DIR: dir,
      LOG_LEVEL: 'silent',
      SWEEP_INTERVAL_SECONDS: '0',
      PRESIGN_TTL_SECONDS: String(TTL),
      BLOB_GC_GRACE_SECONDS: String(GRACE),
    });
    const clock = () => Math.floor(Date.now() / 1000) + bssClock.offset;
    const storage = await createFsStorage({
      root: join(dir, 'bss'),
      publicUrl: () => bssUrl,
      secrets: [PRESIGN_SECRET],
      clock,
    });
    bss = await buildBssApp({ config, storage, clock });
    bssUrl = await bss.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await bss?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const h = useHarness(engine, () => ({
    bssPublicUrl: bssUrl,
    bssInternalUrl: bssUrl,
    presignTtlSeconds: TTL,
    blobGcGraceSeconds: GRACE,
  }));

  /** Grants and uploads one file through BSS as a client does; answers its hash and receipt. */
  async function upload(token: string, namespace: string, data: Buffer) {
    const hash = sha256(data);
    const granted = await h.call('POST', '/uploads/init', token, {
      namespace,
      space: 'robotics',
      filename: `${hash.slice(0, 8)}.bin`,
      hash,
      contentType: 'application/octet-stream',
      type: 'files',
      size: data.length,
    });
    assert.equal(granted.statusCode, 200, granted.body);
    const urls = granted.json() as Record<string, string>;
    const post = async (url: string, body: unknown) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 200, JSON.stringify(json));
      return json;
    };
    const init = await post(urls.initUrl as string, { contentType: 'application/octet-stream', size: data.length });
    const { uploadId, key } = init as { uploadId: string; key: string };
    const parts = await post(urls.partsUrl as string, { uploadId, key, partNumbers: [1] });
    const put = await fetch((parts.parts as Record<string, string>)['1'] as string, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(data),
    });
    assert.equal(put.status, 200);
    const done = await post(urls.completeUrl as string, {
      uploadId,
      key,
      parts: [{ partNumber: 1, etag: put.headers.get('etag') }],
    });
    return { hash, receipt: done.receipt };
  }

  test('a blob uploaded but never registered is deleted from BSS; a registered one stays and downloads', async () => {
    // Both services on the real time: BSS stamps what it publishes with it.
    h.clock.now = Date.now();
    const alice = await h.user('alice');
    const orphanData = randomBytes(3000);
    const keptData = randomBytes(2000);
    const orphan = await upload(alice.token, alice.name, orphanData);
    const kept = await upload(alice.token, alice.name, keptData);
    const reg = await h.call('POST', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token, {
      name: 'kept.bin',
      hash: kept.hash,
      type: 'files',
      receipt: kept.receipt,
    });
    assert.equal(reg.statusCode, 201, reg.body);

    const client = createBssClient(h.config, () => h.clock.now);
    const collect = () => collectBlobs({ db: h.db, bss: client, config: h.config, clock: () => h.clock.now });
    const stat = (hash: string) => client.stat({ owner: alice.name, project: 'robotics', hash });
    assert.deepEqual(await collect(), { deleted: 0, finished: true }, 'nothing is collected within the grace period');
    assert.equal((await stat(orphan.hash))?.size, orphanData.length);

    const later = (TTL + GRACE + 60) * 1000;
    h.clock.now += later;
    bssClock.offset += later / 1000;
    assert.deepEqual(await collect(), { deleted: 1, finished: true });
    assert.equal(await stat(orphan.hash), null, 'BSS no longer holds the unregistered blob');
    assert.equal((await stat(kept.hash))?.size, keptData.length);

    // The receipt of the collected blob expired long ago: registering it now is refused.
    const late = await h.call('POST', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token, {
      name: 'late.bin',
      hash: orphan.hash,
      type: 'files',
      receipt: orphan.receipt,
    });
    assert.equal(late.statusCode, 403, late.body);
    assert.equal(late.json().error.code, 'expired_signature');

    const download = await h.call(
      'GET',
      `/namespaces/${alice.name}/spaces/robotics/files/download?name=kept.bin`,
      alice.token,
    );
    assert.equal(download.statusCode, 200, download.body);
    const bytes = Buffer.from(await (await fetch(download.json().url)).arrayBuffer());
    assert.ok(bytes.equals(keptData), 'the registered blob still downloads whole');
  });
});
