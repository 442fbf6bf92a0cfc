import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findNamespace, lockNamespace, type Namespace } from '../src/db/namespaces.ts';
import type { DB } from '../src/db/open.ts';
import { type GrantAuditRow, listUploadGrants } from '../src/db/upload-grants.ts';
import { createGrantQueue } from '../src/services/grant-queue.ts';
import { forEachEngine } from './helpers/engines.ts';
import { sha256, useHarness } from './helpers/harness.ts';

/** The single grants' group commit (services/grant-queue.ts), driven directly on each engine. */
forEachEngine((engine) => {
  const h = useHarness(engine);
  const queue = (db: DB = h.db, written: (rows: readonly GrantAuditRow[]) => void = () => {}) =>
    createGrantQueue({ db, config: h.config, clock: () => h.clock.now, groupWaitLimitMs: 300 }, written);
  const owner = async (base: string): Promise<Namespace> => {
    const { name } = await h.user(base);
    const ns = await findNamespace(h.db, name);
    assert.ok(ns);
    return ns;
  };
  const audit = (ns: Namespace, hash: string, size: number) => (createdAt: string) =>
    ({
      userId: 'u',
      username: ns.name,
      namespace: ns.name,
      space: 'frames',
      hash,
      filename: `${hash.slice(0, 8)}.bin`,
      type: 'files',
      size,
      contentType: 'application/octet-stream',
      outcome: 'granted',
      ip: '127.0.0.1',
      createdAt,
    }) satisfies GrantAuditRow;
  const ask = (q: ReturnType<typeof queue>, ns: Namespace, hash: string, size: number) =>
    q.grant(ns, 'frames', { hash, size }, audit(ns, hash, size));
  const recorded = async (ns: Namespace) => (await listUploadGrants(h.db, ns.name)).map((r) => `${r.hash}:${r.size}`);

  test('one hash at two sizes in the same turn: the first is granted, the second refused as a conflict with it', async () => {
    const q = queue();
    const ns = await owner('twosizes');
    const hash = sha256(`${engine} two sizes`);
    const [first, second] = await Promise.allSettled([ask(q, ns, hash, 3_000), ask(q, ns, hash, 4_000)]);
    assert.equal(first.status, 'fulfilled');
    assert.equal(second.status, 'rejected');
    assert.equal((second as PromiseRejectedResult).reason.code, 'conflict');
    assert.deepEqual(await recorded(ns), [`${hash}:3000`]);
  });

  test('a transaction that fails fails the grants it carried, and the next group is granted and recorded', async () => {
    const ns = await owner('failing');
    let failures = 1;
    const failingOnce = new Proxy(h.db, {
      get(target, key) {
        if (key === 'transaction' && failures > 0) {
          failures--;
          return () => ({ execute: async () => Promise.reject(new Error('connection reset')) });
        }
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const q = queue(failingOnce);
    const lost = [0, 1, 2].map((i) => sha256(`${engine} lost ${i}`));
    const results = await Promise.allSettled(lost.map((hash) => ask(q, ns, hash, 1_000)));
    assert.deepEqual(
      results.map((r) => (r.status === 'rejected' ? r.reason.message : 'granted')),
      ['connection reset', 'connection reset', 'connection reset'],
    );
    const kept = sha256(`${engine} kept`);
    assert.equal(typeof (await ask(q, ns, kept, 1_000)), 'number');
    assert.deepEqual(await recorded(ns), [`${kept}:1000`]);
  });

  test('counting the grants throwing fails none of them and stalls no later one', async () => {
    const ns = await owner('counting');
    const q = queue(h.db, () => {
      throw new Error('metrics broke');
    });
    const hashes = [0, 1, 2, 3].map((i) => sha256(`${engine} counted ${i}`));
    await Promise.all(hashes.slice(0, 2).map((hash) => ask(q, ns, hash, 10)));
    await Promise.all(hashes.slice(2).map((hash) => ask(q, ns, hash, 10)));
    assert.deepEqual((await recorded(ns)).sort(), hashes.map((hash) => `${hash}:10`).sort());
  });

  test('grants queued behind a transaction that does not end fail as unavailable in time and are never written', async () => {
    const ns = await owner('stuck');
    const q = queue();
    // Another transaction holds the namespace's lock (SQLite: the one connection) until released.
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = h.db.transaction().execute(async (trx) => {
      await lockNamespace(trx, ns.id);
      locked();
      await released;
    });
    await holding;
    const first = sha256(`${engine} stuck first`);
    const behind = [0, 1].map((i) => sha256(`${engine} stuck behind ${i}`));
    const firstGrant = ask(q, ns, first, 5);
    // The first group's transaction has started and waits on the lock; these form the next group.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const startedAt = Date.now();
    const queued = await Promise.allSettled(behind.map((hash) => ask(q, ns, hash, 5)));
    const waited = Date.now() - startedAt;
    assert.deepEqual(
      queued.map((r) => (r.status === 'rejected' ? r.reason.code : 'granted')),
      ['unavailable', 'unavailable'],
    );
    assert.ok(waited < 5_000, `the queued grants waited ${waited} ms`);
    release();
    await holder;
    // The first grant, whose transaction was already waiting, goes through once the lock is free;
    // the ones that failed were never written.
    assert.equal(typeof (await firstGrant), 'number');
    assert.deepEqual(await recorded(ns), [`${first}:5`]);
    // And the space takes grants again.
    const after = sha256(`${engine} stuck after`);
    await ask(q, ns, after, 5);
    assert.deepEqual((await recorded(ns)).sort(), [`${first}:5`, `${after}:5`].sort());
  });
});
