import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listUploadGrants } from '../src/db/upload-grants.ts';
import { forEachEngine } from './helpers/engines.ts';
import { PRESIGN_SECRET, PUBLIC_BSS, sha256, useHarness } from './helpers/harness.ts';
import { readSignedUrl, specSignature } from './helpers/spec-signature.ts';

const QUOTA = 10_000;
const MAX = 1_000_000;

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({ namespaceQuotaBytes: QUOTA, maxUploadBytes: MAX }));
  const body = (namespace: string, extra: Record<string, unknown> = {}) => ({
    namespace,
    space: 'robotics',
    filename: 'runs/day1.mp4',
    hash: sha256(`content-${namespace}`),
    contentType: 'video/mp4',
    type: 'videos',
    size: 1000,
    ...extra,
  });
  const init = (token: string | undefined, payload: unknown) => h.call('POST', '/uploads/init', token, payload);
  const orgWith = async (owner: string, members: Record<string, string>) => {
    const name = `org-${Math.random().toString(36).slice(2, 10)}`;
    assert.equal((await h.call('POST', '/orgs', owner, { name })).statusCode, 201);
    for (const [username, role] of Object.entries(members)) {
      assert.equal((await h.call('PUT', `/orgs/${name}/members/${username}`, owner, { role })).statusCode, 200);
    }
    return name;
  };

  test('401 without a valid token', async () => {
    assert.equal((await init(undefined, body('x'))).statusCode, 401);
    assert.equal((await init('not-a-jwt', body('x'))).statusCode, 401);
    assert.equal((await init('dlp_unknown', body('x'))).statusCode, 401);
  });

  test('owner, admin and writer get URLs; reader, outsider and a missing namespace get 403', async () => {
    const [owner, admin, writer, reader, outsider] = [
      await h.user('o'),
      await h.user('a'),
      await h.user('w'),
      await h.user('r'),
      await h.user('x'),
    ];
    const org = await orgWith(owner.token, { [admin.name]: 'admin', [writer.name]: 'writer', [reader.name]: 'reader' });
    for (const who of [owner, admin, writer]) {
      const res = await init(who.token, body(org, { hash: sha256(who.name) }));
      assert.equal(res.statusCode, 200, `${who.name}: ${res.body}`);
      assert.ok(res.json().initUrl);
    }
    for (const who of [reader, outsider]) {
      const res = await init(who.token, body(org));
      assert.equal(res.statusCode, 403, who.name);
      assert.equal(res.json().error.code, 'forbidden');
    }
    assert.equal((await init(outsider.token, body(owner.name))).statusCode, 403);
    assert.equal((await init(outsider.token, body('no-such-namespace'))).statusCode, 403);
    assert.equal((await init(outsider.token, body(outsider.name))).statusCode, 200);
  });

  test('the five URLs carry the spec signature over owner, project, hash, size and user, on the public BSS address', async () => {
    const alice = await h.user('alice');
    const b = body(alice.name, { type: 'text-tracks' });
    const res = await init(alice.token, b);
    assert.equal(res.statusCode, 200);
    const answer = res.json();
    assert.deepEqual(Object.keys(answer).sort(), [
      'abortUrl',
      'completeUrl',
      'expiresAt',
      'initUrl',
      'partsDoneUrl',
      'partsUrl',
    ]);
    const expectedExp = Math.floor(h.clock.now / 1000) + h.config.presignTtlSeconds;
    assert.equal(answer.expiresAt, new Date(expectedExp * 1000).toISOString());
    const steps = {
      initUrl: 'init',
      partsUrl: 'parts',
      partsDoneUrl: 'parts-done',
      completeUrl: 'complete',
      abortUrl: 'abort',
    } as const;
    const user = readSignedUrl(answer.initUrl).params.user;
    assert.ok(user, 'the grant names its user');
    for (const [field, step] of Object.entries(steps)) {
      const url = readSignedUrl(answer[field]);
      assert.equal(url.origin, PUBLIC_BSS);
      assert.equal(url.path, `/text-tracks/upload/multipart/${step}`);
      assert.deepEqual(url.params, { owner: alice.name, project: 'robotics', hash: b.hash, size: '1000', user });
      assert.equal(url.exp, expectedExp);
      assert.equal(url.sig, specSignature(PRESIGN_SECRET, `upload-${step}`, url.params, url.exp), field);
    }

    const bob = await h.user('bob');
    const bobs = readSignedUrl((await init(bob.token, body(bob.name))).json().initUrl);
    assert.ok(bobs.params.user && bobs.params.user !== user, 'each grant names its own user');
  });

  test('any invalid field is 400', async () => {
    const alice = await h.user('alice');
    const bad: Record<string, unknown>[] = [
      { namespace: 'Alice' },
      { space: '' },
      { space: '../x' },
      { filename: '' },
      { filename: '/etc/passwd' },
      { filename: 'a/../b' },
      { filename: 'a//b' },
      { filename: 'bell\u0007' },
      { filename: 'x'.repeat(1025) },
      { hash: 'a'.repeat(63) },
      { hash: 'A'.repeat(64) },
      { hash: 'abcdef0123456789' },
      { contentType: '' },
      { contentType: 'not a type' },
      { type: 'movies' },
      { type: 'Videos' },
      { size: -1 },
      { size: 1.5 },
      { size: '100' },
      { extra: true },
    ];
    for (const change of bad) {
      const res = await init(alice.token, body(alice.name, change));
      assert.equal(res.statusCode, 400, JSON.stringify(change));
      assert.equal(res.json().error.code, 'invalid_request');
    }
    for (const field of ['namespace', 'space', 'filename', 'hash', 'contentType', 'type', 'size']) {
      const payload: Record<string, unknown> = body(alice.name);
      delete payload[field];
      assert.equal((await init(alice.token, payload)).statusCode, 400, field);
    }
    assert.equal((await init(alice.token, body(alice.name, { filename: 'ok/ünïcode name.mp4' }))).statusCode, 200);
  });

  test('413 over the size limit and over the namespace quota', async () => {
    const alice = await h.user('alice');
    const tooBig = await init(alice.token, body(alice.name, { size: MAX + 1 }));
    assert.equal(tooBig.statusCode, 413);
    assert.equal(tooBig.json().error.code, 'too_large');
    assert.equal((await init(alice.token, body(alice.name, { size: QUOTA }))).statusCode, 200);
    const past = await init(alice.token, body(alice.name, { hash: sha256('past the quota'), size: QUOTA + 1 }));
    assert.equal(past.statusCode, 413);

    const bob = await h.user('bob');
    const register = (name: string, hash: string) =>
      h.call('POST', `/namespaces/${bob.name}/spaces/robotics/files`, bob.token, { name, hash, type: 'files' });
    const used = sha256('used');
    h.bss.put(bob.name, 'robotics', used, 9_000);
    assert.equal((await register('big.bin', used)).statusCode, 201);
    const granted = body(bob.name, { size: 1_000 });
    assert.equal((await init(bob.token, granted)).statusCode, 200);
    const over = await init(bob.token, body(bob.name, { space: 'other', size: 1 }));
    assert.equal(over.statusCode, 413, 'the grant of 1,000 bytes fills the namespace');
    assert.equal(over.json().error.code, 'too_large');

    // Registering the granted blob: its bytes move from granted to stored.
    h.bss.put(bob.name, 'robotics', granted.hash, 1_000);
    assert.equal((await register('fill.bin', granted.hash)).statusCode, 201);
    const empty = await init(bob.token, body(bob.name, { hash: sha256('empty'), size: 0 }));
    assert.equal(empty.statusCode, 413, 'a stated size of 0 does not skip the quota of a full namespace');

    const extra = sha256('one more byte');
    h.bss.put(bob.name, 'robotics', extra, 1);
    const registerOver = await register('extra.bin', extra);
    assert.equal(registerOver.statusCode, 413);
    assert.equal(registerOver.json().error.code, 'too_large');
    const smaller = sha256('smaller');
    h.bss.put(bob.name, 'robotics', smaller, 500);
    // The snapshots before keep naming the big blob: pointing its name at a smaller one frees
    // nothing, and a full namespace takes no new blob. Removing names is allowed at the quota.
    const replace = await register('big.bin', smaller);
    assert.equal(replace.statusCode, 413, 'a replaced blob still counts while an older snapshot names it');
    const removed = await h.call('POST', `/namespaces/${bob.name}/spaces/robotics/commits`, bob.token, {
      deletes: ['big.bin'],
    });
    assert.equal(removed.statusCode, 201, removed.body);
  });

  test('a hash the space already indexes answers exists with the file, and no URLs', async () => {
    const alice = await h.user('alice');
    const hash = sha256('dedup');
    h.bss.put(alice.name, 'robotics', hash, 1234, 'video/mp4');
    const reg = await h.call('POST', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token, {
      name: 'a.mp4',
      hash,
      type: 'videos',
    });
    assert.equal(reg.statusCode, 201);
    const res = await init(alice.token, body(alice.name, { hash, filename: 'copy.mp4' }));
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { exists: true, file: reg.json().file });
    const audit = await listUploadGrants(h.db, alice.name);
    assert.deepEqual(
      audit.map((g) => [g.outcome, g.filename, g.hash]),
      [['exists', 'copy.mp4', hash]],
    );
    const elsewhere = await init(alice.token, body(alice.name, { hash, space: 'elsewhere' }));
    assert.ok(elsewhere.json().initUrl, 'another space of the same namespace does not share the blob');
  });

  test('a blob BSS holds but the index never recorded is granted without asking BSS; registering it then works', async () => {
    const alice = await h.user('alice');
    const hash = sha256('completed-but-never-registered');
    h.bss.put(alice.name, 'robotics', hash, 4321, 'video/mp4');
    const statsBefore = h.bss.stats.length;
    const res = await init(alice.token, body(alice.name, { hash, filename: 'late.mp4', size: 4321 }));
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(res.json().initUrl, 'URLs: BSS itself tells the client it holds the blob');
    assert.equal(h.bss.stats.length, statsBefore, 'the grant does not ask BSS');
    const reg = await h.call('POST', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token, {
      name: 'late.mp4',
      hash,
      type: 'videos',
    });
    assert.equal(reg.statusCode, 201, reg.body);
    assert.deepEqual([reg.json().file.name, reg.json().file.size, reg.json().file.hash], ['late.mp4', 4321, hash]);
    const again = await init(alice.token, body(alice.name, { hash, filename: 'late.mp4' }));
    assert.equal(again.json().exists, true);
  });

  test('every answer is audited with who, when, scope and address', async () => {
    const alice = await h.user('alice');
    const b = body(alice.name, { filename: 'audited.mp4' });
    const res = await h.app.inject({
      method: 'POST',
      url: '/uploads/init',
      headers: { authorization: `Bearer ${alice.token}` },
      payload: b,
      remoteAddress: '192.0.2.7',
    });
    assert.equal(res.statusCode, 200);
    await init(alice.token, body(alice.name, { size: MAX + 1 }));
    const rows = await listUploadGrants(h.db, alice.name);
    assert.equal(rows.length, 1);
    assert.deepEqual(
      { ...rows[0], userId: undefined },
      {
        userId: undefined,
        username: alice.name,
        namespace: alice.name,
        space: 'robotics',
        hash: b.hash,
        filename: 'audited.mp4',
        type: 'videos',
        size: 1000,
        contentType: 'video/mp4',
        outcome: 'granted',
        ip: '192.0.2.7',
        createdAt: new Date(h.clock.now).toISOString(),
      },
    );
  });

  test('concurrent grants are each audited before they are answered', async () => {
    const alice = await h.user('alice');
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        init(alice.token, body(alice.name, { hash: sha256(`many-${i}`), filename: `many/${i}`, size: 10 })),
      ),
    );
    assert.ok(answers.every((res) => res.statusCode === 200));
    const rows = await listUploadGrants(h.db, alice.name);
    assert.deepEqual(rows.map((r) => r.filename).sort(), Array.from({ length: 25 }, (_, i) => `many/${i}`).sort());
  });

  test('an upload into a missing space creates it; a personal access token works as well as a JWT', async () => {
    const alice = await h.user('alice');
    const pat = (await h.call('POST', '/auth/tokens', alice.token, { name: 'robot' })).json().token;
    assert.equal((await init(pat, body(alice.name, { space: 'fresh-space' }))).statusCode, 200);
    const spaces = (await h.call('GET', `/namespaces/${alice.name}/spaces`, alice.token)).json().spaces;
    assert.deepEqual(
      spaces.map((s: { name: string }) => s.name),
      ['fresh-space'],
    );
    const bob = await h.user('bob');
    assert.equal((await init(bob.token, body(alice.name, { space: 'bobs-space' }))).statusCode, 403);
    assert.equal((await h.call('GET', `/namespaces/${alice.name}/spaces`, alice.token)).json().spaces.length, 1);
  });
});
