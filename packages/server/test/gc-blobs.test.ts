import assert from 'node:assert/strict';
import { test } from 'node:test';
import { presignGuard, registerErrorHandling } from '@dreamlake/service';
import Fastify from 'fastify';
import { createBssClient } from '../src/bss-client.ts';
import { collectBlobs } from '../src/gc/blob-gc.ts';
import { loadServerConfig } from '../src/index.ts';
import { forEachEngine } from './helpers/engines.ts';
import { PRESIGN_SECRET, sha256, useHarness } from './helpers/harness.ts';

const HOUR = 3600_000;
const TTL = 3600;
const GRACE = 7200;

/** BSS as the collection sees it: the blobs it holds, the ones it keeps as too recent, every delete asked. */
function recordingBss() {
  const blobs = new Set<string>();
  const recent = new Set<string>();
  const asked: string[] = [];
  let failing = false;
  return {
    blobs,
    recent,
    asked,
    fail(on: boolean) {
      failing = on;
    },
    async deleteBlob(blob: { owner: string; project: string; hash: string }) {
      if (failing) throw new Error('BSS is down');
      const key = `${blob.owner}/${blob.project}/${blob.hash}`;
      asked.push(key);
      if (recent.has(key)) return 'recent' as const;
      return blobs.delete(key) ? ('deleted' as const) : ('absent' as const);
    },
  };
}

test('BLOB_GC_GRACE_SECONDS defaults to a day and may not be shorter than twice PRESIGN_TTL_SECONDS', () => {
  const secrets = {
    PRESIGN_SECRETS: 'p'.repeat(32),
    JWT_SECRET: 'j'.repeat(32),
    SNAPSHOT_SIGNING_KEYS: 's'.repeat(43),
  };
  const config = loadServerConfig(secrets);
  assert.equal(config.blobGcGraceSeconds, 86_400);
  assert.equal(config.blobGcIntervalSeconds, 3600);
  assert.equal(loadServerConfig({ ...secrets, PRESIGN_TTL_SECONDS: '172800' }).blobGcGraceSeconds, 345_600);
  assert.throws(
    () => loadServerConfig({ ...secrets, PRESIGN_TTL_SECONDS: '3600', BLOB_GC_GRACE_SECONDS: '7199' }),
    /BLOB_GC_GRACE_SECONDS/,
  );
});

test('the BSS client asks DELETE /blobs/delete with a delete signature and reads the three answers', async (t) => {
  const app = Fastify();
  registerErrorHandling(app);
  const seen: string[] = [];
  app.delete(
    '/blobs/delete',
    { onRequest: presignGuard({ action: 'delete', signed: ['owner', 'project', 'hash'], secrets: [PRESIGN_SECRET] }) },
    async (request, reply) => {
      const { hash } = request.presign!.params as { hash: string };
      seen.push(hash);
      if (hash.startsWith('a')) return reply.code(404).send({ error: { code: 'not_found', message: 'x' } });
      if (hash.startsWith('b')) return reply.code(409).send({ error: { code: 'conflict', message: 'x' } });
      return { deleted: true };
    },
  );
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const client = createBssClient({ bssInternalUrl: url, presignSecrets: [PRESIGN_SECRET], presignTtlSeconds: TTL });
  const blob = (hash: string) => ({ owner: 'alice', project: 'robotics', hash });
  assert.equal(await client.deleteBlob(blob('c'.repeat(64))), 'deleted');
  assert.equal(await client.deleteBlob(blob('a'.repeat(64))), 'absent');
  assert.equal(await client.deleteBlob(blob('b'.repeat(64))), 'recent');
  assert.deepEqual(seen, ['c'.repeat(64), 'a'.repeat(64), 'b'.repeat(64)]);
  const wrongSecret = createBssClient({
    bssInternalUrl: url,
    presignSecrets: ['x'.repeat(40)],
    presignTtlSeconds: TTL,
  });
  await assert.rejects(wrongSecret.deleteBlob(blob('c'.repeat(64))), { code: 'storage_unavailable' });
});

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({ presignTtlSeconds: TTL, blobGcGraceSeconds: GRACE }));
  const hashOf = (text: string) => sha256(`${engine}-${text}`);
  const grant = async (token: string, namespace: string, hash: string) => {
    const res = await h.call('POST', '/uploads/init', token, {
      namespace,
      space: 'robotics',
      filename: `${hash.slice(0, 8)}.bin`,
      hash,
      contentType: 'application/octet-stream',
      type: 'files',
      size: 100,
    });
    assert.equal(res.statusCode, 200, res.body);
  };

  test('granted blobs no index entry points at are collected once their grant is older than the URL lifetime plus the grace period', async () => {
    const bss = recordingBss();
    const collect = () => collectBlobs({ db: h.db, bss, config: h.config, clock: () => h.clock.now });
    const alice = await h.user('alice');
    const [orphan, registered, regranted, slow] = ['orphan', 'registered', 'regranted', 'slow'].map(hashOf) as [
      string,
      string,
      string,
      string,
    ];
    const key = (hash: string) => `${alice.name}/robotics/${hash}`;
    for (const hash of [orphan, registered, regranted, slow]) bss.blobs.add(key(hash));

    const t0 = h.clock.now;
    for (const hash of [orphan, registered, regranted]) await grant(alice.token, alice.name, hash);
    h.bss.put(alice.name, 'robotics', registered, 100);
    const reg = await h.call('POST', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token, {
      name: 'kept.bin',
      hash: registered,
      type: 'files',
    });
    assert.equal(reg.statusCode, 201, reg.body);
    h.clock.now = t0 + 2 * HOUR;
    await grant(alice.token, alice.name, regranted);

    // Within the URL lifetime plus the grace period nothing is asked.
    h.clock.now = t0 + 3 * HOUR - 60_000;
    assert.deepEqual(await collect(), { deleted: 0, finished: true });
    assert.deepEqual(bss.asked, []);

    h.clock.now = t0 + 3 * HOUR + 60_000;
    assert.deepEqual(await collect(), { deleted: 1, finished: true });
    assert.deepEqual(bss.asked, [key(orphan)], 'the indexed blob and the one granted again are left alone');
    assert.ok(bss.blobs.has(key(registered)) && bss.blobs.has(key(regranted)));
    // Each grant is looked at once.
    assert.deepEqual(await collect(), { deleted: 0, finished: true });
    assert.deepEqual(bss.asked, [key(orphan)]);

    // The later grant's turn: the blob was never registered, so it goes too.
    h.clock.now = t0 + 5 * HOUR + 60_000;
    assert.deepEqual(await collect(), { deleted: 1, finished: true });
    assert.deepEqual(bss.asked, [key(orphan), key(regranted)]);
    assert.deepEqual([...bss.blobs].sort(), [key(registered), key(slow)].sort());

    // A blob BSS keeps as too recent stops the walk there; it resumes at that blob next time.
    await grant(alice.token, alice.name, slow);
    h.clock.now += 3 * HOUR + 60_000;
    bss.recent.add(key(slow));
    assert.deepEqual(await collect(), { deleted: 0, finished: false });
    bss.fail(true);
    await assert.rejects(collect(), /BSS is down/);
    bss.fail(false);
    bss.recent.clear();
    assert.deepEqual(await collect(), { deleted: 1, finished: true });
    assert.deepEqual([...bss.blobs], [key(registered)]);
    assert.deepEqual(bss.asked.slice(-2), [key(slow), key(slow)]);
  });
});
