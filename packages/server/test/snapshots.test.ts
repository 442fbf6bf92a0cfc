import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { SnapshotView } from '@dreamlake/protocol';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';
import { allPages, blobs, commit, type Expected, type Owner } from './helpers/versions.ts';

const pad = (i: number) => String(i).padStart(4, '0');

forEachEngine((engine) => {
  const h = useHarness(engine);
  const space = 'log';
  let owner: Owner;
  let reader: Owner;
  let a: Expected[];
  const made: SnapshotView[] = [];
  const url = (rest = '') => `/namespaces/${owner.name}/spaces/${space}/snapshots${rest}`;

  before(async () => {
    owner = await h.user('logger');
    reader = await h.user('reader');
    const org = `log-org-${engine}`;
    assert.equal((await h.call('POST', '/orgs', owner.token, { name: org })).statusCode, 201);
    owner = { name: org, token: owner.token };
    const member = await h.call('PUT', `/orgs/${org}/members/${reader.name}`, owner.token, { role: 'reader' });
    assert.equal(member.statusCode, 200, member.body);
    a = blobs(h, owner, space, 'a', 300);
    // Seven snapshots: 300 files, then 40 more each time, one of them removing ten.
    made.push(
      await commit(h, owner, space, {
        message: 'first',
        puts: a.slice(0, 300).map((blob, i) => ({ name: `f${pad(i)}`, hash: blob.hash, type: 'files' })),
      }),
    );
    for (let v = 2; v <= 7; v++) {
      h.clock.now += 60_000;
      const puts = Array.from({ length: 40 }, (_, k) => ({
        name: `v${v}/g${pad(k)}`,
        hash: a[(v * 40 + k) % 300]!.hash,
        type: 'files',
      }));
      const deletes = v === 5 ? Array.from({ length: 10 }, (_, k) => `f${pad(k)}`) : undefined;
      made.push(await commit(h, owner, space, { message: `step ${v}`, puts, ...(deletes ? { deletes } : {}) }));
    }
  });

  test('the snapshots come newest first, a page at a time, each once, as they were committed', async () => {
    const pages = await allPages<SnapshotView>(h, reader.token, url(), { limit: '3' }, 'snapshots');
    assert.deepEqual(
      pages.map((p) => p.map((s) => s.version)),
      [[7, 6, 5], [4, 3, 2], [1]],
    );
    const listed = pages.flat();
    assert.deepEqual(
      listed.map(({ manifestHash: _, ...s }) => s),
      [...made].reverse().map(({ manifestHash: _, ...s }) => s),
    );
    const fifth = listed.find((s) => s.version === 5)!;
    assert.deepEqual(fifth.counts, { added: 40, changed: 0, removed: 10 });
    assert.equal(fifth.files, 300 + 4 * 40 - 10);
    assert.equal(fifth.parent, 4);
    assert.equal(fifth.message, 'step 5');
    assert.equal(listed.at(-1)!.parent, null);
    assert.ok(listed.every((s) => s.author === made[0]!.author && s.namespace === owner.name && s.space === space));
    const whole = await h.call('GET', url(), reader.token);
    assert.equal(whole.json().snapshots.length, 7);
    assert.equal(whole.json().next, undefined);
  });

  test('a snapshot is answered with its manifestHash, computed on the first read and kept', async () => {
    // As a snapshot the migration made, or one too large to hash while committing: none stored yet.
    const committed = made[2]!.manifestHash;
    await h.db.updateTable('snapshots').set({ manifest_hash: null }).where('version', '=', 3).execute();
    const first = await h.call('GET', url('/3'), reader.token);
    assert.equal(first.statusCode, 200, first.body);
    const { snapshot, receipt } = first.json();
    assert.match(snapshot.manifestHash, /^[0-9a-f]{64}$/);
    assert.equal(JSON.parse(receipt.signed).manifestHash, snapshot.manifestHash);
    const stored = await h.db
      .selectFrom('snapshots')
      .select('manifest_hash')
      .where('version', '=', 3)
      .executeTakeFirstOrThrow();
    assert.equal(stored.manifest_hash, snapshot.manifestHash);
    assert.equal(snapshot.manifestHash, committed, 'the same as computed when committed');
    const again = await h.call('GET', url('/3'), reader.token);
    assert.equal(again.json().snapshot.manifestHash, snapshot.manifestHash);
    const other = await h.call('GET', url('/4'), reader.token);
    assert.notEqual(other.json().snapshot.manifestHash, snapshot.manifestHash);
    const listed = await h.call('GET', url('?limit=10'), reader.token);
    const third = (listed.json().snapshots as SnapshotView[]).find((s) => s.version === 3)!;
    assert.equal(third.manifestHash, snapshot.manifestHash, 'the list shows it once computed');
  });

  test("a commit's answer carries the manifestHash up to 10,000 files; past that the first read computes it", async () => {
    for (const snapshot of made) {
      const read = await h.call('GET', url(`/${snapshot.version}`), reader.token);
      assert.match(snapshot.manifestHash ?? '', /^[0-9a-f]{64}$/, `version ${snapshot.version}`);
      assert.equal(read.json().snapshot.manifestHash, snapshot.manifestHash);
    }
    const big = 'big';
    const many = blobs(h, owner, big, 'many', 1000);
    let last: SnapshotView | undefined;
    for (let round = 0; round < 10; round++) {
      const puts = many.map((blob, i) => ({ name: `r${round}/${pad(i)}`, hash: blob.hash, type: 'files' }));
      last = await commit(h, owner, big, { puts });
    }
    assert.equal(last?.files, 10_000);
    assert.match(last?.manifestHash ?? '', /^[0-9a-f]{64}$/);
    const over = await commit(h, owner, big, { puts: [{ name: 'one-more', hash: many[0]!.hash, type: 'files' }] });
    assert.equal(over.files, 10_001);
    assert.equal(over.manifestHash, undefined, 'not hashed while committing');
    const read = await h.call('GET', `/namespaces/${owner.name}/spaces/${big}/snapshots/${over.version}`, reader.token);
    assert.equal(read.statusCode, 200, read.body);
    assert.match(read.json().snapshot.manifestHash, /^[0-9a-f]{64}$/);
  });

  test('an unknown version is 404, a malformed one 400, and outsiders learn nothing', async () => {
    for (const version of ['8', '0', '2147483647']) {
      const res = await h.call('GET', url(`/${version}`), reader.token);
      assert.equal(res.statusCode, 404, `${version}: ${res.body}`);
      assert.equal(res.json().error.code, 'not_found');
    }
    for (const bad of ['x', '-1', '1.5', '2147483648', '01', '1e0', '+1', '%20']) {
      assert.equal((await h.call('GET', url(`/${bad}`), reader.token)).statusCode, 400, bad);
    }
    assert.equal((await h.call('GET', url('?cursor=abc'), reader.token)).statusCode, 400);
    const stranger = await h.user('stranger');
    assert.equal((await h.call('GET', url(), stranger.token)).statusCode, 404);
    assert.equal((await h.call('GET', url('/1'), stranger.token)).statusCode, 404);
    assert.equal((await h.call('GET', url('/1'))).statusCode, 401);
  });

  test('a version the retention dropped answers 404 everywhere and leaves the list', async () => {
    const spaceRow = await h.db
      .selectFrom('spaces')
      .innerJoin('namespaces', 'namespaces.id', 'spaces.namespace_id')
      .select('spaces.id')
      .where('namespaces.name', '=', owner.name)
      .where('spaces.name', '=', space)
      .executeTakeFirstOrThrow();
    await h.db
      .updateTable('snapshots')
      .set({ dropped_at: new Date(h.clock.now).toISOString() })
      .where('space_id', '=', spaceRow.id)
      .where('version', '=', 1)
      .execute();
    const base = `/namespaces/${owner.name}/spaces/${space}`;
    for (const path of [
      url('/1'),
      `${base}/files?version=1`,
      `${base}/diff?from=1&to=2`,
      `${base}/files/download?name=f0200&version=1`,
    ]) {
      const res = await h.call('GET', path, reader.token);
      assert.equal(res.statusCode, 404, `${path}: ${res.body}`);
      assert.equal(res.json().error.code, 'not_found');
    }
    const listed = await h.call('GET', url(), reader.token);
    assert.deepEqual(
      (listed.json().snapshots as SnapshotView[]).map((s) => s.version),
      [7, 6, 5, 4, 3, 2],
    );
  });
});
