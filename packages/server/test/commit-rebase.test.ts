import assert from 'node:assert/strict';
import { test } from 'node:test';
import { committer, uniqueHash } from './helpers/commits.ts';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

forEachEngine((engine) => {
  const h = useHarness(engine);
  const hashOf = (text: string) => uniqueHash(`${engine}-${text}`);

  /** A space at version 1 with 100 files in each of the folders a/ and b/. */
  async function twoFolders() {
    const alice = await h.user('alice');
    const c = committer(h, alice.name, alice.token);
    const puts = ['a', 'b'].flatMap((folder) =>
      Array.from({ length: 100 }, (_, i) => c.put(`${folder}/${i}.bin`, hashOf(`${folder}${i}`))),
    );
    assert.equal((await c.commit({ puts })).statusCode, 201);
    return { alice, c };
  }

  test('two commits made against the same version on disjoint folders both land, the second on the first', async () => {
    const { c } = await twoFolders();
    const first = await c.commit({
      parent: 1,
      puts: Array.from({ length: 50 }, (_, i) => c.put(`a/${i}.bin`, hashOf(`a-new${i}`))),
      deletePrefixes: ['a/9'],
    });
    assert.equal(first.statusCode, 201, first.body);
    // a/9.bin is under the prefix and put again: changed, not removed.
    assert.deepEqual(first.json().snapshot.counts, { added: 0, changed: 50, removed: 10 });
    const second = await c.commit({
      parent: 1,
      puts: Array.from({ length: 30 }, (_, i) => c.put(`b/new-${i}.bin`, hashOf(`b-new${i}`))),
      deletes: ['b/0.bin', 'b/1.bin'],
    });
    assert.equal(second.statusCode, 201, second.body);
    const snap = second.json().snapshot;
    assert.deepEqual(
      [snap.version, snap.parent, snap.counts, snap.files],
      [3, 2, { added: 30, changed: 0, removed: 2 }, 200 - 10 + 30 - 2],
    );
    const names = await c.names();
    assert.equal(names.length, 218);
    assert.ok(!names.includes('a/95.bin') && !names.includes('b/0.bin') && names.includes('b/new-29.bin'));
  });

  test('a commit against an older version touching names changed since is 409 naming them; nothing is written', async () => {
    const { c } = await twoFolders();
    const moved = await c.commit({
      parent: 1,
      puts: [c.put('a/1.bin', hashOf('x')), c.put('a/new.bin', hashOf('y'))],
      deletes: ['b/7.bin'],
    });
    assert.equal(moved.statusCode, 201);
    const clash = await c.commit({
      parent: 1,
      puts: [
        c.put('a/1.bin', hashOf('mine')),
        c.put('a/2.bin', hashOf('fine')),
        c.put('a/new.bin', hashOf('mine too')),
      ],
      deletes: ['b/7.bin', 'b/8.bin'],
    });
    assert.equal(clash.statusCode, 409, clash.body);
    assert.equal(clash.json().error.code, 'conflict');
    assert.deepEqual(clash.json().error.names, ['a/1.bin', 'a/new.bin', 'b/7.bin']);
    assert.equal(await c.head(), 2);
    // A prefix covering a changed name clashes too; against head (or without a parent) it lands.
    const prefix = await c.commit({ parent: 1, deletePrefixes: ['b/'] });
    assert.equal(prefix.statusCode, 409);
    assert.deepEqual(prefix.json().error.names, ['b/7.bin']);
    const newer = await c.commit({ parent: 5, deletes: ['a/3.bin'] });
    assert.equal(newer.statusCode, 409, 'a parent newer than head');
    const onHead = await c.commit({ parent: 2, deletePrefixes: ['b/'] });
    assert.equal(onHead.statusCode, 201, onHead.body);
    assert.equal(onHead.json().snapshot.counts.removed, 99);
    assert.equal((await c.commit({ deletes: ['a/3.bin'] })).statusCode, 201, 'no parent: no check');
  });

  test('a draft commits against its parent: disjoint changes land, clashing ones are 409 and the draft stays', async () => {
    const { c } = await twoFolders();
    const mine = await c.openDraft({ parent: 1 });
    const theirs = await c.openDraft({ parent: 1 });
    for (let i = 0; i < 3; i++) {
      const puts = Array.from({ length: 500 }, (_, j) => c.put(`a/run/${i}/${j}`, hashOf(`m${i}-${j}`)));
      assert.equal((await c.add(mine, { puts })).statusCode, 200);
    }
    assert.equal((await c.add(theirs, { puts: [c.put('a/run/0/0', hashOf('theirs'))] })).statusCode, 200);
    assert.equal((await c.add(theirs, { puts: [c.put('b/theirs', hashOf('b'))] })).statusCode, 200);
    const landed = await c.commitDraft(theirs);
    assert.equal(landed.statusCode, 201);
    const clash = await c.commitDraft(mine);
    assert.equal(clash.statusCode, 409, clash.body);
    assert.deepEqual(clash.json().error.names, ['a/run/0/0']);
    assert.equal(await c.head(), 2);
    assert.equal((await c.names()).length, 202, 'nothing of the clashing draft was written');
    // The draft is still there: taking the clashing name out of it lets it land on head.
    assert.equal((await c.add(mine, { deletes: ['a/run/0/0'] })).statusCode, 200);
    const retry = await c.commitDraft(mine);
    assert.equal(retry.statusCode, 409, 'a delete of a name changed since is a clash too');
  });
});
