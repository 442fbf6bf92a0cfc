import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signReceipt } from '@dreamlake/presign';
import { collectBlobs } from '../src/gc/blob-gc.ts';
import { forEachEngine } from './helpers/engines.ts';
import { PRESIGN_SECRET, sha256, useHarness } from './helpers/harness.ts';

const HOUR = 3600_000;
const TTL = 3600;
const GRACE = 7200;

type Blob = { owner: string; project: string; hash: string };

/**
 * Runs `during` once, right after BSS answered a `stat` of `hash` and before the server reads the
 * answer: what the collection does there lands between the proof and the index write.
 */
async function afterStatOf<T>(hash: string, during: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
  const real = globalThis.fetch;
  let ran = false;
  globalThis.fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    const res = await real(url, init);
    if (!ran && String(url).includes('/blobs/stat') && String(url).includes(hash)) {
      ran = true;
      await during();
    }
    return res;
  }) as typeof fetch;
  try {
    return await fn();
  } finally {
    globalThis.fetch = real;
  }
}

forEachEngine((engine) => {
  // Logins outlive the days the retention test moves the clock by.
  const h = useHarness(engine, () => ({
    presignTtlSeconds: TTL,
    blobGcGraceSeconds: GRACE,
    jwtTtlSeconds: 7 * 24 * 3600,
  }));
  const hashOf = (text: string) => sha256(`${engine}-${text}-${Math.random()}`);
  /** BSS as the collection sees it: a delete takes the blob out of the fake BSS the server stats. */
  const bss = {
    deleted: new Set<string>(),
    async deleteBlob(blob: Blob) {
      const key = `${blob.owner}/${blob.project}/${blob.hash}`;
      this.deleted.add(key);
      return h.bss.blobs.delete(key) ? ('deleted' as const) : ('absent' as const);
    },
  };
  const collect = (snapshotRetentionDays: number | null = null) =>
    collectBlobs({ db: h.db, bss, config: { ...h.config, snapshotRetentionDays }, clock: () => h.clock.now });
  const upload = async (token: string, ns: string, hash: string) => {
    const res = await h.call('POST', '/uploads/init', token, {
      namespace: ns,
      space: 'robotics',
      filename: 'x.bin',
      hash,
      contentType: 'application/octet-stream',
      type: 'files',
      size: 100,
    });
    assert.equal(res.statusCode, 200, res.body);
    h.bss.put(ns, 'robotics', hash, 100);
  };
  const register = (token: string, ns: string, name: string, hash: string, receipt?: object) =>
    h.call('POST', `/namespaces/${ns}/spaces/robotics/files`, token, { name, hash, type: 'files', receipt });
  const listed = async (token: string, ns: string) =>
    Object.fromEntries(
      (await h.call('GET', `/namespaces/${ns}/spaces/robotics/files`, token))
        .json()
        .files.map((f: { name: string; hash: string }) => [f.name, f.hash]),
    );

  /** Opens a draft naming `hash`, then drops it: the blob is a candidate, named by nothing else. */
  const draftDropped = async (token: string, ns: string, name: string, hash: string, receipt?: object) => {
    const path = `/namespaces/${ns}/spaces/robotics/drafts`;
    const draft = await h.call('POST', path, token, {});
    assert.equal(draft.statusCode, 201, draft.body);
    const { id } = draft.json();
    const added = await h.call('POST', `${path}/${id}/entries`, token, {
      puts: [{ name, hash, type: 'files', receipt }],
    });
    assert.equal(added.statusCode, 200, added.body);
    assert.equal((await h.call('DELETE', `${path}/${id}`, token)).statusCode, 204);
  };

  /** A user whose draft named `gone` (granted long ago) and was dropped, and whose a.bin points at `kept`: `gone` is a candidate. */
  async function candidate(base: string) {
    const u = await h.user(base);
    const [gone, kept] = [hashOf('gone'), hashOf('kept')];
    await upload(u.token, u.name, gone);
    await draftDropped(u.token, u.name, 'a.bin', gone);
    h.clock.now += 3 * HOUR + 60_000;
    await upload(u.token, u.name, kept);
    assert.equal((await register(u.token, u.name, 'a.bin', kept)).statusCode, 201);
    return { ...u, gone, kept, key: `${u.name}/robotics/${gone}` };
  }

  test('a name proven by a stat is refused when the collection deletes its blob between the stat and the write', async () => {
    const u = await candidate('dave');
    const res = await afterStatOf(
      u.gone,
      async () => {
        assert.equal((await collect()).deleted, 1);
      },
      () => register(u.token, u.name, 'b.bin', u.gone),
    );
    assert.ok(bss.deleted.has(u.key), 'the collection ran between the stat and the write');
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().error.code, 'storage_unavailable');
    assert.deepEqual(await listed(u.token, u.name), { 'a.bin': u.kept }, 'no name points at the deleted blob');
    // Asked again, BSS says the blob is gone: the client uploads it again, which a fresh grant allows.
    h.clock.now += 5_000;
    const again = await register(u.token, u.name, 'b.bin', u.gone);
    assert.equal(again.statusCode, 404, again.body);
    await upload(u.token, u.name, u.gone);
    assert.equal((await register(u.token, u.name, 'b.bin', u.gone)).statusCode, 201);
  });

  test('a batch entry whose hash the index held when read is refused when the blob is collected before the write', async () => {
    const u = await h.user('erin');
    const [shared, fresh, other] = [hashOf('shared'), hashOf('fresh'), hashOf('other')];
    await upload(u.token, u.name, shared);
    assert.equal((await register(u.token, u.name, 'a.bin', shared)).statusCode, 201);
    h.clock.now += 48 * HOUR;
    await upload(u.token, u.name, fresh);
    await upload(u.token, u.name, other);
    // The batch reads that `shared` is indexed (a.bin), then stats `fresh`; meanwhile a.bin moves
    // to `other`, a one-day retention drops the two-day-old snapshot that named `shared`, and the
    // collection deletes it.
    const res = await afterStatOf(
      fresh,
      async () => {
        assert.equal((await register(u.token, u.name, 'a.bin', other)).statusCode, 201);
        assert.equal((await collect(1)).deleted, 1);
      },
      () =>
        h.call('POST', `/namespaces/${u.name}/spaces/robotics/files/batch`, u.token, {
          files: [
            { name: 'b.bin', hash: shared, type: 'files' },
            { name: 'c.bin', hash: fresh, type: 'files' },
          ],
        }),
    );
    assert.ok(bss.deleted.has(`${u.name}/robotics/${shared}`), 'the collection ran between the read and the write');
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().error.code, 'storage_unavailable');
    assert.deepEqual(await listed(u.token, u.name), { 'a.bin': other });
  });

  test('a delete that failed after it may have reached BSS still refuses a name proven before it', async () => {
    const u = await candidate('gus');
    // BSS removed the blob, but its answer never came back (a timeout).
    const lost = {
      async deleteBlob(blob: Blob) {
        h.bss.blobs.delete(`${blob.owner}/${blob.project}/${blob.hash}`);
        throw new Error('storage unavailable: timed out');
      },
    };
    const res = await afterStatOf(
      u.gone,
      async () => {
        await assert.rejects(collectBlobs({ db: h.db, bss: lost, config: h.config, clock: () => h.clock.now }));
      },
      () => register(u.token, u.name, 'b.bin', u.gone),
    );
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().error.code, 'storage_unavailable');
    assert.deepEqual(await listed(u.token, u.name), { 'a.bin': u.kept });
  });

  test('a blob only a dropped draft named while a receipt for it is still valid is kept until that receipt expired', async () => {
    const u = await h.user('fay');
    const [blob, other] = [hashOf('receipted'), hashOf('other')];
    const key = `${u.name}/robotics/${blob}`;
    const t0 = h.clock.now;
    try {
      await upload(u.token, u.name, blob);
      await upload(u.token, u.name, other);
      // Uploaded at the last moment of its URLs: its receipt is valid until t0 + 2 × TTL.
      h.clock.now = t0 + TTL * 1000 - 1000;
      const receipt = signReceipt(
        [PRESIGN_SECRET],
        { owner: u.name, project: 'robotics', hash: blob, size: 100, contentType: 'application/octet-stream' },
        Math.floor(h.clock.now / 1000),
        TTL,
      );
      await draftDropped(u.token, u.name, 'a.bin', blob, receipt);
      h.clock.now = t0 + 2 * TTL * 1000 - 2000;
      await collect();
      assert.ok(!bss.deleted.has(key), 'kept while its receipt may still be shown');
      await draftDropped(u.token, u.name, 'b.bin', blob, receipt);
      h.clock.now = t0 + 3 * TTL * 1000 + 1000;
      await collect();
      assert.ok(bss.deleted.has(key), 'collected once no receipt can name it');
    } finally {
      h.clock.now = t0;
    }
  });
});
