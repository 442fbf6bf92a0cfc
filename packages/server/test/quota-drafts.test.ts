import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectBlobs } from '../src/gc/blob-gc.ts';
import { committer, uniqueHash } from './helpers/commits.ts';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

const QUOTA = 10_000;
const MINUTE = 60_000;

forEachEngine((engine) => {
  // A grant holds its bytes for 30 minutes (its URLs' 10 and the collection's grace of 20).
  const h = useHarness(engine, () => ({
    presignTtlSeconds: 600,
    blobGcGraceSeconds: 1200,
    namespaceQuotaBytes: QUOTA,
  }));
  const hashOf = (text: string) => uniqueHash(`${engine}-${text}`);
  const init = (token: string, ns: string, size: number) =>
    h.call('POST', '/uploads/init', token, {
      namespace: ns,
      space: 'robotics',
      filename: 'next.bin',
      hash: hashOf('next'),
      contentType: 'application/octet-stream',
      type: 'files',
      size,
    });
  /** The collection's walk, deleting nothing (it would delete only blobs nothing holds). */
  const collect = () =>
    collectBlobs({
      db: h.db,
      bss: { deleteBlob: async () => 'deleted' as const },
      config: h.config,
      clock: () => h.clock.now,
    });

  test('blobs open drafts hold count against the quota once their grants lapse; a batch over it adds nothing', async () => {
    const alice = await h.user('alice');
    const c = committer(h, alice.name, alice.token);
    const t0 = h.clock.now;
    try {
      // 200 blobs of 40 bytes granted, uploaded and put in a draft: 8,000 of the 10,000 bytes.
      const files = Array.from({ length: 200 }, (_, i) => ({
        filename: `f${i}.bin`,
        hash: hashOf(`held${i}`),
        contentType: 'application/octet-stream',
        type: 'files',
        size: 40,
      }));
      const granted = await h.call('POST', '/uploads/batch', alice.token, {
        namespace: alice.name,
        space: 'robotics',
        files,
      });
      assert.equal(granted.statusCode, 200, granted.body);
      for (const f of files) h.bss.put(alice.name, 'robotics', f.hash, 40);
      const draft = await c.openDraft();
      const puts = files.map((f, i) => c.put(`run/${i}.bin`, f.hash, 40));
      assert.equal((await c.add(draft, { puts })).statusCode, 200);

      // Half an hour on, the grants hold nothing; the draft still holds every blob.
      h.clock.now = t0 + 31 * MINUTE;
      await collect();
      const over = await init(alice.token, alice.name, 2_001);
      assert.equal(over.statusCode, 413, over.body);
      assert.equal(over.json().error.usedBytes, 8_000, 'the draft holds 8,000 bytes');

      // Another draft's batch of 100 new blobs (4,000 bytes) would pass the quota: none of it is added.
      const other = await c.openDraft();
      const more = Array.from({ length: 100 }, (_, i) => c.put(`more/${i}.bin`, hashOf(`more${i}`), 40));
      const refused = await c.add(other, { puts: more });
      assert.equal(refused.statusCode, 413, refused.body);
      assert.equal(refused.json().error.code, 'too_large');
      assert.equal(refused.json().error.usedBytes, 8_000);
      const emptyDraft = await h.db.selectFrom('draft_entries').select('name').where('draft_id', '=', other).execute();
      assert.equal(emptyDraft.length, 0, 'nothing of the refused batch was added');
      // 50 of them (2,000 bytes) fit exactly.
      assert.equal((await c.add(other, { puts: more.slice(0, 50) })).statusCode, 200);
      assert.equal((await init(alice.token, alice.name, 1)).statusCode, 413, 'the namespace is full');
      // A batch sent again adds no bytes: a full namespace takes it.
      const again = files.slice(0, 100).map((f, i) => c.put(`run/${i}.bin`, f.hash, 40));
      const resent = await c.add(draft, { puts: again });
      assert.equal(resent.statusCode, 200, resent.body);

      // Committed, the blobs count once (head names them now), as they did while the drafts held them.
      assert.equal((await c.commitDraft(draft)).statusCode, 201);
      assert.equal((await c.commitDraft(other)).statusCode, 201);
      assert.equal((await c.names()).length, 250);
      const full = await init(alice.token, alice.name, 1);
      assert.equal(full.statusCode, 413);
      assert.equal(full.json().error.usedBytes, 10_000);
    } finally {
      h.clock.now = t0;
    }
  });

  test('a discarded draft frees what only it held', async () => {
    const bob = await h.user('bob');
    const c = committer(h, bob.name, bob.token);
    const draft = await c.openDraft();
    const puts = Array.from({ length: 250 }, (_, i) => c.put(`d/${i}.bin`, hashOf(`bob${i}`), 40));
    assert.equal((await c.add(draft, { puts })).statusCode, 200);
    const full = await init(bob.token, bob.name, 1);
    assert.equal(full.statusCode, 413);
    assert.equal(full.json().error.usedBytes, 10_000);
    assert.equal((await c.dropDraft(draft)).statusCode, 204);
    assert.equal((await init(bob.token, bob.name, QUOTA)).statusCode, 200);
  });
});
