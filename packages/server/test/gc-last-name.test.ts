import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectBlobs } from '../src/gc/blob-gc.ts';
import { forEachEngine } from './helpers/engines.ts';
import { sha256, useHarness } from './helpers/harness.ts';

const HOUR = 3600_000;
const TTL = 3600;
const GRACE = 7200;

type Blob = { owner: string; project: string; hash: string };

/** BSS as the collection sees it; `during` runs while a delete is on its way, before BSS acts on it. */
function recordingBss() {
  const blobs = new Set<string>();
  const asked: string[] = [];
  let during: ((key: string) => Promise<void>) | null = null;
  return {
    blobs,
    asked,
    whileDeleting(hook: ((key: string) => Promise<void>) | null) {
      during = hook;
    },
    async deleteBlob(blob: Blob) {
      const key = `${blob.owner}/${blob.project}/${blob.hash}`;
      asked.push(key);
      if (during) await during(key);
      return blobs.delete(key) ? ('deleted' as const) : ('absent' as const);
    },
  };
}

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({ presignTtlSeconds: TTL, blobGcGraceSeconds: GRACE }));
  const hashOf = (text: string) => sha256(`${engine}-${text}-${Math.random()}`);
  const grant = (token: string, namespace: string, hash: string) =>
    h.call('POST', '/uploads/init', token, {
      namespace,
      space: 'robotics',
      filename: `${hash.slice(0, 8)}.bin`,
      hash,
      contentType: 'application/octet-stream',
      type: 'files',
      size: 100,
    });
  const upload = async (token: string, namespace: string, hash: string) => {
    const res = await grant(token, namespace, hash);
    assert.equal(res.statusCode, 200, res.body);
    h.bss.put(namespace, 'robotics', hash, 100);
  };
  const register = async (token: string, namespace: string, name: string, hash: string) => {
    const res = await h.call('POST', `/namespaces/${namespace}/spaces/robotics/files`, token, {
      name,
      hash,
      type: 'files',
    });
    assert.equal(res.statusCode, 201, res.body);
  };

  /** Opens a draft naming `hash`, then drops it: the blob is a candidate, named by nothing else. */
  const draftDropped = async (token: string, namespace: string, name: string, hash: string) => {
    const path = `/namespaces/${namespace}/spaces/robotics/drafts`;
    const draft = await h.call('POST', path, token, {});
    assert.equal(draft.statusCode, 201, draft.body);
    const { id } = draft.json();
    const added = await h.call('POST', `${path}/${id}/entries`, token, { puts: [{ name, hash, type: 'files' }] });
    assert.equal(added.statusCode, 200, added.body);
    assert.equal((await h.call('DELETE', `${path}/${id}`, token)).statusCode, 204);
  };

  test('a blob is collected once no kept snapshot names it, even after its grants were looked at', async () => {
    const bss = recordingBss();
    const collect = (snapshotRetentionDays: number | null = null) =>
      collectBlobs({ db: h.db, bss, config: { ...h.config, snapshotRetentionDays }, clock: () => h.clock.now });
    const alice = await h.user('alice');
    const [old, shared, next] = ['old', 'shared', 'next'].map(hashOf) as [string, string, string];
    const key = (hash: string) => `${alice.name}/robotics/${hash}`;
    for (const hash of [old, shared, next]) {
      await upload(alice.token, alice.name, hash);
      bss.blobs.add(key(hash));
    }
    await register(alice.token, alice.name, 'a.bin', old);
    await register(alice.token, alice.name, 'b.bin', shared);
    await register(alice.token, alice.name, 'c.bin', shared);
    await register(alice.token, alice.name, 'd.bin', next);

    // Every grant is looked at while its blob is indexed: nothing goes.
    h.clock.now += 3 * HOUR + 60_000;
    assert.equal((await collect()).deleted, 0);

    // The names move on; the snapshots before still name `old` and `shared`: nothing goes.
    await register(alice.token, alice.name, 'a.bin', next);
    await register(alice.token, alice.name, 'b.bin', next);
    assert.equal((await collect()).deleted, 0);
    // Two days on, a one-day retention drops every snapshot but head: `old` goes.
    h.clock.now += 48 * HOUR;
    assert.equal((await collect(1)).deleted, 1);
    assert.deepEqual(bss.asked, [key(old)], 'c.bin still points at the shared blob');
    assert.deepEqual([...bss.blobs].sort(), [key(shared), key(next)].sort());
    // The index still serves what is left (to a fresh login: two days outlived the first).
    const login = await h.call('POST', '/auth/login', undefined, {
      username: alice.name,
      password: 'correct horse battery',
    });
    assert.equal(login.statusCode, 200, login.body);
    const listed = await h.call('GET', `/namespaces/${alice.name}/spaces/robotics/files`, login.json().token);
    assert.deepEqual(
      listed
        .json()
        .files.map((f: { name: string; hash: string }) => [f.name, f.hash])
        .sort(),
      [
        ['a.bin', next],
        ['b.bin', next],
        ['c.bin', shared],
        ['d.bin', next],
      ],
    );
  });

  test('a blob only a dropped draft named, while its grant is still young, waits for that grant to age', async () => {
    const bss = recordingBss();
    const collect = () => collectBlobs({ db: h.db, bss, config: h.config, clock: () => h.clock.now });
    const bob = await h.user('bob');
    const young = hashOf('young');
    const key = (hash: string) => `${bob.name}/robotics/${hash}`;
    const t0 = h.clock.now;
    await upload(bob.token, bob.name, young);
    bss.blobs.add(key(young));
    await draftDropped(bob.token, bob.name, 'x.bin', young);
    // A receipt for `young` may still be valid: it stays until its grant's URLs expired the grace period ago.
    h.clock.now = t0 + HOUR;
    await collect();
    assert.ok(bss.blobs.has(key(young)));
    h.clock.now = t0 + 3 * HOUR + 60_000;
    await collect();
    assert.ok(!bss.blobs.has(key(young)), 'collected once its grant has aged');
  });

  test('a grant made while the collection deletes its blob is never answered with URLs to a blob about to go', async () => {
    const bss = recordingBss();
    const collect = () => collectBlobs({ db: h.db, bss, config: h.config, clock: () => h.clock.now });
    const carol = await h.user('carol');
    const blob = hashOf('raced');
    const key = `${carol.name}/robotics/${blob}`;
    const res = await grant(carol.token, carol.name, blob);
    assert.equal(res.statusCode, 200, res.body);
    bss.blobs.add(key);
    h.clock.now += 3 * HOUR + 60_000;

    // The user asks again for the same blob while the collection's delete is on its way to BSS: had
    // the grant been answered, the upload would complete onto the existing blob and its fresh receipt
    // would vouch for a blob BSS then deletes.
    let raced: { statusCode: number; body: string } | undefined;
    bss.whileDeleting(async (deleting) => {
      if (deleting !== key) return;
      raced = await grant(carol.token, carol.name, blob);
    });
    await collect();
    bss.whileDeleting(null);
    assert.ok(raced, 'the grant ran during the delete');
    const deleted = !bss.blobs.has(key);
    assert.ok(
      !(raced.statusCode === 200 && deleted),
      `a grant answered 200 while its blob was deleted (${raced.statusCode} ${raced.body})`,
    );
    if (raced.statusCode !== 200) {
      assert.equal(raced.statusCode, 503, raced.body);
      assert.equal(JSON.parse(raced.body).error.code, 'storage_unavailable');
    }

    // Once the collection is done, asking again is granted, and the fresh grant keeps the blob.
    const again = await grant(carol.token, carol.name, blob);
    assert.equal(again.statusCode, 200, again.body);
    bss.blobs.add(key);
    const asked = bss.asked.length;
    await collect();
    assert.equal(bss.asked.length, asked, 'a blob with a live grant is not asked for');
    assert.ok(bss.blobs.has(key));
  });

  test('a name registered while the collection deletes its blob is refused rather than left pointing at nothing', async () => {
    const bss = recordingBss();
    const collect = () => collectBlobs({ db: h.db, bss, config: h.config, clock: () => h.clock.now });
    const dave = await h.user('dave');
    const blob = hashOf('registered late');
    const key = `${dave.name}/robotics/${blob}`;
    await upload(dave.token, dave.name, blob);
    bss.blobs.add(key);
    h.clock.now += 3 * HOUR + 60_000;

    let raced: { statusCode: number; body: string } | undefined;
    bss.whileDeleting(async (deleting) => {
      if (deleting !== key) return;
      raced = await h.call('POST', `/namespaces/${dave.name}/spaces/robotics/files`, dave.token, {
        name: 'late.bin',
        hash: blob,
        type: 'files',
      });
    });
    await collect();
    bss.whileDeleting(null);
    assert.ok(raced, 'the registration ran during the delete');
    assert.ok(
      !(raced.statusCode === 201 && !bss.blobs.has(key)),
      `a name was registered for a blob the collection deleted (${raced.body})`,
    );
    assert.equal(raced.statusCode, 503, raced.body);
    assert.equal(JSON.parse(raced.body).error.code, 'storage_unavailable');
  });
});
