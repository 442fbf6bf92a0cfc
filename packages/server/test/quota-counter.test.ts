import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { recountNamespaceUsage } from '../src/db/files.ts';
import { migrations } from '../src/db/migrate.ts';
import { namespaceUsage } from '../src/db/namespace-usage.ts';
import { removeExpiredDrafts } from '../src/gc/drafts.ts';
import { dropOldSnapshots } from '../src/gc/retention.ts';
import { committer, uniqueHash } from './helpers/commits.ts';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const SPACES = ['robotics', 'vision'] as const;
const NAMES = ['a/0.bin', 'a/1.bin', 'a/2.bin', 'b/0.bin', 'b/1.bin', 'c.bin'];
const PREFIXES = ['a/', 'b/'];
/** Blobs a run puts, by index: a blob's size is fixed by its hash; a few are shared by names and spaces. */
const BLOBS = 6;

const space = fc.constantFrom(...SPACES);
const puts = fc.array(fc.record({ name: fc.constantFrom(...NAMES), blob: fc.nat(BLOBS - 1) }), { maxLength: 4 });
const deletes = fc.array(fc.constantFrom(...NAMES), { maxLength: 2 });
const prefixes = fc.array(fc.constantFrom(...PREFIXES), { maxLength: 1 });
const step = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('commit' as const), space, puts, deletes, prefixes }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('restore' as const), space, back: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('open' as const), space }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('add' as const), draft: fc.nat(), puts, deletes, prefixes }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('commitDraft' as const), draft: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('discard' as const), draft: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('retention' as const) }) },
);

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({
    namespaceQuotaBytes: 1e12,
    draftTtlSeconds: 3600,
    jwtTtlSeconds: 3650 * 24 * 3600,
  }));

  test('the bytes a namespace stores, as each write keeps them, equal their recount after any commits, restores, drafts and retention', async () => {
    const done = new Set<string>();
    const runs: Array<{ id: string; checked: number; max: number }> = [];
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 30 }), async (steps) => {
        const user = await h.user('usage');
        const ns = await h.db
          .selectFrom('namespaces')
          .select('id')
          .where('name', '=', user.name)
          .executeTakeFirstOrThrow();
        const blobs = Array.from({ length: BLOBS }, (_, i) => ({
          hash: uniqueHash(`${engine}-${i}`),
          size: 1_000 + i * 37,
        }));
        const spaces = Object.fromEntries(SPACES.map((s) => [s, committer(h, user.name, user.token, s)]));
        const drafts: Array<{ id: string; space: (typeof SPACES)[number] }> = [];
        const run = { id: ns.id, checked: 0, max: 0 };
        runs.push(run);
        const headNames = async (s: (typeof SPACES)[number]) => {
          const listed = await h.call('GET', `${spaces[s]!.base}/files?limit=10000`, user.token);
          return new Set<string>(
            listed.statusCode === 200 ? listed.json().files.map((f: { name: string }) => f.name) : [],
          );
        };
        /** The names deleted: those head has, and the batch does not put. */
        const deletesOf = (names: readonly string[], head: Set<string>, list: ReadonlyArray<{ name: string }>) =>
          [...new Set(names)].filter((n) => head.has(n) && !list.some((p) => p.name === n));
        const putsOf = (list: ReadonlyArray<{ name: string; blob: number }>, s: (typeof SPACES)[number]) => {
          const byName = new Map(list.map((p) => [p.name, blobs[p.blob]!]));
          return [...byName].map(([name, b]) => spaces[s]!.put(name, b.hash, b.size));
        };
        for (const s of steps) {
          if (s.op === 'commit') {
            const head = await headNames(s.space);
            const res = await spaces[s.space]!.commit({
              puts: putsOf(s.puts, s.space),
              deletes: deletesOf(s.deletes, head, s.puts),
              deletePrefixes: s.prefixes,
            });
            done.add(`commit ${res.statusCode}`);
          } else if (s.op === 'restore') {
            const head = await spaces[s.space]!.head();
            if (head > 1) {
              const res = await h.call('POST', `${spaces[s.space]!.base}/restore`, user.token, {
                version: Math.max(1, head - 1 - s.back),
              });
              done.add(`restore ${res.statusCode}`);
            }
          } else if (s.op === 'open') {
            drafts.push({ id: await spaces[s.space]!.openDraft(), space: s.space });
          } else if (s.op === 'expire') {
            h.clock.now += 2 * HOUR;
            if ((await removeExpiredDrafts(h.db, new Date(h.clock.now).toISOString())) > 0) done.add('expire');
          } else if (s.op === 'retention') {
            h.clock.now += 2 * DAY;
            if ((await dropOldSnapshots(h.db, 1, h.clock.now)) > 0) done.add('retention');
          } else if (drafts.length > 0) {
            const d = drafts[s.draft % drafts.length]!;
            const c = spaces[d.space]!;
            if (s.op === 'add') {
              const res = await c.add(d.id, {
                puts: putsOf(s.puts, d.space),
                deletes: deletesOf(s.deletes, await headNames(d.space), s.puts),
                deletePrefixes: s.prefixes,
              });
              done.add(`add ${res.statusCode}`);
            } else {
              const res = s.op === 'commitDraft' ? await c.commitDraft(d.id) : await c.dropDraft(d.id);
              done.add(`${s.op} ${res.statusCode}`);
              if (res.statusCode < 300) drafts.splice(drafts.indexOf(d), 1);
            }
          }
          const kept = await namespaceUsage(h.db, ns.id);
          assert.equal(kept, await recountNamespaceUsage(h.db, ns.id), `after ${JSON.stringify(s)}`);
          run.checked += 1;
          run.max = Math.max(run.max, kept);
        }
      }),
      // Enough runs that every kind of write below takes place in each (60 once missed a commit of a draft).
      { numRuns: 120 },
    );
    assert.ok(
      runs.some((r) => r.max > 0),
      'the runs stored something',
    );
    // Every kind of write took place, not only refusals.
    for (const kind of [
      'commit 201',
      'restore 201',
      'add 200',
      'commitDraft 201',
      'discard 204',
      'expire',
      'retention',
    ]) {
      assert.ok(done.has(kind), `${kind} in ${[...done].sort().join(', ')}`);
    }
  });

  test('the migration fills each namespace with what it stores at that moment', async () => {
    const namespaces = await h.db.selectFrom('namespaces').select('id').execute();
    const stored = async () =>
      Promise.all(namespaces.map(async (n) => [n.id, await namespaceUsage(h.db, n.id)] as const));
    const before = await stored();
    assert.ok(
      before.some(([, bytes]) => bytes > 0),
      'the namespaces of the test before store something',
    );
    const migration = migrations['2026-12-08-002-namespace-usage']!;
    await migration.down!(h.db);
    await migration.up(h.db);
    assert.deepEqual(await stored(), before);
    for (const n of namespaces) assert.equal(await namespaceUsage(h.db, n.id), await recountNamespaceUsage(h.db, n.id));
  });
});
