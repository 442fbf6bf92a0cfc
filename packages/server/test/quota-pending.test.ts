import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachEngine } from './helpers/engines.ts';
import { sha256, useHarness } from './helpers/harness.ts';

const QUOTA = 10_000;
const TTL = 3600;
const GRACE = 7200;
const HOUR = 3600_000;

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({
    namespaceQuotaBytes: QUOTA,
    presignTtlSeconds: TTL,
    blobGcGraceSeconds: GRACE,
  }));
  const hashOf = (text: string) => sha256(`${engine}-${text}-${Math.random()}`);
  const init = (token: string, ns: string, hash: string, size: number, space = 'robotics') =>
    h.call('POST', '/uploads/init', token, {
      namespace: ns,
      space,
      filename: `${hash.slice(0, 8)}.bin`,
      hash,
      contentType: 'application/octet-stream',
      type: 'files',
      size,
    });
  const batch = (token: string, ns: string, files: Array<{ hash: string; size: number }>) =>
    h.call('POST', '/uploads/batch', token, {
      namespace: ns,
      space: 'robotics',
      files: files.map((f) => ({
        filename: `${f.hash.slice(0, 8)}.bin`,
        hash: f.hash,
        contentType: 'application/octet-stream',
        type: 'files',
        size: f.size,
      })),
    });
  const register = (token: string, ns: string, name: string, hash: string) =>
    h.call('POST', `/namespaces/${ns}/spaces/robotics/files`, token, { name, hash, type: 'files' });

  test('granted bytes count against the quota until the blob is registered, then count once', async () => {
    const alice = await h.user('alice');
    const first = hashOf('first');
    assert.equal((await init(alice.token, alice.name, first, 6_000)).statusCode, 200);
    const second = await init(alice.token, alice.name, hashOf('second'), 6_000);
    assert.equal(second.statusCode, 413, 'the first grant holds 6,000 of the 10,000 bytes');
    assert.equal(second.json().error.code, 'too_large');
    // Asking again for the same blob holds no more bytes.
    assert.equal((await init(alice.token, alice.name, first, 6_000)).statusCode, 200);
    const other = await batch(alice.token, alice.name, [{ hash: hashOf('batched'), size: 4_001 }]);
    assert.equal(other.statusCode, 200, other.body);
    assert.equal(other.json().files[0].error?.code, 'too_large', other.body);
    const fits = await batch(alice.token, alice.name, [{ hash: hashOf('fits'), size: 4_000 }]);
    assert.equal(fits.json().files[0].error, undefined, fits.body);
    assert.ok(fits.json().files[0].initUrl, fits.body);

    // Registering the granted blob moves its bytes from granted to stored: nothing counts twice.
    h.bss.put(alice.name, 'robotics', first, 6_000);
    const registered = await register(alice.token, alice.name, 'first.bin', first);
    assert.equal(registered.statusCode, 201, registered.body);
    assert.equal((await init(alice.token, alice.name, hashOf('one byte'), 1)).statusCode, 413);
  });

  test('a grant never registered stops counting once its blob may be collected', async () => {
    const bob = await h.user('bob');
    const start = h.clock.now;
    try {
      assert.equal((await init(bob.token, bob.name, hashOf('abandoned'), 9_000)).statusCode, 200);
      h.clock.now = start + 2 * HOUR;
      assert.equal((await init(bob.token, bob.name, hashOf('still held'), 2_000)).statusCode, 413);
      // The URLs' hour plus the grace period: the blob is the collection's now.
      h.clock.now = start + 3 * HOUR + 1_000;
      assert.equal((await init(bob.token, bob.name, hashOf('fits again'), 9_000)).statusCode, 200);
    } finally {
      h.clock.now = start;
    }
  });

  test('concurrent grants cannot pass the quota together: of two that each fit alone, one is granted', async () => {
    for (let round = 0; round < 3; round++) {
      const carol = await h.user('carol');
      const answers = await Promise.all([
        init(carol.token, carol.name, hashOf('left'), 6_000),
        init(carol.token, carol.name, hashOf('right'), 6_000, 'other'),
        batch(carol.token, carol.name, [{ hash: hashOf('third'), size: 6_000 }]),
      ]);
      // The batch answers 200 and refuses its one entry: count that entry's refusal as a 413.
      const codes = answers
        .map((a) => (a.statusCode === 200 && a.json().files?.[0]?.error?.code === 'too_large' ? 413 : a.statusCode))
        .sort();
      assert.deepEqual(codes, [200, 413, 413], answers.map((a) => a.body).join('\n'));
    }
  });
});
