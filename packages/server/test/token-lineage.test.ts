import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endSessions } from '../src/db/users.ts';
import { forEachEngine } from './helpers/engines.ts';
import { sha256, useHarness } from './helpers/harness.ts';

const GOOD = 'correct horse battery';
const DAY_MS = 86400_000;

forEachEngine((engine) => {
  const h = useHarness(engine);
  const mint = (token: string, body: object) => h.call('POST', '/auth/tokens', token, body);
  const me = async (token: string) => (await h.call('GET', '/auth/me', token)).statusCode;

  test('a token never outlives the token that minted it', async () => {
    const alice = await h.user('alice');
    const parent = (await mint(alice.token, { name: 'one day', expiresInDays: 1, password: GOOD })).json();
    assert.equal(parent.expiresAt, new Date(h.clock.now + DAY_MS).toISOString());

    const forever = await mint(parent.token, { name: 'forever' });
    assert.equal(forever.statusCode, 201, forever.body);
    assert.deepEqual(forever.json().scopes, ['read', 'write', 'admin', 'share']);
    assert.equal(forever.json().expiresAt, parent.expiresAt, 'no expiry asked: the minter’s');

    const longer = await mint(parent.token, { name: 'two days', expiresInDays: 2 });
    assert.equal(longer.statusCode, 400, longer.body);
    assert.equal(longer.json().error.code, 'invalid_request');
    assert.match(longer.json().error.message, /would expire after the credential minting it/);
    const later = new Date(h.clock.now + DAY_MS + 1000).toISOString();
    assert.equal((await mint(parent.token, { name: 'later', expiresAt: later })).statusCode, 400);
    // The password lifts no limit for a token's children: it cannot mint a token past itself.
    assert.equal((await mint(parent.token, { name: 'pw', expiresInDays: 2, password: GOOD })).statusCode, 400);

    const shorter = await mint(parent.token, {
      name: 'hour',
      expiresAt: new Date(h.clock.now + 3600_000).toISOString(),
    });
    assert.equal(shorter.statusCode, 201);

    const saved = h.clock.now;
    try {
      h.clock.now += DAY_MS + 1;
      assert.equal(await me(parent.token), 401);
      assert.equal(await me(forever.json().token), 401);
    } finally {
      h.clock.now = saved;
    }
  });

  test('a token minted with a login session lasts as long as the session, unless the password is given again', async () => {
    const bob = await h.user('bob');
    const sessionEnd = new Date((Math.floor(h.clock.now / 1000) + h.config.jwtTtlSeconds) * 1000).toISOString();
    const plain = await mint(bob.token, { name: 'plain' });
    assert.equal(plain.statusCode, 201);
    assert.equal(plain.json().expiresAt, sessionEnd);
    const week = await mint(bob.token, { name: 'week', expiresInDays: 7 });
    assert.equal(week.statusCode, 400);
    assert.equal(week.json().error.code, 'invalid_request');

    const wrong = await mint(bob.token, { name: 'ci', password: 'not the password' });
    assert.equal(wrong.statusCode, 403);
    assert.equal(wrong.json().error.code, 'forbidden');
    const ci = await mint(bob.token, { name: 'ci', password: GOOD });
    assert.equal(ci.statusCode, 201, ci.body);
    assert.equal(ci.json().expiresAt, null);
    const weekly = await mint(bob.token, { name: 'weekly', expiresInDays: 7, password: GOOD });
    assert.equal(weekly.json().expiresAt, new Date(h.clock.now + 7 * DAY_MS).toISOString());

    const saved = h.clock.now;
    try {
      h.clock.now += h.config.jwtTtlSeconds * 1000 + 1;
      assert.equal(await me(plain.json().token), 401);
      assert.equal(await me(ci.json().token), 200);
    } finally {
      h.clock.now = saved;
    }
  });

  test('revoking a token revokes every token it minted, and theirs, and nothing else', async () => {
    const carol = await h.user('carol');
    const root = (await mint(carol.token, { name: 'root', password: GOOD })).json();
    const child = (await mint(root.token, { name: 'child' })).json();
    const grandchild = (await mint(child.token, { name: 'grandchild', scopes: ['read'] })).json();
    const sibling = (await mint(carol.token, { name: 'sibling', password: GOOD })).json();
    const cousin = (await mint(sibling.token, { name: 'cousin' })).json();
    for (const t of [root, child, grandchild, sibling, cousin]) assert.equal(await me(t.token), 200);

    assert.equal((await h.call('DELETE', `/auth/tokens/${root.id}`, carol.token)).statusCode, 204);
    for (const t of [root, child, grandchild]) assert.equal(await me(t.token), 401, t.name);
    for (const t of [sibling, cousin]) assert.equal(await me(t.token), 200, t.name);
    const listed = (await h.call('GET', '/auth/tokens', carol.token)).json().tokens;
    assert.deepEqual(listed.map((t: { name: string }) => t.name).sort(), ['cousin', 'sibling']);

    // Revoking a token in the middle leaves its minter.
    const mid = (await mint(sibling.token, { name: 'mid' })).json();
    const leaf = (await mint(mid.token, { name: 'leaf' })).json();
    assert.equal((await h.call('DELETE', `/auth/tokens/${mid.id}`, sibling.token)).statusCode, 204);
    assert.equal(await me(leaf.token), 401);
    assert.equal(await me(sibling.token), 200);
  });

  test('a token minted by a token that ends with its login session ends with that session too, however deep', async () => {
    const erin = await h.user('erin');
    const brief = (await mint(erin.token, { name: 'brief' })).json();
    const child = (await mint(brief.token, { name: 'child' })).json();
    const grandchild = (await mint(child.token, { name: 'grandchild', password: GOOD })).json();
    const kept = (await mint(erin.token, { name: 'kept', password: GOOD })).json();
    for (const t of [brief, child, grandchild, kept]) assert.equal(await me(t.token), 200, t.name);
    // The session ends, and the process stops before it revoked anything: the tokens still end with it.
    const { id } = await h.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', erin.name)
      .executeTakeFirstOrThrow();
    await endSessions(h.db, id);
    for (const t of [brief, child, grandchild]) assert.equal(await me(t.token), 401, t.name);
    assert.equal(await me(kept.token), 200);
  });

  test('a read-only token may ask for a batch of download URLs', async () => {
    const dave = await h.user('dave');
    const hash = sha256(`${engine}-dave-a`);
    h.bss.put(dave.name, 'data', hash, 5, 'application/octet-stream');
    const filesUrl = `/namespaces/${dave.name}/spaces/data/files`;
    assert.equal((await h.call('POST', filesUrl, dave.token, { name: 'a.bin', hash, type: 'files' })).statusCode, 201);
    const read = (await mint(dave.token, { name: 'reader', scopes: ['read'] })).json().token as string;
    const res = await h.call('POST', '/downloads/batch', read, {
      namespace: dave.name,
      space: 'data',
      files: [{ name: 'a.bin' }],
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().files[0].hash, hash);
    // Still read-only: no upload grants.
    const upload = await h.call('POST', '/uploads/batch', read, { namespace: dave.name, space: 'data', files: [] });
    assert.equal(upload.statusCode, 403);
  });
});
