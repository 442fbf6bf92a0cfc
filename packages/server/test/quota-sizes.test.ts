import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listUploadGrants } from '../src/db/upload-grants.ts';
import { forEachEngine } from './helpers/engines.ts';
import { sha256, useHarness } from './helpers/harness.ts';

const QUOTA = 10_000;
const TTL = 3600;
const GRACE = 7200;
const HOUR = 3600_000;

type Entry = { error?: { code: string }; [key: string]: unknown };

/** Every `size=` a signed URL of this answer names. */
const signedSizes = (answer: unknown): number[] =>
  [...JSON.stringify(answer).matchAll(/size=(\d+)/g)].map((m) => Number(m[1]));

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({
    namespaceQuotaBytes: QUOTA,
    presignTtlSeconds: TTL,
    blobGcGraceSeconds: GRACE,
  }));
  const hashOf = (text: string) => sha256(`${engine}-${text}-${Math.random()}`);
  const file = (hash: string, size: number, filename = `${hash.slice(0, 8)}.bin`) => ({
    filename,
    hash,
    contentType: 'application/octet-stream',
    type: 'files',
    size,
  });
  const init = (token: string, ns: string, hash: string, size: number) =>
    h.call('POST', '/uploads/init', token, { namespace: ns, space: 'robotics', ...file(hash, size) });
  const batch = (token: string, ns: string, files: object[]) =>
    h.call('POST', '/uploads/batch', token, { namespace: ns, space: 'robotics', files });

  test('one batch stating a hash at two sizes gets no URLs for it: both entries answer 409 conflict', async () => {
    const alice = await h.user('alice');
    for (let round = 0; round < 3; round++) {
      const hash = hashOf(`dup ${round}`);
      const res = await batch(alice.token, alice.name, [file(hash, 9_000, 'big.bin'), file(hash, 0, 'empty.bin')]);
      assert.equal(res.statusCode, 200, res.body);
      const files: Entry[] = res.json().files;
      assert.deepEqual(
        files.map((f) => f.error?.code),
        ['conflict', 'conflict'],
        res.body,
      );
      assert.deepEqual(signedSizes(files), [], 'no URL is signed for a hash stated at two sizes');
    }
    // Nothing was held for them: the whole quota is still free, and no URL beyond it was handed out.
    assert.equal((await init(alice.token, alice.name, hashOf('whole'), QUOTA)).statusCode, 200);
  });

  test('one batch stating a hash twice at the same size is granted, holding its bytes once', async () => {
    const bob = await h.user('bob');
    const hash = hashOf('twice');
    const res = await batch(bob.token, bob.name, [file(hash, 6_000, 'a.bin'), file(hash, 6_000, 'b.bin')]);
    assert.equal(res.statusCode, 200, res.body);
    const files: Entry[] = res.json().files;
    assert.deepEqual(
      files.map((f) => f.error),
      [undefined, undefined],
    );
    assert.ok(signedSizes(files).every((size) => size === 6_000));
    assert.equal((await init(bob.token, bob.name, hashOf('rest'), 4_000)).statusCode, 200);
    assert.equal((await init(bob.token, bob.name, hashOf('one more'), 1)).statusCode, 413);
  });

  test('asking again for a granted hash at another size is 409 conflict and never lowers what the grant holds', async () => {
    const carol = await h.user('carol');
    const start = h.clock.now;
    try {
      const held: string[] = [];
      for (let i = 0; i < 3; i++) {
        const hash = hashOf(`lower ${i}`);
        const first = await init(carol.token, carol.name, hash, 9_000);
        if (i > 0) {
          // The earlier grant still holds its 9,000 bytes: no room for another.
          assert.equal(first.statusCode, 413, first.body);
          continue;
        }
        assert.equal(first.statusCode, 200, first.body);
        held.push(hash);
        for (const size of [0, 1, 8_999, 9_001]) {
          const again = await init(carol.token, carol.name, hash, size);
          assert.equal(again.statusCode, 409, again.body);
          assert.equal(again.json().error.code, 'conflict');
          assert.equal(again.json().error.grantedSize, 9_000);
          assert.equal(again.json().error.size, size);
          const batched = await batch(carol.token, carol.name, [file(hash, size)]);
          assert.equal(batched.statusCode, 200, batched.body);
          assert.equal(batched.json().files[0].error?.code, 'conflict', batched.body);
          assert.deepEqual(signedSizes(batched.json()), []);
        }
        // The same size is granted again.
        assert.equal((await init(carol.token, carol.name, hash, 9_000)).statusCode, 200);
      }
      assert.equal(held.length, 1);
      assert.equal((await init(carol.token, carol.name, hashOf('room'), 1_001)).statusCode, 413);

      // Once the grant may be collected it holds nothing, and the hash may be granted at another size.
      h.clock.now = start + 3 * HOUR + 1_000;
      assert.equal((await init(carol.token, carol.name, held[0]!, 100)).statusCode, 200);
      assert.equal((await init(carol.token, carol.name, hashOf('rest'), QUOTA - 100)).statusCode, 200);
    } finally {
      h.clock.now = start;
    }
  });

  test('single grants asked at the same moment: a hash at a second size is 409 conflict with the first, and the quota refuses only the grants past it', async () => {
    const dave = await h.user('dave');
    const hash = hashOf('twice at once');
    const both = await Promise.all([3_000, 4_000].map((size) => init(dave.token, dave.name, hash, size)));
    const granted = both.filter((a) => a.statusCode === 200);
    const refused = both.filter((a) => a.statusCode === 409);
    assert.equal(granted.length, 1, both.map((a) => a.body).join('\n'));
    assert.equal(refused.length, 1, both.map((a) => a.body).join('\n'));
    const [heldSize] = new Set(signedSizes(granted[0]!.json()));
    assert.ok(heldSize === 3_000 || heldSize === 4_000);
    assert.equal(refused[0]!.json().error.grantedSize, heldSize);

    // Of ten grants of 1,000 asked at once, as many fit as the quota has room for; the others are 413.
    const room = Math.floor((QUOTA - heldSize!) / 1_000);
    const asked = Array.from({ length: 10 }, (_, i) => hashOf(`at once ${i}`));
    const answers = await Promise.all(asked.map((h2) => init(dave.token, dave.name, h2, 1_000)));
    const statuses = answers.map((a) => a.statusCode);
    assert.equal(statuses.filter((s) => s === 200).length, room, statuses.join(' '));
    assert.equal(statuses.filter((s) => s === 413).length, 10 - room, statuses.join(' '));
    // Each grant answered is on record, and no refused one is.
    const audit = await listUploadGrants(h.db, dave.name);
    assert.equal(audit.filter((row) => row.outcome === 'granted').length, 1 + room);
    assert.deepEqual(
      new Set(audit.map((row) => row.hash)),
      new Set([hash, ...asked.filter((_, i) => answers[i]?.statusCode === 200)]),
    );
  });
});
