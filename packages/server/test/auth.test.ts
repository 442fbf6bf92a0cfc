import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { buildServerApp } from '../src/index.ts';
import { forEachEngine } from './helpers/engines.ts';
import { JWT_SECRET, useHarness } from './helpers/harness.ts';

forEachEngine((engine) => {
  const h = useHarness(engine);

  test('sign-up answers a token that /auth/me accepts, with the personal namespace owned', async () => {
    const alice = await h.user('alice');
    const me = await h.call('GET', '/auth/me', alice.token);
    assert.equal(me.statusCode, 200);
    assert.deepEqual(me.json(), {
      username: alice.name,
      namespaces: [{ name: alice.name, kind: 'user', role: 'owner' }],
    });
  });

  test('sign-up refuses a taken name, a bad name and a short password', async () => {
    const alice = await h.user('alice');
    const taken = await h.call('POST', '/auth/signup', undefined, {
      username: alice.name,
      password: 'another password',
    });
    assert.equal(taken.statusCode, 409);
    assert.equal(taken.json().error.code, 'conflict');
    for (const username of ['Alice', '-bob', 'a'.repeat(64), 'x/y', '']) {
      const res = await h.call('POST', '/auth/signup', undefined, { username, password: 'long enough password' });
      assert.equal(res.statusCode, 400, username);
      assert.equal(res.json().error.code, 'invalid_request');
    }
    const short = await h.call('POST', '/auth/signup', undefined, { username: 'shortpw', password: 'short' });
    assert.equal(short.statusCode, 400);
  });

  test('sign-up is closed when signup is not allowed', async () => {
    const closed = await buildServerApp({ config: { ...h.config, allowSignup: false }, db: h.db });
    try {
      const res = await closed.inject({
        method: 'POST',
        url: '/auth/signup',
        payload: { username: 'nobody', password: 'long enough password' },
      });
      assert.equal(res.statusCode, 403);
      assert.equal(res.json().error.code, 'forbidden');
    } finally {
      await closed.close();
    }
  });

  test('login answers an HS256 JWT with exp; unknown user and wrong password answer alike', async () => {
    const alice = await h.user('alice');
    const ok = await h.call('POST', '/auth/login', undefined, {
      username: alice.name,
      password: 'correct horse battery',
    });
    assert.equal(ok.statusCode, 200);
    const { token, expiresAt } = ok.json();
    assert.equal(decodeProtectedHeader(token).alg, 'HS256');
    const claims = decodeJwt(token);
    assert.equal(claims.exp, Math.floor(h.clock.now / 1000) + h.config.jwtTtlSeconds);
    assert.equal(new Date(expiresAt).getTime(), claims.exp! * 1000);
    assert.equal((await h.call('GET', '/auth/me', token)).json().username, alice.name);

    const wrong = await h.call('POST', '/auth/login', undefined, { username: alice.name, password: 'wrong password!' });
    const unknown = await h.call('POST', '/auth/login', undefined, {
      username: 'nosuchuser',
      password: 'wrong password!',
    });
    assert.equal(wrong.statusCode, 401);
    assert.equal(unknown.statusCode, 401);
    assert.deepEqual(unknown.json(), wrong.json());
    assert.equal(unknown.body, wrong.body);
  });

  test('a forged, foreign-algorithm, exp-less or expired JWT is 401', async () => {
    const alice = await h.user('alice');
    const sub = decodeJwt(alice.token).sub!;
    const key = new TextEncoder().encode(JWT_SECRET);
    const now = Math.floor(h.clock.now / 1000);
    const base = () => new SignJWT({}).setSubject(sub).setIssuer('dreamlake').setIssuedAt(now);
    const tokens = {
      otherSecret: await base()
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(now + 60)
        .sign(new TextEncoder().encode('x'.repeat(40))),
      hs512: await base()
        .setProtectedHeader({ alg: 'HS512' })
        .setExpirationTime(now + 60)
        .sign(key),
      noExp: await base().setProtectedHeader({ alg: 'HS256' }).sign(key),
      expired: await base()
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(now - 1)
        .sign(key),
      unsigned: `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub, exp: now + 60, iss: 'dreamlake' })).toString('base64url')}.`,
    };
    const control = await base()
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(now + 60)
      .sign(key);
    assert.equal((await h.call('GET', '/auth/me', control)).statusCode, 200);
    for (const [kind, token] of Object.entries(tokens)) {
      const res = await h.call('GET', '/auth/me', token);
      assert.equal(res.statusCode, 401, kind);
      assert.equal(res.json().error.code, 'unauthorized');
    }
    assert.equal((await h.call('GET', '/auth/me')).statusCode, 401);
  });

  test('a JWT stops working when its lifetime passes, even one just used', async () => {
    const alice = await h.user('alice');
    const saved = h.clock.now;
    try {
      h.clock.now += (h.config.jwtTtlSeconds - 1) * 1000;
      assert.equal((await h.call('GET', '/auth/me', alice.token)).statusCode, 200);
      h.clock.now += 2 * 1000;
      assert.equal((await h.call('GET', '/auth/me', alice.token)).statusCode, 401);
    } finally {
      h.clock.now = saved;
    }
  });

  test('personal access tokens: created once, accepted like a JWT, listed with last use, revoked', async () => {
    const alice = await h.user('alice');
    const created = await h.call('POST', '/auth/tokens', alice.token, { name: 'ci runner' });
    assert.equal(created.statusCode, 201);
    const { id, token, name, createdAt } = created.json();
    assert.match(token, /^dlp_[A-Za-z0-9_-]{43}$/);
    assert.equal(name, 'ci runner');
    assert.ok(createdAt);

    const rows = await h.db.selectFrom('access_tokens').selectAll().where('id', '=', id).execute();
    assert.equal(rows.length, 1);
    assert.notEqual(rows[0]!.token_hash, token);
    assert.ok(!JSON.stringify(rows).includes(token.slice(4)));

    assert.equal((await h.call('GET', '/auth/me', token)).json().username, alice.name);
    const listed = (await h.call('GET', '/auth/tokens', alice.token)).json().tokens;
    assert.deepEqual(
      listed.map((t: { id: string }) => t.id),
      [id],
    );
    assert.equal(listed[0].lastUsedAt, new Date(h.clock.now).toISOString());
    assert.equal(listed[0].token, undefined);

    const bob = await h.user('bob');
    assert.equal((await h.call('DELETE', `/auth/tokens/${id}`, bob.token)).statusCode, 404);
    assert.equal((await h.call('GET', '/auth/me', token)).statusCode, 200);

    assert.equal((await h.call('DELETE', `/auth/tokens/${id}`, alice.token)).statusCode, 204);
    assert.equal((await h.call('GET', '/auth/me', token)).statusCode, 401);
    assert.deepEqual((await h.call('GET', '/auth/tokens', alice.token)).json().tokens, []);
    assert.equal((await h.call('DELETE', `/auth/tokens/${id}`, alice.token)).statusCode, 404);
    assert.equal((await h.call('GET', '/auth/me', 'dlp_madeup')).statusCode, 401);
  });

  test('a token revoked through one server process is refused at once by another sharing the database', async () => {
    const alice = await h.user('alice');
    const { id, token } = (await h.call('POST', '/auth/tokens', alice.token, { name: 'shared' })).json();
    const other = await buildServerApp({ config: h.config, db: h.db, clock: () => h.clock.now });
    try {
      const me = () => other.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${token}` } });
      assert.equal((await me()).statusCode, 200);
      assert.equal((await h.call('DELETE', `/auth/tokens/${id}`, alice.token)).statusCode, 204);
      assert.equal((await me()).statusCode, 401);
    } finally {
      await other.close();
    }
  });
});
