import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadServerConfig } from '../src/index.ts';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

test('ORGS_PER_USER defaults to 10 and must be a whole number', () => {
  const secrets = {
    PRESIGN_SECRETS: 'p'.repeat(32),
    JWT_SECRET: 'j'.repeat(32),
    SNAPSHOT_SIGNING_KEYS: 's'.repeat(43),
  };
  assert.equal(loadServerConfig(secrets).orgsPerUser, 10);
  assert.equal(loadServerConfig({ ...secrets, ORGS_PER_USER: '0' }).orgsPerUser, 0);
  for (const bad of ['-1', 'many', '2.5']) {
    assert.throws(() => loadServerConfig({ ...secrets, ORGS_PER_USER: bad }), /ORGS_PER_USER/, bad);
  }
});

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({ orgsPerUser: 3 }));
  let n = 0;
  const create = (token: string) => h.call('POST', '/orgs', token, { name: `${engine}-cap${++n}` });

  test('a user creates at most ORGS_PER_USER organisations; the next one is 403 naming the limit', async () => {
    const alice = await h.user('alice');
    for (let i = 0; i < 3; i++) assert.equal((await create(alice.token)).statusCode, 201);
    const refused = await create(alice.token);
    assert.equal(refused.statusCode, 403, refused.body);
    assert.equal(refused.json().error.code, 'forbidden');
    assert.equal(refused.json().error.maxOrgs, 3);
    const me = (await h.call('GET', '/auth/me', alice.token)).json();
    assert.equal(me.namespaces.filter((ns: { kind: string }) => ns.kind === 'org').length, 3);
    // Another user has a cap of their own.
    const bob = await h.user('bob');
    assert.equal((await create(bob.token)).statusCode, 201);
  });

  test('organisations asked for at once do not pass the cap together', async () => {
    const carol = await h.user('carol');
    const answers = await Promise.all(Array.from({ length: 6 }, () => create(carol.token)));
    const codes = answers.map((a) => a.statusCode).sort();
    assert.deepEqual(codes, [201, 201, 201, 403, 403, 403], answers.map((a) => a.body).join('\n'));
  });
});
