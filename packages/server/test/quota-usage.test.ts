import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachEngine } from './helpers/engines.ts';
import { sha256, useHarness } from './helpers/harness.ts';

const QUOTA = 10_000;

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({ namespaceQuotaBytes: QUOTA }));
  const hashOf = (text: string) => sha256(`${engine}-${text}-${Math.random()}`);
  const register = (token: string, ns: string, space: string, name: string, hash: string) =>
    h.call('POST', `/namespaces/${ns}/spaces/${space}/files`, token, { name, hash, type: 'files' });
  const init = (token: string, ns: string, size: number, space = 'incoming') =>
    h.call('POST', '/uploads/init', token, {
      namespace: ns,
      space,
      filename: 'next.bin',
      hash: hashOf('next'),
      contentType: 'application/octet-stream',
      type: 'files',
      size,
    });
  const batch = (token: string, ns: string, space: string, files: Array<{ name: string; hash: string }>) =>
    h.call('POST', `/namespaces/${ns}/spaces/${space}/files/batch`, token, {
      files: files.map((f) => ({ ...f, type: 'files' })),
    });

  test('a blob several names of one space point at counts once against the quota', async () => {
    const alice = await h.user('alice');
    const blob = hashOf('shared');
    h.bss.put(alice.name, 'robotics', blob, 6_000);
    assert.equal((await register(alice.token, alice.name, 'robotics', 'a.bin', blob)).statusCode, 201);
    const second = await register(alice.token, alice.name, 'robotics', 'copy/a.bin', blob);
    assert.equal(second.statusCode, 201, 'a second name for a stored blob takes no bytes');
    const third = await batch(alice.token, alice.name, 'robotics', [
      { name: 'copy/b.bin', hash: blob },
      { name: 'copy/c.bin', hash: blob },
    ]);
    assert.equal(third.statusCode, 200, third.body);
    assert.deepEqual(
      third.json().files.map((f: { created?: boolean }) => f.created),
      [true, true],
    );
    // Stored: 6,000 bytes, so 4,000 more fit and 4,001 do not.
    assert.equal((await init(alice.token, alice.name, 4_000)).statusCode, 200);
    const over = await init(alice.token, alice.name, 4_001);
    assert.equal(over.statusCode, 413);
    assert.equal(over.json().error.usedBytes, 6_000);
  });

  test('the same blob in two spaces is stored twice and counts twice', async () => {
    const bob = await h.user('bob');
    const blob = hashOf('twice');
    h.bss.put(bob.name, 'one', blob, 4_000);
    h.bss.put(bob.name, 'two', blob, 4_000);
    assert.equal((await register(bob.token, bob.name, 'one', 'x.bin', blob)).statusCode, 201);
    assert.equal((await register(bob.token, bob.name, 'two', 'x.bin', blob)).statusCode, 201);
    assert.equal((await init(bob.token, bob.name, 2_000)).statusCode, 200);
    assert.equal((await init(bob.token, bob.name, 2_001)).statusCode, 413);
  });

  test('pointing a name elsewhere or removing it frees nothing while an older snapshot names its blob', async () => {
    const carol = await h.user('carol');
    const [kept, freed, next] = [hashOf('kept'), hashOf('freed'), hashOf('next')];
    h.bss.put(carol.name, 'robotics', kept, 5_000);
    h.bss.put(carol.name, 'robotics', freed, 4_000);
    h.bss.put(carol.name, 'robotics', next, 5_000);
    assert.equal((await register(carol.token, carol.name, 'robotics', 'a.bin', kept)).statusCode, 201);
    assert.equal((await register(carol.token, carol.name, 'robotics', 'b.bin', kept)).statusCode, 201);
    assert.equal((await register(carol.token, carol.name, 'robotics', 'c.bin', freed)).statusCode, 201);
    // Stored 9,000. c.bin moving to a 5,000-byte blob frees nothing: the snapshots before name `freed`.
    const moved = await register(carol.token, carol.name, 'robotics', 'c.bin', next);
    assert.equal(moved.statusCode, 413);
    const removed = await h.call('POST', `/namespaces/${carol.name}/spaces/robotics/commits`, carol.token, {
      deletes: ['a.bin', 'b.bin', 'c.bin'],
    });
    assert.equal(removed.statusCode, 201, 'removing names is allowed, at the quota too');
    const over = await init(carol.token, carol.name, 1_001);
    assert.equal(over.statusCode, 413);
    assert.equal(over.json().error.usedBytes, 9_000, 'the blobs of the removed names still count');
    assert.equal((await init(carol.token, carol.name, 1_000)).statusCode, 200);
  });

  test('an empty file does not skip the quota of a full namespace', async () => {
    const dave = await h.user('dave');
    const [full, empty] = [hashOf('full'), hashOf('empty')];
    h.bss.put(dave.name, 'robotics', full, QUOTA);
    h.bss.put(dave.name, 'robotics', empty, 0);
    assert.equal((await register(dave.token, dave.name, 'robotics', 'full.bin', full)).statusCode, 201);
    const refused = await register(dave.token, dave.name, 'robotics', 'empty.bin', empty);
    assert.equal(refused.statusCode, 413);
    assert.equal(refused.json().error.code, 'too_large');
    const inBatch = await batch(dave.token, dave.name, 'robotics', [{ name: 'empty.bin', hash: empty }]);
    assert.equal(inBatch.statusCode, 413);
  });
});
