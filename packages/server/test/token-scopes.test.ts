import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildServerApp } from '../src/index.ts';
import { forEachEngine } from './helpers/engines.ts';
import { sha256, useHarness } from './helpers/harness.ts';

const GOOD = 'correct horse battery';

forEachEngine((engine) => {
  const h = useHarness(engine);
  const mint = (token: string, body: object) => h.call('POST', '/auth/tokens', token, body);

  test('a read token reads but cannot upload, create spaces or manage tokens and organisations', async () => {
    const alice = await h.user('alice');
    assert.equal(
      (await h.call('POST', `/namespaces/${alice.name}/spaces`, alice.token, { name: 'data' })).statusCode,
      201,
    );
    const created = await mint(alice.token, { name: 'reader', scopes: ['read'] });
    assert.equal(created.statusCode, 201);
    assert.deepEqual(created.json().scopes, ['read']);
    const read = created.json().token as string;
    assert.equal((await h.call('GET', '/auth/me', read)).statusCode, 200);
    assert.equal((await h.call('GET', `/namespaces/${alice.name}/spaces/data/files`, read)).statusCode, 200);
    assert.equal(
      (await h.call('POST', `/namespaces/${alice.name}/spaces/data/files/lookup`, read, { entries: [] })).statusCode ===
        403,
      false,
    );
    const upload = {
      namespace: alice.name,
      space: 'data',
      filename: 'a.txt',
      hash: sha256('a'),
      contentType: 'text/plain',
      type: 'file',
      size: 1,
    };
    const refused = [
      await h.call('POST', '/uploads/init', read, upload),
      await h.call('POST', `/namespaces/${alice.name}/spaces`, read, { name: 'more' }),
      await mint(read, { name: 'again', scopes: ['read'] }),
      await h.call('GET', '/auth/tokens', read),
      await h.call('POST', '/orgs', read, { name: 'readersorg' }),
    ];
    for (const res of refused) {
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(res.json().error.code, 'forbidden');
    }
  });

  test('a token cannot mint a token with scopes it does not hold; a JWT holds them all', async () => {
    const bob = await h.user('bob');
    const all = (await mint(bob.token, { name: 'everything' })).json();
    assert.deepEqual(all.scopes, ['read', 'write', 'admin', 'share']);
    const admin = (await mint(bob.token, { name: 'admin only', scopes: ['admin'] })).json().token as string;
    const tooMuch = await mint(admin, { name: 'escalate', scopes: ['admin', 'write'] });
    assert.equal(tooMuch.statusCode, 403);
    const same = await mint(admin, { name: 'same', scopes: ['admin'] });
    assert.equal(same.statusCode, 201);
    const defaulted = await mint(admin, { name: 'default' });
    assert.deepEqual(defaulted.json().scopes, ['admin']);
    assert.equal((await mint(bob.token, { name: 'bad', scopes: ['root'] })).statusCode, 400);
  });

  test('a token with an expiry stops working when it passes, and lists its expiry', async () => {
    const carol = await h.user('carol');
    const byDays = (await mint(carol.token, { name: 'week', expiresInDays: 7, password: GOOD })).json();
    const at = new Date(h.clock.now + 3600_000).toISOString();
    const byDate = (await mint(carol.token, { name: 'hour', expiresAt: at })).json();
    assert.equal(byDate.expiresAt, at);
    assert.equal(byDays.expiresAt, new Date(h.clock.now + 7 * 86400_000).toISOString());
    assert.equal(
      (await mint(carol.token, { name: 'past', expiresAt: new Date(h.clock.now - 1000).toISOString() })).statusCode,
      400,
    );
    assert.equal((await mint(carol.token, { name: 'both', expiresAt: at, expiresInDays: 1 })).statusCode, 400);
    const saved = h.clock.now;
    try {
      h.clock.now += 3600_000 + 1;
      assert.equal((await h.call('GET', '/auth/me', byDate.token)).statusCode, 401);
      assert.equal((await h.call('GET', '/auth/me', byDays.token)).statusCode, 200);
      const listed = (await h.call('GET', '/auth/tokens', carol.token)).json().tokens;
      assert.deepEqual(
        listed.map((t: { expiresAt: string }) => t.expiresAt),
        [byDays.expiresAt, at],
      );
    } finally {
      h.clock.now = saved;
    }
  });

  test('changing the password ends earlier JWTs at once, here and elsewhere, and revokes access tokens', async () => {
    const dave = await h.user('dave');
    const other = await buildServerApp({ config: h.config, db: h.db, clock: () => h.clock.now });
    try {
      const pat = (await mint(dave.token, { name: 'ci' })).json().token as string;
      const meOther = (token: string) =>
        other.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${token}` } });
      assert.equal((await meOther(dave.token)).statusCode, 200);
      assert.equal(
        (
          await h.call('POST', '/auth/password', dave.token, {
            currentPassword: 'wrong one',
            newPassword: 'a brand new secret',
          })
        ).statusCode,
        403,
      );
      const changed = await h.call('POST', '/auth/password', dave.token, {
        currentPassword: GOOD,
        newPassword: 'a brand new secret',
      });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal((await h.call('GET', '/auth/me', dave.token)).statusCode, 401);
      assert.equal((await h.call('GET', '/auth/me', pat)).statusCode, 401);
      assert.equal((await h.call('GET', '/auth/me', changed.json().token)).statusCode, 200);
      assert.equal((await meOther(dave.token)).statusCode, 401);
      assert.equal(
        (await h.call('POST', '/auth/login', undefined, { username: dave.name, password: GOOD })).statusCode,
        401,
      );
      assert.equal(
        (await h.call('POST', '/auth/login', undefined, { username: dave.name, password: 'a brand new secret' }))
          .statusCode,
        200,
      );
    } finally {
      await other.close();
    }
  });

  test('keepTokens keeps access tokens working through a password change, but not those the session minted without the password', async () => {
    const erin = await h.user('erin');
    const pat = (await mint(erin.token, { name: 'ci', password: GOOD })).json().token as string;
    const brief = (await mint(erin.token, { name: 'brief' })).json().token as string;
    const changed = await h.call('POST', '/auth/password', erin.token, {
      currentPassword: GOOD,
      newPassword: 'another new secret',
      keepTokens: true,
    });
    assert.equal(changed.statusCode, 200);
    assert.equal((await h.call('GET', '/auth/me', pat)).statusCode, 200);
    assert.equal((await h.call('GET', '/auth/me', brief)).statusCode, 401);
    assert.equal((await h.call('GET', '/auth/me', erin.token)).statusCode, 401);
  });
});
