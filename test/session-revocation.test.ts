import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { logout as cliLogout } from '../packages/cli/src/commands/logout.ts';
import { fakeIo } from '../packages/cli/test/io.ts';
import { buildServerApp, type DB, openDatabase } from '../packages/server/src/index.ts';
import { forEachEngine } from '../packages/server/test/helpers/engines.ts';
import { useHarness } from '../packages/server/test/helpers/harness.ts';

const GOOD = 'correct horse battery';

forEachEngine((engine) => {
  const h = useHarness(engine);

  /** A second server process: its own app and its own connections to the same database. */
  async function otherProcess<T>(fn: (me: (token: string) => Promise<number>, app: FastifyInstance) => Promise<T>) {
    const db: DB = await openDatabase(h.config);
    const app = await buildServerApp({ config: h.config, db, clock: () => h.clock.now });
    try {
      const me = async (token: string) =>
        (await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${token}` } }))
          .statusCode;
      return await fn(me, app);
    } finally {
      await app.close();
      await db.destroy();
    }
  }
  const me = async (token: string) => (await h.call('GET', '/auth/me', token)).statusCode;

  test('a password change on one process ends the old JWT on another at once', async () => {
    const alice = await h.user('alice');
    await otherProcess(async (meOther) => {
      assert.equal(await meOther(alice.token), 200);
      assert.equal(await meOther(alice.token), 200);
      const changed = await h.call('POST', '/auth/password', alice.token, {
        currentPassword: GOOD,
        newPassword: 'a brand new secret',
      });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal(await meOther(alice.token), 401);
      assert.equal(await meOther(changed.json().token), 200);
    });
  });

  test('logout with a JWT ends every login session of the user on every process, and the tokens they minted without the password', async () => {
    const bob = await h.user('bob');
    const pat = (await h.call('POST', '/auth/tokens', bob.token, { name: 'ci', password: GOOD })).json().token;
    const brief = (await h.call('POST', '/auth/tokens', bob.token, { name: 'brief' })).json().token as string;
    const briefChild = (await h.call('POST', '/auth/tokens', brief, { name: 'brief child' })).json().token as string;
    assert.equal(await me(briefChild), 200);
    const second = (await h.call('POST', '/auth/login', undefined, { username: bob.name, password: GOOD })).json()
      .token as string;
    await otherProcess(async (meOther) => {
      assert.equal(await meOther(bob.token), 200);
      const out = await h.call('POST', '/auth/logout', bob.token);
      assert.equal(out.statusCode, 204, out.body);
      for (const token of [bob.token, second]) {
        assert.equal(await me(token), 401);
        assert.equal(await meOther(token), 401);
      }
      assert.equal(await meOther(pat), 200);
      assert.equal(await meOther(brief), 401);
      assert.equal(await meOther(briefChild), 401);
      assert.equal((await h.call('POST', '/auth/logout', bob.token)).statusCode, 401);
      const listed = (await h.call('GET', '/auth/tokens', pat)).json().tokens;
      assert.deepEqual(
        listed.map((t: { name: string }) => t.name),
        ['ci'],
      );
    });
    const again = await h.call('POST', '/auth/login', undefined, { username: bob.name, password: GOOD });
    assert.equal(again.statusCode, 200);
    assert.equal(await me(again.json().token), 200);
  });

  test('logout with an access token revokes that token and what it minted, even a read-only one', async () => {
    const carol = await h.user('carol');
    const read = (
      await h.call('POST', '/auth/tokens', carol.token, { name: 'r', scopes: ['read'], password: GOOD })
    ).json().token as string;
    const admin = (await h.call('POST', '/auth/tokens', carol.token, { name: 'a', password: GOOD })).json()
      .token as string;
    const child = (await h.call('POST', '/auth/tokens', admin, { name: 'child' })).json().token as string;
    assert.equal((await h.call('POST', '/auth/logout', read)).statusCode, 204);
    assert.equal(await me(read), 401);
    assert.equal((await h.call('POST', '/auth/logout', admin)).statusCode, 204);
    assert.equal(await me(admin), 401);
    assert.equal(await me(child), 401);
    assert.equal(await me(carol.token), 200, 'the login session is not the token’s');
  });

  test('`dreamlake logout` ends the session on the server, then forgets it; an unreachable server only warns', async () => {
    const dave = await h.user('dave');
    const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const home = await mkdtemp(join(tmpdir(), 'dreamlake-logout-'));
    const config = join(home, 'config.json');
    try {
      await writeFile(config, JSON.stringify({ server: url, token: dave.token, username: dave.name }));
      const run = fakeIo({ DREAMLAKE_HOME: home });
      await cliLogout(run.io);
      assert.equal(run.stderr(), '');
      assert.match(run.stdout(), /Logged out/);
      assert.deepEqual(JSON.parse(await readFile(config, 'utf8')), { server: url, username: dave.name });
      assert.equal(await me(dave.token), 401);

      const login = await h.call('POST', '/auth/login', undefined, { username: dave.name, password: GOOD });
      const fresh = login.json().token as string;
      await writeFile(config, JSON.stringify({ server: 'http://127.0.0.1:9', token: fresh, username: dave.name }));
      const offline = fakeIo({ DREAMLAKE_HOME: home });
      await cliLogout(offline.io);
      assert.match(offline.stderr(), /warning: could not end the session on http:\/\/127\.0\.0\.1:9/);
      assert.equal(JSON.parse(await readFile(config, 'utf8')).token, undefined);
      assert.equal(await me(fresh), 200, 'the server was not told');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
