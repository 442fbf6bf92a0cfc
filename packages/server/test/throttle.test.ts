import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildServerApp } from '../src/index.ts';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

const GOOD = 'correct horse battery';

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({
    login: {
      maxFailuresPerUser: 3,
      maxFailuresPerAddress: 6,
      maxFailuresPerUserGlobal: 100,
      maxSignupsPerAddress: 1_000_000,
      windowSeconds: 600,
    },
  }));
  const login = (username: string, password: string, ip: string) =>
    h.call('POST', '/auth/login', undefined, { username, password }, ip);

  test('too many failures for one user from one address answer 429 with Retry-After there until the window passes', async () => {
    const alice = await h.user('alice');
    for (let i = 0; i < 3; i++) assert.equal((await login(alice.name, 'wrong!!!', '10.0.0.4')).statusCode, 401);
    const blocked = await login(alice.name, GOOD, '10.0.0.4');
    assert.equal(blocked.statusCode, 429);
    assert.equal(blocked.json().error.code, 'rate_limited');
    assert.equal(blocked.headers['retry-after'], '600');

    h.clock.now += 300_000;
    const later = await login(alice.name, GOOD, '10.0.0.4');
    assert.equal(later.statusCode, 429);
    assert.equal(later.headers['retry-after'], '300');

    h.clock.now += 301_000;
    assert.equal((await login(alice.name, GOOD, '10.0.0.4')).statusCode, 200);
  });

  test('too many failures from one address answer 429 there, whatever the username, and not elsewhere', async () => {
    const bob = await h.user('bob');
    for (let i = 0; i < 6; i++) assert.equal((await login(`ghost${i}`, 'guess!!!', '10.1.0.1')).statusCode, 401);
    const blocked = await login(bob.name, GOOD, '10.1.0.1');
    assert.equal(blocked.statusCode, 429);
    assert.ok(Number(blocked.headers['retry-after']) > 0);
    assert.equal((await login(bob.name, GOOD, '10.1.0.2')).statusCode, 200);
  });

  test('an unknown user is throttled exactly like a known one', async () => {
    for (let i = 0; i < 3; i++) await login('nobody-here', 'guess!!!', '10.4.0.1');
    const carol = await h.user('carol');
    for (let i = 0; i < 3; i++) await login(carol.name, 'guess!!!', '10.4.0.2');
    const unknown = await login('nobody-here', 'guess!!!', '10.4.0.1');
    const known = await login(carol.name, 'guess!!!', '10.4.0.2');
    assert.equal(unknown.statusCode, 429);
    assert.equal(known.statusCode, 429);
    assert.deepEqual(unknown.json(), known.json());
  });

  test('a successful login forgets that address’s failures for that user', async () => {
    const dave = await h.user('dave');
    for (let round = 0; round < 3; round++) {
      assert.equal((await login(dave.name, 'typo!!!!', '10.5.0.1')).statusCode, 401);
      assert.equal((await login(dave.name, 'typo!!!!', '10.5.0.1')).statusCode, 401);
      assert.equal((await login(dave.name, GOOD, '10.5.0.1')).statusCode, 200);
    }
  });

  test('the count is shared by every server instance on the same database', async () => {
    const erin = await h.user('erin');
    const other = await buildServerApp({ config: h.config, db: h.db, clock: () => h.clock.now });
    try {
      await login(erin.name, 'wrong!!!', '10.6.0.1');
      await other.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: erin.name, password: 'wrong!!!' },
        remoteAddress: '10.6.0.1',
      });
      await login(erin.name, 'wrong!!!', '10.6.0.1');
      const blocked = await other.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: erin.name, password: GOOD },
        remoteAddress: '10.6.0.1',
      });
      assert.equal(blocked.statusCode, 429);
    } finally {
      await other.close();
    }
  });
});
