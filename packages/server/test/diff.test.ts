import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { DiffEntry, SnapshotView } from '@dreamlake/protocol';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';
import {
  allPages,
  blobs,
  commitTracked,
  type Expected,
  expectedDiff,
  type Manifests,
  type Owner,
} from './helpers/versions.ts';

const pad = (i: number) => String(i).padStart(4, '0');
const NAMES = Array.from({ length: 500 }, (_, i) => `run${i % 5}/step${pad(i)}.ckpt`);

const counts = (changes: DiffEntry[]) => ({
  added: changes.filter((c) => c.change === 'added').length,
  changed: changes.filter((c) => c.change === 'changed').length,
  removed: changes.filter((c) => c.change === 'removed').length,
});

forEachEngine((engine) => {
  const h = useHarness(engine);
  const space = 'diffs';
  let owner: Owner;
  let a: Expected[];
  let b: Expected[];
  const manifests: Manifests = [new Map()];
  const snapshots: SnapshotView[] = [];

  const diff = async (from: number, to: number, params: Record<string, string> = {}) =>
    (
      await allPages<DiffEntry>(
        h,
        owner.token,
        `/namespaces/${owner.name}/spaces/${space}/diff`,
        { from: String(from), to: String(to), ...params },
        'changes',
      )
    ).flat();

  before(async () => {
    owner = await h.user('differ');
    a = blobs(h, owner, space, 'a', 250);
    b = blobs(h, owner, space, 'b', 250);
    // 1: 500 names. 2: 100 changed, 100 removed (a folder), 80 added. 3: 40 of those changed at 2
    // changed back, 60 removed, the folder partly written again. 4: 30 names written to the blob
    // they already had (no change) and 10 changed.
    snapshots.push(
      await commitTracked(h, owner, space, manifests, {
        puts: NAMES.map((name, i) => ({ name, blob: a[i % 250]! })),
      }),
    );
    snapshots.push(
      await commitTracked(h, owner, space, manifests, {
        puts: [
          ...NAMES.flatMap((name, i) => (i % 5 === 1 ? [{ name, blob: b[i % 250]! }] : [])),
          ...Array.from({ length: 80 }, (_, k) => ({ name: `eval/e${pad(k)}.json`, blob: b[k]! })),
        ],
        deletePrefixes: ['run2/'],
      }),
    );
    snapshots.push(
      await commitTracked(h, owner, space, manifests, {
        puts: [
          ...NAMES.flatMap((name, i) => (i % 5 === 1 && i < 200 ? [{ name, blob: a[i % 250]! }] : [])),
          ...NAMES.flatMap((name, i) => (i % 5 === 2 && i < 150 ? [{ name, blob: b[(i + 1) % 250]! }] : [])),
        ],
        deletes: NAMES.filter((_, i) => i % 5 === 3 && i >= 200),
      }),
    );
    snapshots.push(
      await commitTracked(h, owner, space, manifests, {
        puts: [
          ...NAMES.flatMap((name, i) => (i % 5 === 0 && i < 150 ? [{ name, blob: a[i % 250]! }] : [])),
          ...NAMES.flatMap((name, i) => (i % 5 === 4 && i < 50 ? [{ name, blob: b[(i + 9) % 250]! }] : [])),
        ],
      }),
    );
  });

  test("each version's diff from its parent counts what its snapshot counts, entry by entry", async () => {
    for (let v = 1; v < manifests.length; v++) {
      const changes = await diff(v - 1, v);
      assert.deepEqual(changes, expectedDiff(manifests[v - 1]!, manifests[v]!), `${v - 1} → ${v}`);
      assert.deepEqual(counts(changes), snapshots[v - 1]!.counts, `the counts of snapshot ${v}`);
    }
    assert.deepEqual(
      snapshots.map((s) => s.counts),
      [
        { added: 500, changed: 0, removed: 0 },
        { added: 80, changed: 100, removed: 100 },
        { added: 30, changed: 40, removed: 60 },
        { added: 0, changed: 10, removed: 0 },
      ],
    );
  });

  test('across several versions, a name changed and changed back is no change; either direction, and from empty', async () => {
    const forward = await diff(1, 3);
    assert.deepEqual(forward, expectedDiff(manifests[1]!, manifests[3]!));
    const back = NAMES.filter((_, i) => i % 5 === 1 && i < 200);
    assert.ok(
      back.every((name) => !forward.some((c) => c.name === name)),
      'changed back: not listed',
    );
    assert.deepEqual(await diff(3, 1), expectedDiff(manifests[3]!, manifests[1]!));
    const all = await diff(0, 4);
    assert.equal(all.length, snapshots[3]!.files);
    assert.ok(all.every((c) => c.change === 'added'));
    const none = await diff(4, 0);
    assert.deepEqual(counts(none), { added: 0, changed: 0, removed: snapshots[3]!.files });
    assert.deepEqual(await diff(2, 2), []);
  });

  test('pages of a diff follow each other without skipping or repeating a name', async () => {
    const whole = await diff(0, 4, { limit: '10000' });
    const pages = await allPages<DiffEntry>(
      h,
      owner.token,
      `/namespaces/${owner.name}/spaces/${space}/diff`,
      { from: '1', to: '4', limit: '37' },
      'changes',
    );
    assert.ok(pages.length > 3 && pages.every((p) => p.length <= 37));
    assert.deepEqual(pages.flat(), expectedDiff(manifests[1]!, manifests[4]!));
    assert.equal(whole.length, manifests[4]!.size);
  });

  test('an unknown version is 404; a malformed one is 400', async () => {
    const url = (q: string) => `/namespaces/${owner.name}/spaces/${space}/diff?${q}`;
    const unknown = await h.call('GET', url('from=1&to=5'), owner.token);
    assert.equal(unknown.statusCode, 404, unknown.body);
    assert.equal(unknown.json().error.code, 'not_found');
    assert.equal((await h.call('GET', url('from=7&to=0'), owner.token)).statusCode, 404);
    assert.equal((await h.call('GET', url('from=1'), owner.token)).statusCode, 400);
    assert.equal((await h.call('GET', url('from=x&to=1'), owner.token)).statusCode, 400);
    // An empty value is no version (not version 0), nor is another spelling of a number.
    for (const q of ['from=&to=1', 'from=1&to=', 'from=%20&to=1', 'from=01&to=1', 'from=1&to=1e0', 'from=+1&to=2']) {
      const res = await h.call('GET', url(q), owner.token);
      assert.equal(res.statusCode, 400, `${q}: ${res.body.slice(0, 200)}`);
      assert.equal(res.json().error.code, 'invalid_request');
    }
  });
});
