import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectBlobs } from '../src/gc/blob-gc.ts';
import { dropOldSnapshots } from '../src/gc/retention.ts';
import { loadServerConfig } from '../src/index.ts';
import { committer, uniqueHash } from './helpers/commits.ts';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const QUOTA = 10_000;

test('SNAPSHOT_RETENTION_DAYS is unset by default (every snapshot kept); DRAFT_TTL_SECONDS defaults to a day', () => {
  const secrets = {
    PRESIGN_SECRETS: 'p'.repeat(32),
    JWT_SECRET: 'j'.repeat(32),
    SNAPSHOT_SIGNING_KEYS: 'k'.repeat(43),
  };
  const config = loadServerConfig(secrets);
  assert.equal(config.snapshotRetentionDays, null);
  assert.equal(config.draftTtlSeconds, 86_400);
  const set = loadServerConfig({ ...secrets, SNAPSHOT_RETENTION_DAYS: '30', DRAFT_TTL_SECONDS: '3600' });
  assert.equal(set.snapshotRetentionDays, 30);
  assert.equal(set.draftTtlSeconds, 3600);
  assert.throws(() => loadServerConfig({ ...secrets, SNAPSHOT_RETENTION_DAYS: '0' }), /SNAPSHOT_RETENTION_DAYS/);
});

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({
    presignTtlSeconds: 3600,
    blobGcGraceSeconds: 7200,
    namespaceQuotaBytes: QUOTA,
    // Logins outlive the days these tests move the clock by.
    jwtTtlSeconds: 30 * 24 * 3600,
  }));
  const hashOf = (text: string) => uniqueHash(`${engine}-${text}`);

  /** BSS as the collection sees it: the blobs it holds, and every delete asked. */
  function recordingBss() {
    const blobs = new Set<string>();
    return {
      blobs,
      async deleteBlob(blob: { owner: string; project: string; hash: string }) {
        return blobs.delete(blob.hash) ? ('deleted' as const) : ('absent' as const);
      },
    };
  }

  test('the collection never deletes a blob a kept old snapshot names, and deletes one only dropped snapshots named', async () => {
    const alice = await h.user('alice');
    const c = committer(h, alice.name, alice.token);
    const bss = recordingBss();
    const collect = (days: number) =>
      collectBlobs({ db: h.db, bss, config: { ...h.config, snapshotRetentionDays: days }, clock: () => h.clock.now });
    // 40 blobs per role, each granted (so the walk over grants looks at it too) and stored.
    const blobs = (role: string) => Array.from({ length: 40 }, (_, i) => hashOf(`${role}${i}`));
    const [a, b, cc, d] = [blobs('a'), blobs('b'), blobs('c'), blobs('d')];
    for (const hash of [...a, ...b, ...cc, ...d]) {
      const grant = await h.call('POST', '/uploads/init', alice.token, {
        namespace: alice.name,
        space: 'robotics',
        filename: 'f.bin',
        hash,
        contentType: 'application/octet-stream',
        type: 'files',
        size: 10,
      });
      assert.equal(grant.statusCode, 200, grant.body);
      h.bss.put(alice.name, 'robotics', hash, 10);
      bss.blobs.add(hash);
    }
    const named = (folder: string, hashes: string[]) =>
      hashes.map((hash, i) => ({ name: `${folder}/${i}.bin`, hash, type: 'files' }));
    const t0 = h.clock.now;
    try {
      // v1: x/ -> a, y/ -> b. v2 (a day later): x/ -> c. v3 (five days later): y/ -> d.
      assert.equal((await c.commit({ puts: [...named('x', a), ...named('y', b)] })).statusCode, 201);
      h.clock.now = t0 + DAY;
      assert.equal((await c.commit({ puts: named('x', cc) })).statusCode, 201);
      h.clock.now = t0 + 5 * DAY;
      assert.equal((await c.commit({ puts: named('y', d) })).statusCode, 201);

      // A week's retention keeps them all: the grants aged, yet nothing goes.
      h.clock.now = t0 + 5 * DAY + HOUR;
      await collect(7);
      assert.equal(bss.blobs.size, 160);

      // Seven and a half days on: v1 is dropped; v2 (a day younger) is kept, and names b.
      h.clock.now = t0 + 7 * DAY + 12 * HOUR;
      await collect(7);
      for (const hash of a) assert.ok(!bss.blobs.has(hash), 'a blob only the dropped v1 named is deleted');
      for (const hash of [...b, ...cc, ...d]) assert.ok(bss.blobs.has(hash), 'a blob a kept snapshot names stays');
      const dropped = await c.commit({});
      assert.equal(dropped.json().snapshot.version, 3);
      const gone = await h.call('POST', `${c.base}/restore`, alice.token, { version: 1 });
      assert.equal(gone.statusCode, 404, 'a dropped version cannot be restored');
      assert.equal(gone.json().error.dropped, true);
      const rows = await h.db
        .selectFrom('snapshots')
        .innerJoin('spaces', 'spaces.id', 'snapshots.space_id')
        .innerJoin('namespaces', 'namespaces.id', 'spaces.namespace_id')
        .select(['snapshots.version', 'snapshots.dropped_at'])
        .where('namespaces.name', '=', alice.name)
        .orderBy('snapshots.version')
        .execute();
      assert.deepEqual(
        rows.map((r) => [Number(r.version), r.dropped_at !== null]),
        [
          [1, true],
          [2, false],
          [3, false],
        ],
      );

      // v2 restored as v4 (b is head's again); then a week after v3, v2 and v3 are dropped: d goes, b stays.
      const restored = await h.call('POST', `${c.base}/restore`, alice.token, { version: 2 });
      assert.equal(restored.statusCode, 201, restored.body);
      assert.equal(restored.json().snapshot.version, 4);
      h.clock.now = t0 + 13 * DAY;
      await collect(7);
      for (const hash of d) assert.ok(!bss.blobs.has(hash), 'a blob only dropped snapshots named is deleted');
      for (const hash of [...b, ...cc]) assert.ok(bss.blobs.has(hash), 'a blob head names stays');
      const listed = (await h.call('GET', `${c.base}/files?limit=1000`, alice.token)).json().files;
      assert.deepEqual(
        listed.map((f: { name: string; hash: string }) => [f.name, f.hash]).sort(),
        [...named('x', cc), ...named('y', b)].map((f) => [f.name, f.hash]).sort(),
      );
    } finally {
      h.clock.now = t0;
    }
  });

  test('a blob an older snapshot names counts against the quota until the retention drops that snapshot', async () => {
    const bob = await h.user('bob');
    const c = committer(h, bob.name, bob.token);
    const [big, small] = [hashOf('big'), hashOf('small')];
    h.bss.put(bob.name, 'robotics', big, 6_000);
    h.bss.put(bob.name, 'robotics', small, 3_000);
    const init = (size: number) =>
      h.call('POST', '/uploads/init', bob.token, {
        namespace: bob.name,
        space: 'incoming',
        filename: 'n.bin',
        hash: hashOf('n'),
        contentType: 'application/octet-stream',
        type: 'files',
        size,
      });
    const t0 = h.clock.now;
    try {
      assert.equal((await c.commit({ puts: [{ name: 'f.bin', hash: big, type: 'files' }] })).statusCode, 201);
      assert.equal((await c.commit({ puts: [{ name: 'f.bin', hash: small, type: 'files' }] })).statusCode, 201);
      const over = await init(1_001);
      assert.equal(over.statusCode, 413);
      assert.equal(over.json().error.usedBytes, 9_000, 'v1 still names the big blob');
      // Restoring v1 takes no new bytes.
      const restored = await h.call('POST', `${c.base}/restore`, bob.token, { version: 1 });
      assert.equal(restored.statusCode, 201, restored.body);
      h.clock.now = t0 + 2 * DAY;
      await collectBlobs({
        db: h.db,
        bss: recordingBss(),
        config: { ...h.config, snapshotRetentionDays: 1 },
        clock: () => h.clock.now,
      });
      const after = await init(4_001);
      assert.equal(after.statusCode, 413);
      assert.equal(after.json().error.usedBytes, 6_000, 'only head names a blob now');
      assert.equal((await init(4_000)).statusCode, 200);
    } finally {
      h.clock.now = t0;
    }
  });

  test('a commit, a draft or a restore made against a version the retention dropped is 409: what changed since it is no longer known', async () => {
    const carol = await h.user('carol');
    const c = committer(h, carol.name, carol.token);
    const names = Array.from({ length: 200 }, (_, i) => `a/${i}.bin`);
    const t0 = h.clock.now;
    try {
      // v1: a/0..199. v2: a/0..99 deleted. Both a week old by the time v3 lands.
      assert.equal((await c.commit({ puts: names.map((n) => c.put(n, hashOf(`v1${n}`))) })).statusCode, 201);
      assert.equal((await c.commit({ parent: 1, deletes: names.slice(0, 100) })).statusCode, 201);
      h.clock.now = t0 + 7 * DAY;
      // Someone still working from version 1 puts a/0..99 back in a draft.
      const draft = await c.openDraft({ parent: 1 });
      const stale = names.slice(0, 100).map((n) => c.put(n, hashOf(`stale${n}`)));
      assert.equal((await c.add(draft, { puts: stale })).statusCode, 200);
      assert.equal((await c.commit({ puts: [c.put('b/new.bin', hashOf('b'))] })).statusCode, 201);
      const clash = await c.commit({ parent: 1, puts: [c.put('a/7.bin', hashOf('again'))] });
      assert.equal(clash.statusCode, 409, 'the delete of a/7.bin since version 1 is a clash');
      assert.deepEqual(clash.json().error.names, ['a/7.bin']);

      // Five days' retention drops v1 and v2, and with them the record of the deletes made in v2.
      await dropOldSnapshots(h.db, 5, h.clock.now);
      assert.equal((await h.call('GET', `${c.base}/files?version=2`, carol.token)).statusCode, 404);
      for (const parent of [1, 2, 0]) {
        const res = await c.commit({ parent, puts: [c.put('a/7.bin', hashOf(`again${parent}`))] });
        assert.equal(res.statusCode, 409, `a commit against ${parent}: ${res.body}`);
        const { code, names: listed, head, dropped } = res.json().error;
        assert.deepEqual({ code, listed, head, dropped }, { code: 'conflict', listed: [], head: 3, dropped: true });
      }
      const viaDraft = await c.commitDraft(draft);
      assert.equal(viaDraft.statusCode, 409, viaDraft.body);
      assert.equal(viaDraft.json().error.dropped, true);
      // A restore of the kept v3 made against the dropped v1 (it would remove c/, written since).
      assert.equal((await c.commit({ puts: [c.put('c/new.bin', hashOf('c'))] })).statusCode, 201);
      const restore = await h.call('POST', `${c.base}/restore`, carol.token, { version: 3, parent: 1 });
      assert.equal(restore.statusCode, 409, restore.body);
      assert.equal(restore.json().error.dropped, true);
      assert.equal(await c.head(), 4, 'nothing was committed');
      assert.deepEqual(
        (await c.names()).sort(),
        [...names.slice(100), 'b/new.bin', 'c/new.bin'].sort(),
        'the deletes of v2 stand',
      );

      // Against a kept version the same changes are judged as ever.
      const onKept = await c.commit({ parent: 3, puts: [c.put('a/7.bin', hashOf('kept'))] });
      assert.equal(onKept.statusCode, 201, onKept.body);
      const restored = await h.call('POST', `${c.base}/restore`, carol.token, { version: 3, parent: 5 });
      assert.equal(restored.statusCode, 201, restored.body);
    } finally {
      h.clock.now = t0;
    }
  });
});
