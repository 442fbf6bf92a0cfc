import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildServerApp, openDatabase, type DB } from '../src/index.ts';
import { createTestDatabase, forEachEngine, type TestDatabase } from './helpers/engines.ts';
import { testConfig } from './helpers/harness.ts';
import { runScript } from './helpers/spawn.ts';

forEachEngine((engine) => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase(engine);
  });
  after(() => database?.drop());
  const admin = (args: string[], stdin: string) => runScript('admin.ts', args, { DATABASE_URL: database.url, SCRYPT_LOG_N: '10' }, stdin).done;

  test('the admin command adds a user who can then log in, and changes passwords', async () => {
    const added = await admin(['add-user', 'shelly', '--password-stdin'], 'first password\n');
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stdout, 'created user shelly with personal namespace shelly\n');

    const [changed, again, unknown, badName, noFlag] = await Promise.all([
      admin(['set-password', 'shelly', '--password-stdin'], 'second password\n'),
      admin(['add-user', 'shelly', '--password-stdin'], 'first password\n'),
      admin(['set-password', 'nobody', '--password-stdin'], 'second password'),
      admin(['add-user', 'Bad Name', '--password-stdin'], 'whatever123'),
      admin(['add-user', 'noflag'], ''),
    ]);
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal(changed.stdout, 'password changed for shelly\n');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /taken/);
    assert.equal(unknown.code, 1);
    assert.equal(badName.code, 2);
    assert.equal(noFlag.code, 2);

    const config = testConfig({ databaseUrl: database.url, allowSignup: false });
    let db: DB | undefined;
    try {
      db = await openDatabase(config);
      const app = await buildServerApp({ config, db });
      const login = (password: string) => app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'shelly', password } });
      assert.equal((await login('first password')).statusCode, 401);
      const ok = await login('second password');
      assert.equal(ok.statusCode, 200);
      const me = await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${ok.json().token}` } });
      assert.deepEqual(me.json(), { username: 'shelly', namespaces: [{ name: 'shelly', kind: 'user', role: 'owner' }] });
      await app.close();
    } finally {
      await db?.destroy();
    }
  });
});
