import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

const GOOD = 'correct horse battery';

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({
    login: {
      maxFailuresPerUser: 3,
      maxFailuresPerAddress: 50,
      maxFailuresPerUserGlobal: 8,
      maxSignupsPerAddress: 3,
      windowSeconds: 600,
    },
  }));
  const login = (username: string, password: string, ip: string) =>
    h.call('POST', '/auth/login', undefined, { username, password }, ip);
  const signup = (username: string, ip: string) =>
    h.call('POST', '/auth/signup', undefined, { username, password: GOOD }, ip);

  test('failures from a stranger’s address do not keep the right password out from the user’s own', async () => {
    assert.equal((await signup('victim', '10.20.0.1')).statusCode, 201);
    for (let i = 0; i < 5; i++) await login('victim', 'guess!!!', '10.66.0.1');
    assert.equal((await login('victim', GOOD, '10.66.0.1')).statusCode, 429);
    assert.equal((await login('victim', GOOD, '10.20.0.1')).statusCode, 200);
  });

  test('failures from many addresses pace each other client of the username, not the one it logs in from', async () => {
    assert.equal((await signup('target', '10.21.0.1')).statusCode, 201);
    assert.equal((await login('target', GOOD, '10.21.0.1')).statusCode, 200);
    for (let i = 0; i < 8; i++) assert.equal((await login('target', 'guess!!!', `10.67.0.${i}`)).statusCode, 401);
    // Past 8 failures, a client that never logged in as target waits 1 s, 2 s, 4 s … before each attempt.
    const first = await login('target', 'guess!!!', '10.67.1.1');
    assert.equal(first.statusCode, 429);
    assert.equal(first.headers['retry-after'], '1');
    h.clock.now += 1_000;
    assert.equal((await login('target', 'guess!!!', '10.67.1.1')).statusCode, 401);
    const next = await login('target', 'guess!!!', '10.67.1.1');
    assert.equal(next.statusCode, 429);
    assert.equal(next.headers['retry-after'], '2');
    // The address target logged in from goes through at once; a new one of theirs after one pause.
    assert.equal((await login('target', GOOD, '10.21.0.1')).statusCode, 200);
    const elsewhere = await login('target', GOOD, '10.21.0.2');
    assert.equal(elsewhere.statusCode, 429);
    assert.equal(elsewhere.headers['retry-after'], '2');
    h.clock.now += 2_000;
    assert.equal((await login('target', GOOD, '10.21.0.2')).statusCode, 200);
  });

  test('sign-up is limited per address', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await signup(`crowd${i}`, '10.30.0.1')).statusCode, 201);
    const refused = await signup('crowd9', '10.30.0.1');
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.json().error.code, 'rate_limited');
    assert.equal(refused.headers['retry-after'], '600');
    assert.equal((await signup('crowd9', '10.30.0.2')).statusCode, 201);
  });
});
