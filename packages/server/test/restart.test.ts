import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type ServerConfig, startServer } from '../src/index.ts';
import { createTestDatabase, forEachEngine, type TestDatabase } from './helpers/engines.ts';
import { type FakeBss, startFakeBss } from './helpers/fake-bss.ts';
import { PRESIGN_SECRET, sha256, testConfig } from './helpers/harness.ts';

async function call(base: string, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the service answers
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

forEachEngine((engine) => {
  let database: TestDatabase;
  let bss: FakeBss;
  let config: Readonly<ServerConfig>;
  before(async () => {
    database = await createTestDatabase(engine);
    bss = await startFakeBss([PRESIGN_SECRET], () => Math.floor(Date.now() / 1000));
    config = testConfig({ databaseUrl: database.url, bssInternalUrl: bss.url, port: 0 });
  });
  after(async () => {
    await bss?.close();
    await database?.drop();
  });

  test('users, tokens, organisations, spaces and files survive a restart of the server', async () => {
    const hash = sha256('persisted');
    bss.put('persist-org', 'robotics', hash, 2048, 'audio/wav');

    const first = await startServer(config);
    let pat: string;
    try {
      assert.equal((await call(first.url, 'GET', '/healthz')).status, 200);
      const { token } = (
        await call(first.url, 'POST', '/auth/signup', undefined, {
          username: 'persist-user',
          password: 'correct horse battery',
        })
      ).json;
      pat = (await call(first.url, 'POST', '/auth/tokens', token, { name: 'laptop' })).json.token;
      assert.equal((await call(first.url, 'POST', '/orgs', token, { name: 'persist-org' })).status, 201);
      assert.equal(
        (
          await call(first.url, 'POST', '/namespaces/persist-org/spaces/robotics/files', token, {
            name: 'take1.wav',
            hash,
            type: 'audio',
          })
        ).status,
        201,
      );
    } finally {
      await first.close();
    }

    const second = await startServer(config);
    try {
      const login = await call(second.url, 'POST', '/auth/login', undefined, {
        username: 'persist-user',
        password: 'correct horse battery',
      });
      assert.equal(login.status, 200);
      const me = await call(second.url, 'GET', '/auth/me', pat);
      assert.deepEqual(
        me.json.namespaces.map((n: { name: string }) => n.name),
        ['persist-user', 'persist-org'],
      );
      const files = await call(second.url, 'GET', '/namespaces/persist-org/spaces/robotics/files', login.json.token);
      assert.equal(files.status, 200);
      assert.deepEqual(
        files.json.files.map((f: { name: string; size: number; hash: string }) => [f.name, f.size, f.hash]),
        [['take1.wav', 2048, hash]],
      );
    } finally {
      await second.close();
    }
  });
});
