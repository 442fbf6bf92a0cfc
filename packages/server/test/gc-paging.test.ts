/**
 * The blob collection at the scale of a busy space: more candidates and more expired grants than
 * one page (500) of each walk, and two servers collecting over the same database at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase } from '../src/db/open.ts';
import { type GrantAuditRow, recordUploadGrants } from '../src/db/upload-grants.ts';
import { collectBlobs } from '../src/gc/blob-gc.ts';
import { addCandidates } from '../src/gc/candidates.ts';
import { forEachEngine } from './helpers/engines.ts';
import { sha256, useHarness } from './helpers/harness.ts';

const HOUR = 3600_000;
const TTL = 3600;
const GRACE = 7200;
/** Past one page (500) of each walk, and not a multiple of it. */
const CANDIDATES = 777;
const GRANTS = 666;
/** Of the candidates, these many were granted again recently: kept, never asked. */
const KEPT = 60;

/** BSS as the collections see it: the blobs it holds, and how often each delete was asked. */
function sharedBss() {
  const blobs = new Set<string>();
  const asked = new Map<string, number>();
  return {
    blobs,
    asked,
    /** A client for one server; `first` runs before that server's first delete is answered. */
    client(first: () => Promise<void> = async () => {}) {
      let started = false;
      return {
        async deleteBlob(blob: { owner: string; project: string; hash: string }) {
          if (!started) {
            started = true;
            await first();
          }
          const key = `${blob.owner}/${blob.project}/${blob.hash}`;
          asked.set(key, (asked.get(key) ?? 0) + 1);
          return blobs.delete(key) ? ('deleted' as const) : ('absent' as const);
        },
      };
    },
  };
}

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({ presignTtlSeconds: TTL, blobGcGraceSeconds: GRACE }));

  /** A space with CANDIDATES blobs that lost their last name and GRANTS blobs granted but never registered, all expired; KEPT candidates granted again just now. */
  async function busySpace(bss: ReturnType<typeof sharedBss>, label: string) {
    const alice = await h.user('alice');
    const where = { namespace: alice.name, space: 'robotics' };
    const key = (hash: string) => `${alice.name}/robotics/${hash}`;
    const t0 = h.clock.now;
    const grant = (hash: string, at: number): GrantAuditRow => ({
      userId: 'u-1',
      username: alice.name,
      ...where,
      hash,
      filename: `${hash.slice(0, 8)}.bin`,
      type: 'files',
      size: 100,
      contentType: 'application/octet-stream',
      outcome: 'granted',
      ip: '127.0.0.1',
      createdAt: new Date(at).toISOString(),
    });
    const candidates = Array.from({ length: CANDIDATES }, (_, i) => sha256(`${engine}-${label}-candidate-${i}`));
    const granted = Array.from({ length: GRANTS }, (_, i) => sha256(`${engine}-${label}-granted-${i}`));
    for (const hash of [...candidates, ...granted]) bss.blobs.add(key(hash));
    await addCandidates(h.db, where, candidates, new Date(t0).toISOString());
    // Several grants share a millisecond, so the walk's (created_at, id) order is exercised.
    await recordUploadGrants(
      h.db,
      granted.map((hash, i) => grant(hash, t0 + Math.floor(i / 7))),
    );
    h.clock.now = t0 + 3 * HOUR + 60_000;
    const kept = candidates.slice(0, KEPT);
    await recordUploadGrants(
      h.db,
      kept.map((hash) => grant(hash, h.clock.now - 1000)),
    );
    const orphans = [...candidates.slice(KEPT), ...granted].map(key);
    return { key, kept: kept.map(key), orphans };
  }

  test(`a collection pages past ${CANDIDATES} candidates and ${GRANTS} expired grants: each orphan asked once and deleted, the kept ones never asked`, async () => {
    const bss = sharedBss();
    const { kept, orphans } = await busySpace(bss, 'one');
    const collect = () => collectBlobs({ db: h.db, bss: bss.client(), config: h.config, clock: () => h.clock.now });
    assert.deepEqual(await collect(), { deleted: orphans.length, finished: true });
    for (const blob of orphans) assert.equal(bss.asked.get(blob), 1, `${blob} asked ${bss.asked.get(blob) ?? 0} times`);
    assert.equal(bss.asked.size, orphans.length, 'a blob that is not an orphan was asked');
    for (const blob of kept) assert.ok(bss.blobs.has(blob), `kept ${blob} was deleted`);
    assert.equal(bss.blobs.size, kept.length);
    // The walk saved where it got to and the candidates are gone: the next run asks nothing.
    assert.deepEqual(await collect(), { deleted: 0, finished: true });
    assert.equal(bss.asked.size, orphans.length);
  });

  test('two servers collecting over the same database at once delete every orphan and nothing kept', async (t) => {
    const bss = sharedBss();
    const { kept, orphans } = await busySpace(bss, 'two');
    const other = await openDatabase(h.config);
    try {
      // Neither server's first delete is answered until both have reached one: both walks are under way at once.
      let arrived = 0;
      let bothIn = () => {};
      const both = new Promise<void>((resolve) => {
        bothIn = resolve;
      });
      const meet = async () => {
        arrived += 1;
        if (arrived === 2) bothIn();
        await both;
      };
      const run = (db: typeof h.db) =>
        collectBlobs({ db, bss: bss.client(meet), config: h.config, clock: () => h.clock.now });
      // A run that fails before its first delete must not hold the other at the meeting point.
      const results = await Promise.allSettled([run(h.db).finally(bothIn), run(other).finally(bothIn)]);
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (engine === 'postgres') {
        assert.deepEqual(failed, [], 'a collection failed');
        assert.equal(arrived, 2, 'both servers were deleting at once');
      }
      // On SQLite one writer at a time: a collection that meets the other's lock stops with 503
      // unavailable (the periodic runner tries again at its next tick), never with anything else.
      for (const { reason } of failed) assert.equal((reason as { code?: string }).code, 'unavailable', String(reason));
      const done = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      assert.ok(done.length > 0, 'neither collection finished');
      for (const result of done) assert.equal(result.finished, true);
      if (failed.length > 0) await run(h.db);
      assert.deepEqual(
        orphans.filter((blob) => bss.blobs.has(blob)),
        [],
        'an orphan was left',
      );
      for (const blob of kept) {
        assert.ok(bss.blobs.has(blob), `kept ${blob} was deleted`);
        assert.equal(bss.asked.get(blob), undefined, `kept ${blob} was asked`);
      }
      const twice = orphans.filter((blob) => (bss.asked.get(blob) ?? 0) > 1).length;
      t.diagnostic(
        `${failed.length} collection(s) stopped by the lock; ${twice} of ${orphans.length} orphans asked by both servers`,
      );
      // Afterwards neither finds anything left to ask.
      const before = bss.asked.size;
      assert.deepEqual(await run(h.db), { deleted: 0, finished: true });
      assert.equal(bss.asked.size, before);
    } finally {
      await other.destroy();
    }
  });
});
