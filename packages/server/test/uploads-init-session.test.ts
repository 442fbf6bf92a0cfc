import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listUploadGrants } from '../src/db/upload-grants.ts';
import { forEachEngine } from './helpers/engines.ts';
import { sha256, useHarness } from './helpers/harness.ts';

/**
 * `POST /uploads/init` reads the caller's token epoch in the same query as the grant's target: a
 * session ended by a logout is still refused at once, before anything else is answered or
 * written, whatever the request asks for.
 */
forEachEngine((engine) => {
  const h = useHarness(engine);
  const body = (namespace: string, extra: Record<string, unknown> = {}) => ({
    namespace,
    space: 'robotics',
    filename: 'runs/day1.bin',
    hash: sha256(`content-${namespace}`),
    contentType: 'application/octet-stream',
    type: 'files',
    size: 1000,
    ...extra,
  });
  const init = (token: string, payload: unknown) => h.call('POST', '/uploads/init', token, payload);

  test('a JWT whose session ended by a logout gets 401 for every grant request, and nothing is audited', async () => {
    const alice = await h.user('alice');
    const bob = await h.user('bob');
    const before = await init(alice.token, body(alice.name));
    assert.equal(before.statusCode, 200, before.body);
    const stored = (await listUploadGrants(h.db, alice.name)).length;

    assert.equal((await h.call('POST', '/auth/logout', alice.token)).statusCode, 204);
    const asks = {
      'a new blob': body(alice.name, { hash: sha256('new blob') }),
      'the blob granted before': body(alice.name),
      'another user’s namespace': body(bob.name),
      'a namespace that does not exist': body('no-such-namespace'),
      'an invalid body': body(alice.name, { size: -1 }),
    };
    for (const [what, payload] of Object.entries(asks)) {
      const res = await init(alice.token, payload);
      assert.equal(res.statusCode, 401, `${what}: ${res.body}`);
      assert.equal(res.json().error.code, 'unauthorized', what);
    }
    assert.equal((await listUploadGrants(h.db, alice.name)).length, stored);
    assert.equal((await listUploadGrants(h.db, bob.name)).length, 0);

    // A new login works at once, and another user's session was never touched.
    const login = await h.call('POST', '/auth/login', undefined, {
      username: alice.name,
      password: 'correct horse battery',
    });
    assert.equal(login.statusCode, 200, login.body);
    const fresh = await init(login.json().token, body(alice.name, { hash: sha256('after login') }));
    assert.equal(fresh.statusCode, 200, fresh.body);
    const grant = await init(bob.token, body(bob.name));
    assert.equal(grant.statusCode, 200, grant.body);
    const rows = await listUploadGrants(h.db, alice.name);
    assert.equal(rows.length, stored + 1);
    assert.equal(rows.at(-1)?.username, alice.name);
  });

  test('a JWT keeps working for grants while its session lasts, with the audit naming its user', async () => {
    const carol = await h.user('carol');
    for (const n of [1, 2, 3]) {
      const res = await init(carol.token, body(carol.name, { hash: sha256(`carol ${n}`) }));
      assert.equal(res.statusCode, 200, res.body);
      assert.ok(res.json().initUrl);
    }
    const rows = await listUploadGrants(h.db, carol.name);
    assert.deepEqual(
      rows.map((r) => [r.username, r.outcome]),
      [1, 2, 3].map(() => [carol.name, 'granted']),
    );
  });
});
