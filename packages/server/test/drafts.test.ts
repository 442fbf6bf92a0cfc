import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onQueries } from '../src/db/open.ts';
import { collectBlobs } from '../src/gc/blob-gc.ts';
import { committer, postgresLocked, sqliteWriting, uniqueHash } from './helpers/commits.ts';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

const HOUR = 3600_000;

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({
    presignTtlSeconds: 3600,
    blobGcGraceSeconds: 7200,
    draftTtlSeconds: 24 * 3600,
    // Logins outlive the days the expiry tests move the clock by.
    jwtTtlSeconds: 7 * 24 * 3600,
  }));
  const hashOf = (text: string) => uniqueHash(`${engine}-${text}`);

  test('a 3,000-entry draft commits as one version; a reader listing meanwhile sees none of it or all of it', async () => {
    const alice = await h.user('alice');
    const c = committer(h, alice.name, alice.token);
    const before = Array.from({ length: 200 }, (_, i) => c.put(`base/${i}`, hashOf(`b${i}`)));
    assert.equal((await c.commit({ puts: before })).statusCode, 201);

    const id = await c.openDraft({ parent: 1, message: 'run 7' });
    const batches = Array.from({ length: 3 }, (_, b) =>
      Array.from({ length: 1000 }, (_, i) => c.put(`run7/${b}/${i}.bin`, hashOf(`r${b}-${i}`), 1 + i)),
    );
    for (const [b, puts] of batches.entries()) {
      const res = await c.add(id, { puts });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { entries: (b + 1) * 1000 });
    }

    // Listings are asked for while another connection sees the commit's transaction open. On
    // PostgreSQL they run beside it. On SQLite the process runs the whole transaction without
    // giving the event loop a turn, so they are asked for from the database's query hook while it
    // runs, and wait for the one connection.
    let settled = false;
    const seen: number[] = [];
    const asked: Array<Promise<void>> = [];
    const listNow = () =>
      asked.push(
        c.names().then((names) => {
          seen.push(names.length);
        }),
      );
    const stop =
      engine === 'sqlite'
        ? onQueries(h.db, () => {
            if (!settled && asked.length < 3 && sqliteWriting(h.config.databaseUrl)) listNow();
          })
        : () => {};
    const committing = c.commitDraft(id).finally(() => {
      settled = true;
    });
    while (!settled) {
      if (engine === 'postgres' && (await postgresLocked(h, alice.name))) listNow();
      await new Promise((resolve) => setImmediate(resolve));
    }
    stop();
    await Promise.all(asked);
    const res = await committing;
    assert.equal(res.statusCode, 201, res.body);
    const { snapshot } = res.json();
    assert.deepEqual(
      [snapshot.version, snapshot.parent, snapshot.message, snapshot.counts, snapshot.files],
      [2, 1, 'run 7', { added: 3000, changed: 0, removed: 0 }, 3200],
    );
    assert.ok(seen.length >= 1, "a listing was asked for while the commit's transaction was open");
    for (const count of seen) assert.ok(count === 200 || count === 3200, `a listing saw ${count - 200} of 3,000 files`);
    assert.equal((await c.names()).length, 3200);
    assert.equal((await c.commitDraft(id)).statusCode, 404, 'a committed draft is gone');
  });

  test('a batch sent twice does no harm; a name given again replaces its entry', async () => {
    const alice = await h.user('alice');
    const c = committer(h, alice.name, alice.token);
    const old = Array.from({ length: 100 }, (_, i) => c.put(`old/${i}`, hashOf(`o${i}`)));
    assert.equal((await c.commit({ puts: old })).statusCode, 201);
    const id = await c.openDraft();
    const puts = Array.from({ length: 300 }, (_, i) => c.put(`new/${i}`, hashOf(`n${i}`)));
    const batch = { puts, deletes: ['old/0', 'old/1'], deletePrefixes: ['old/5'] };
    assert.deepEqual((await c.add(id, batch)).json(), { entries: 303 });
    assert.deepEqual((await c.add(id, batch)).json(), { entries: 303 }, 'the same batch again');
    const replaced = hashOf('replaced');
    const again = await c.add(id, { puts: [c.put('new/0', replaced)], deletes: ['old/2'] });
    assert.deepEqual(again.json(), { entries: 304 });
    const res = await c.commitDraft(id);
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(res.json().snapshot.counts, { added: 300, changed: 0, removed: 3 + 11 });
    const files = (await h.call('GET', `${c.base}/files?prefix=new/0&limit=10`, alice.token)).json().files;
    assert.equal(files.find((f: { name: string }) => f.name === 'new/0').hash, replaced);
  });

  test('a batch naming blobs BSS does not hold is refused whole, naming them; nothing of it is added', async () => {
    const alice = await h.user('alice');
    const c = committer(h, alice.name, alice.token);
    const held = Array.from({ length: 300 }, (_, i) => {
      const hash = hashOf(`h${i}`);
      h.bss.put(alice.name, 'robotics', hash, 7);
      return { name: `held/${i}`, hash, type: 'files' };
    });
    const id = await c.openDraft();
    const refused = await c.add(id, {
      puts: [
        ...held,
        { name: 'lost/2', hash: hashOf('l2'), type: 'files' },
        { name: 'lost/1', hash: hashOf('l1'), type: 'files' },
      ],
    });
    assert.equal(refused.statusCode, 404, refused.body);
    assert.equal(refused.json().error.code, 'not_found');
    assert.deepEqual(refused.json().error.names, ['lost/1', 'lost/2']);
    assert.deepEqual(
      (await c.add(id, { puts: held.slice(0, 10) })).json(),
      { entries: 10 },
      'nothing was added before',
    );
    const res = await c.commitDraft(id);
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().snapshot.files, 10);
    assert.deepEqual((await c.names()).length, 10);
  });

  test("an unknown, expired, dropped or another user's draft is 404", async () => {
    const [alice, bob] = [await h.user('alice'), await h.user('bob')];
    const org = `org-drafts-${engine}`;
    assert.equal((await h.call('POST', '/orgs', alice.token, { name: org })).statusCode, 201);
    await h.call('PUT', `/orgs/${org}/members/${bob.name}`, alice.token, { role: 'writer' });
    const a = committer(h, org, alice.token);
    const b = committer(h, org, bob.token);
    const id = await a.openDraft();
    const x = hashOf('x');
    const batch = { puts: [{ name: 'x', hash: x, type: 'files' }] };
    h.bss.put(org, 'robotics', x, 10);
    assert.equal((await b.add(id, batch)).statusCode, 404, "another user's draft");
    assert.equal((await b.commitDraft(id)).statusCode, 404);
    assert.equal((await b.dropDraft(id)).statusCode, 404);
    assert.equal((await a.add('no-such-draft', batch)).statusCode, 404);
    assert.equal((await committer(h, org, alice.token, 'other').add(id, batch)).statusCode, 404, 'another space');
    assert.equal((await a.add(id, batch)).statusCode, 200);

    const t0 = h.clock.now;
    try {
      h.clock.now = t0 + 23 * HOUR;
      assert.equal((await a.add(id, batch)).statusCode, 200, 'a batch moves the expiry on');
      h.clock.now = t0 + 46 * HOUR;
      assert.equal((await a.add(id, batch)).statusCode, 200);
      h.clock.now = t0 + 70 * HOUR + 1000;
      assert.equal((await a.add(id, batch)).statusCode, 404, 'expired');
      assert.equal((await a.commitDraft(id)).statusCode, 404);
    } finally {
      h.clock.now = t0;
    }
    const other = await a.openDraft();
    assert.equal((await a.dropDraft(other)).statusCode, 204);
    assert.equal((await a.commitDraft(other)).statusCode, 404);
    assert.equal((await a.dropDraft(other)).statusCode, 404);
  });

  test('the collection keeps the blobs an open draft names, and collects them once the draft expired', async () => {
    const alice = await h.user('alice');
    const c = committer(h, alice.name, alice.token);
    const deleted: string[] = [];
    const bss = {
      async deleteBlob(blob: { owner: string; project: string; hash: string }) {
        deleted.push(blob.hash);
        return 'deleted' as const;
      },
    };
    const collect = () => collectBlobs({ db: h.db, bss, config: h.config, clock: () => h.clock.now });
    const hashes = Array.from({ length: 50 }, (_, i) => hashOf(`d${i}`));
    for (const hash of hashes) {
      const grant = await h.call('POST', '/uploads/init', alice.token, {
        namespace: alice.name,
        space: 'robotics',
        filename: 'x.bin',
        hash,
        contentType: 'application/octet-stream',
        type: 'files',
        size: 10,
      });
      assert.equal(grant.statusCode, 200, grant.body);
    }
    const id = await c.openDraft();
    assert.equal((await c.add(id, { puts: hashes.map((hash, i) => c.put(`d/${i}`, hash)) })).statusCode, 200);
    const t0 = h.clock.now;
    try {
      // The grants aged: the walk looks at each blob, which the draft keeps.
      h.clock.now = t0 + 4 * HOUR;
      const ours = () => deleted.filter((hash) => hashes.includes(hash)).sort();
      await collect();
      assert.deepEqual(ours(), []);
      h.clock.now = t0 + 23 * HOUR;
      await collect();
      assert.deepEqual(ours(), []);
      // Abandoned: a day after its last batch it expired; the collection removes it and its blobs.
      h.clock.now = t0 + 24 * HOUR + 1000;
      await collect();
      assert.deepEqual(ours(), [...hashes].sort());
      assert.equal((await h.db.selectFrom('drafts').select('id').where('id', '=', id).execute()).length, 0);
      assert.equal(
        (await h.db.selectFrom('draft_entries').select('name').where('draft_id', '=', id).execute()).length,
        0,
      );
    } finally {
      h.clock.now = t0;
    }
  });
});
