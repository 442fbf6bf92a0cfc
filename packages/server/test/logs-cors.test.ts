import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildServerApp, type DB, openDatabase } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from './helpers/engines.ts';
import { sha256, testConfig } from './helpers/harness.ts';

let database: TestDatabase;
let db: DB;
before(async () => {
  database = await createTestDatabase('sqlite');
  db = await openDatabase({ databaseUrl: database.url });
});
after(async () => {
  await db?.destroy();
  await database?.drop();
});

test('request logs carry no password, token or signature', async () => {
  const lines: string[] = [];
  const config = testConfig({ databaseUrl: database.url, logLevel: 'trace' });
  const app = await buildServerApp({ config, db, logStream: { write: (line) => void lines.push(line) } });
  try {
    const password = 'very secret password';
    const signup = await app.inject({ method: 'POST', url: '/auth/signup', payload: { username: 'logged', password } });
    const jwt = signup.json().token as string;
    const auth = { authorization: `Bearer ${jwt}` };
    const pat = (
      await app.inject({ method: 'POST', url: '/auth/tokens', headers: auth, payload: { name: 'x' } })
    ).json().token as string;
    await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'logged', password: 'wrong one!' } });
    const grant = await app.inject({
      method: 'POST',
      url: '/uploads/init',
      headers: { authorization: `Bearer ${pat}` },
      payload: {
        namespace: 'logged',
        space: 's',
        filename: 'f',
        hash: sha256('f'),
        contentType: 'text/plain',
        type: 'files',
        size: 1,
      },
    });
    const sig = new URL(grant.json().initUrl).searchParams.get('sig')!;
    await app.inject({ method: 'GET', url: `/auth/me?token=${pat}&sig=${sig}`, headers: auth });
    const log = lines.join('');
    assert.ok(lines.length > 4, 'requests were logged');
    for (const secret of [password, jwt, pat, pat.slice(4), sig])
      assert.ok(!log.includes(secret), `log leaks ${secret.slice(0, 8)}…`);
  } finally {
    await app.close();
  }
});

test('CORS answers only the configured origins', async () => {
  const config = testConfig({ databaseUrl: database.url, corsOrigins: ['https://app.example'] });
  const app = await buildServerApp({ config, db });
  try {
    const preflight = (origin: string) =>
      app.inject({
        method: 'OPTIONS',
        url: '/uploads/init',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
    assert.equal(
      (await preflight('https://app.example')).headers['access-control-allow-origin'],
      'https://app.example',
    );
    assert.equal((await preflight('https://evil.example')).headers['access-control-allow-origin'], undefined);
  } finally {
    await app.close();
  }
});
