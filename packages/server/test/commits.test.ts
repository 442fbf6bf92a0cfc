import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signReceipt } from '@dreamlake/presign';
import { forEachEngine } from './helpers/engines.ts';
import { PRESIGN_SECRET, sha256, useHarness } from './helpers/harness.ts';

forEachEngine((engine) => {
  const h = useHarness(engine);
  const base = (ns: string, space = 'robotics') => `/namespaces/${ns}/spaces/${space}`;
  const receipt = (ns: string, hash: string, size: number, space = 'robotics') =>
    signReceipt(
      [PRESIGN_SECRET],
      { owner: ns, project: space, hash, size, contentType: 'application/octet-stream' },
      Math.floor(h.clock.now / 1000),
      600,
    );
  const hashOf = (text: string) => sha256(`${engine}-${text}-${Math.random()}`);
  const put = (ns: string, name: string, hash: string, size = 10) => ({
    name,
    hash,
    type: 'files',
    receipt: receipt(ns, hash, size),
  });
  const listNames = async (ns: string, token: string, space = 'robotics') => {
    const res = await h.call('GET', `${base(ns, space)}/files?limit=10000`, token);
    assert.equal(res.statusCode, 200, res.body);
    return res.json().files.map((f: { name: string }) => f.name) as string[];
  };
  const head = async (ns: string, space = 'robotics') =>
    Number(
      (
        await h.db
          .selectFrom('spaces')
          .innerJoin('namespaces', 'namespaces.id', 'spaces.namespace_id')
          .select('spaces.head_version')
          .where('namespaces.name', '=', ns)
          .where('spaces.name', '=', space)
          .executeTakeFirst()
      )?.head_version ?? 0,
    );

  test('a 500-file commit lands as one version with its counts, files and bytes', async () => {
    const alice = await h.user('alice');
    const puts = Array.from({ length: 500 }, (_, i) =>
      put(alice.name, `run1/f${String(i).padStart(3, '0')}.bin`, hashOf(`f${i}`), 100 + i),
    );
    const res = await h.call('POST', `${base(alice.name)}/commits`, alice.token, { message: 'first run', puts });
    assert.equal(res.statusCode, 201, res.body);
    const { created, snapshot } = res.json();
    assert.equal(created, true);
    assert.deepEqual(
      {
        namespace: snapshot.namespace,
        space: snapshot.space,
        version: snapshot.version,
        parent: snapshot.parent,
        author: snapshot.author,
        message: snapshot.message,
        counts: snapshot.counts,
        files: snapshot.files,
        bytes: snapshot.bytes,
      },
      {
        namespace: alice.name,
        space: 'robotics',
        version: 1,
        parent: null,
        author: alice.name,
        message: 'first run',
        counts: { added: 500, changed: 0, removed: 0 },
        files: 500,
        bytes: 500 * 100 + (499 * 500) / 2,
      },
    );
    assert.equal((await listNames(alice.name, alice.token)).length, 500);
    assert.equal(await head(alice.name), 1);

    const second = await h.call('POST', `${base(alice.name)}/commits`, alice.token, {
      parent: 1,
      puts: [put(alice.name, 'run1/f000.bin', hashOf('new'), 7), put(alice.name, 'run2/x.bin', hashOf('x'), 3)],
      deletes: ['run1/f001.bin'],
      deletePrefixes: ['run1/f4'],
    });
    assert.equal(second.statusCode, 201, second.body);
    const v2 = second.json().snapshot;
    assert.deepEqual([v2.version, v2.parent, v2.counts], [2, 1, { added: 1, changed: 1, removed: 101 }]);
    assert.equal(v2.files, 500 + 1 - 101);
    const removedBytes = 101 + Array.from({ length: 100 }, (_, i) => 100 + 400 + i).reduce((a, b) => a + b, 0);
    assert.equal(v2.bytes, snapshot.bytes + 7 - 100 + 3 - removedBytes);
    const names = await listNames(alice.name, alice.token);
    assert.equal(names.length, 400);
    assert.ok(names.includes('run2/x.bin') && !names.includes('run1/f001.bin') && !names.includes('run1/f450.bin'));
  });

  test('an empty commit answers 200 with head, or null before the first version; no version is made', async () => {
    const alice = await h.user('alice');
    const none = await h.call('POST', `${base(alice.name)}/commits`, alice.token, {});
    assert.equal(none.statusCode, 200, none.body);
    assert.deepEqual(none.json(), { created: false, snapshot: null });
    const a = hashOf('a');
    const first = await h.call('POST', `${base(alice.name)}/commits`, alice.token, { puts: [put(alice.name, 'a', a)] });
    assert.equal(first.statusCode, 201);
    const same = await h.call('POST', `${base(alice.name)}/commits`, alice.token, {
      puts: [{ name: 'a', hash: a, type: 'files' }],
      deletePrefixes: ['nothing/here/'],
    });
    assert.equal(same.statusCode, 200, same.body);
    assert.equal(same.json().created, false);
    assert.equal(same.json().snapshot.version, 1);
    assert.equal(await head(alice.name), 1);
  });

  test('deleting names head lacks is 404 naming them, and nothing is committed', async () => {
    const alice = await h.user('alice');
    const puts = Array.from({ length: 200 }, (_, i) => put(alice.name, `d/${i}`, hashOf(`d${i}`)));
    assert.equal((await h.call('POST', `${base(alice.name)}/commits`, alice.token, { puts })).statusCode, 201);
    const res = await h.call('POST', `${base(alice.name)}/commits`, alice.token, {
      deletes: ['d/1', 'd/2', 'ghost-b', 'ghost-a'],
    });
    assert.equal(res.statusCode, 404, res.body);
    assert.equal(res.json().error.code, 'not_found');
    assert.deepEqual(res.json().error.names, ['ghost-a', 'ghost-b']);
    assert.equal((await listNames(alice.name, alice.token)).length, 200);
    assert.equal(await head(alice.name), 1);
  });

  test('a name both put and deleted, or given twice, is 400; more than 1000 changes 413', async () => {
    const alice = await h.user('alice');
    const a = hashOf('a');
    const both = await h.call('POST', `${base(alice.name)}/commits`, alice.token, {
      puts: [put(alice.name, 'x', a)],
      deletes: ['x'],
    });
    assert.equal(both.statusCode, 400);
    assert.deepEqual(both.json().error.names, ['x']);
    const twice = await h.call('POST', `${base(alice.name)}/commits`, alice.token, {
      puts: [put(alice.name, 'y', a), put(alice.name, 'y', a)],
    });
    assert.equal(twice.statusCode, 400);
    const many = await h.call('POST', `${base(alice.name)}/commits`, alice.token, {
      deletes: Array.from({ length: 1001 }, (_, i) => `n${i}`),
    });
    assert.equal(many.statusCode, 413);
    assert.equal(many.json().error.maxFiles, 1000);
  });

  test('a commit naming blobs BSS does not hold is refused whole (404 naming them); nothing is published', async () => {
    const alice = await h.user('alice');
    const held = Array.from({ length: 300 }, (_, i) => {
      const hash = hashOf(`held${i}`);
      h.bss.put(alice.name, 'robotics', hash, 5);
      return { name: `ok/${i}`, hash, type: 'files' };
    });
    const missing = [
      { name: 'lost/b', hash: hashOf('lost-b'), type: 'files' },
      { name: 'lost/a', hash: hashOf('lost-a'), type: 'files' },
    ];
    const res = await h.call('POST', `${base(alice.name)}/commits`, alice.token, { puts: [...held, ...missing] });
    assert.equal(res.statusCode, 404, res.body);
    assert.deepEqual(res.json().error.names, ['lost/a', 'lost/b']);
    const listing = await h.call('GET', `${base(alice.name)}/files`, alice.token);
    assert.equal(listing.statusCode, 404, 'not even the space was made');
    assert.equal(await head(alice.name), 0);
    const bad = await h.call('POST', `${base(alice.name)}/commits`, alice.token, {
      puts: [
        ...held,
        { ...put(alice.name, 'forged', hashOf('forged'), 10), receipt: { ...receipt(alice.name, hashOf('f'), 10) } },
      ],
    });
    assert.equal(bad.statusCode, 403, bad.body);
    assert.deepEqual(bad.json().error.names, ['forged']);
    assert.equal(await head(alice.name), 0);
  });

  test('a commit needs a writer: 403 for a reader, 404 outside the namespace', async () => {
    const [owner, reader, outsider] = [await h.user('own'), await h.user('rea'), await h.user('out')];
    const org = `org-commit-${engine}`;
    await h.call('POST', '/orgs', owner.token, { name: org });
    await h.call('PUT', `/orgs/${org}/members/${reader.name}`, owner.token, { role: 'reader' });
    const body = { puts: [put(org, 'x', hashOf('x'))] };
    assert.equal((await h.call('POST', `${base(org)}/commits`, reader.token, body)).statusCode, 403);
    assert.equal((await h.call('POST', `${base(org)}/commits`, outsider.token, body)).statusCode, 404);
    assert.equal((await h.call('POST', `${base(org)}/commits`, undefined, body)).statusCode, 401);
    assert.equal((await h.call('POST', `${base(org)}/commits`, owner.token, body)).statusCode, 201);
  });

  test('restore makes a new version equal to an earlier one; head itself is 200; unknown 404', async () => {
    const alice = await h.user('alice');
    const v1 = Array.from({ length: 100 }, (_, i) => put(alice.name, `r/${i}`, hashOf(`r${i}`)));
    assert.equal((await h.call('POST', `${base(alice.name)}/commits`, alice.token, { puts: v1 })).statusCode, 201);
    const v2 = await h.call('POST', `${base(alice.name)}/commits`, alice.token, {
      puts: [put(alice.name, 'r/0', hashOf('changed')), put(alice.name, 'new', hashOf('new'))],
      deletePrefixes: ['r/5'],
    });
    assert.equal(v2.statusCode, 201);
    const before = await listNames(alice.name, alice.token);
    assert.equal(before.length, 100 - 11 + 1);
    const stale = await h.call('POST', `${base(alice.name)}/restore`, alice.token, { version: 1, parent: 1 });
    assert.equal(stale.statusCode, 409, 'made against version 1, it would undo names changed since');
    assert.equal(stale.json().error.names.length, 13, 'r/0, new, and the 11 names under r/5');
    const res = await h.call('POST', `${base(alice.name)}/restore`, alice.token, { version: 1, parent: 2 });
    assert.equal(res.statusCode, 201, res.body);
    const snap = res.json().snapshot;
    assert.deepEqual(
      [snap.version, snap.parent, snap.counts, snap.files],
      [3, 2, { added: 11, changed: 1, removed: 1 }, 100],
    );
    const files = (await h.call('GET', `${base(alice.name)}/files?limit=10000`, alice.token)).json().files;
    assert.deepEqual(
      files.map((f: { name: string; hash: string }) => [f.name, f.hash]).sort(),
      v1.map((p) => [p.name, p.hash]).sort(),
    );
    const again = await h.call('POST', `${base(alice.name)}/restore`, alice.token, { version: 1 });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().created, false);
    assert.equal((await h.call('POST', `${base(alice.name)}/restore`, alice.token, { version: 9 })).statusCode, 404);
  });

  test('POST …/files and POST …/files/batch answer as before, and each call is one version', async () => {
    const alice = await h.user('alice');
    const one = hashOf('one');
    const single = await h.call('POST', `${base(alice.name)}/files`, alice.token, put(alice.name, 'one.bin', one));
    assert.equal(single.statusCode, 201, single.body);
    assert.equal(single.json().file.name, 'one.bin');
    assert.equal(await head(alice.name), 1);
    const same = await h.call('POST', `${base(alice.name)}/files`, alice.token, {
      name: 'one.bin',
      hash: one,
      type: 'files',
    });
    assert.equal(same.statusCode, 200, 'the name already points at that hash');
    assert.equal(await head(alice.name), 1, 'no version for nothing changed');

    const files = [
      ...Array.from({ length: 300 }, (_, i) => put(alice.name, `batch/${i}`, hashOf(`b${i}`), 5)),
      { name: 'one.bin', hash: one, type: 'files' },
      { name: 'lost.bin', hash: hashOf('lost'), type: 'files' },
      { name: '/bad', hash: one, type: 'files' },
    ];
    const batch = await h.call('POST', `${base(alice.name)}/files/batch`, alice.token, { files });
    assert.equal(batch.statusCode, 200, batch.body);
    const answers = batch.json().files;
    assert.equal(answers.filter((a: { created?: boolean }) => a.created === true).length, 300);
    assert.deepEqual(answers[300], { index: 300, created: false, file: single.json().file });
    assert.equal(answers[301].error.code, 'not_found', 'an entry BSS lacks is its own error, as before');
    assert.equal(answers[302].error.code, 'invalid_request');
    assert.equal(await head(alice.name), 2, 'the valid entries are one version');
    const v2 = await h.db
      .selectFrom('snapshots')
      .innerJoin('spaces', 'spaces.id', 'snapshots.space_id')
      .innerJoin('namespaces', 'namespaces.id', 'spaces.namespace_id')
      .select(['snapshots.added', 'snapshots.files', 'snapshots.parent', 'snapshots.message'])
      .where('namespaces.name', '=', alice.name)
      .where('snapshots.version', '=', 2)
      .executeTakeFirstOrThrow();
    assert.deepEqual([Number(v2.added), Number(v2.files), v2.parent, v2.message], [300, 301, 1, '']);

    const moved = await h.call('POST', `${base(alice.name)}/files/batch`, alice.token, {
      files: [put(alice.name, 'one.bin', hashOf('moved')), put(alice.name, 'batch/0', hashOf('moved0'))],
    });
    assert.equal(moved.statusCode, 200);
    assert.equal(await head(alice.name), 3, 'names pointed at new hashes: one more version');
  });
});
