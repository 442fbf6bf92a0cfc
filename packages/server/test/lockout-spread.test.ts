import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

const GOOD = 'correct horse battery';

/** The server's defaults for the per-pair, per-address and per-username limits. */
const DEFAULT_LIMITS = {
  maxFailuresPerUser: 10,
  maxFailuresPerAddress: 50,
  maxFailuresPerUserGlobal: 100,
  maxSignupsPerAddress: 3,
  windowSeconds: 900,
};

forEachEngine((engine) => {
  // Behind a trusted proxy, as the reproduction was: each request names its client in X-Forwarded-For.
  const h = useHarness(engine, () => ({ login: DEFAULT_LIMITS, trustProxy: true }));
  const forwarded = (url: string, body: object, ip: string) =>
    h.app.inject({
      method: 'POST',
      url,
      payload: body,
      headers: { 'x-forwarded-for': ip },
      remoteAddress: '127.0.0.1',
    });
  const login = (username: string, password: string, ip: string) =>
    forwarded('/auth/login', { username, password }, ip);
  const signup = (username: string, ip: string) => forwarded('/auth/signup', { username, password: GOOD }, ip);

  test('110 failures over 11 addresses do not keep the right password out', async () => {
    assert.equal((await signup('alice', '192.0.2.10')).statusCode, 201);
    assert.equal((await login('alice', GOOD, '192.0.2.10')).statusCode, 200, 'her usual address');
    const answers: number[] = [];
    for (let a = 1; a <= 11; a++) {
      for (let i = 0; i < 10; i++) {
        const res = await login('alice', `guess ${a}-${i}`, `203.0.113.${a}`);
        assert.ok(res.statusCode === 401 || res.statusCode === 429, res.body);
        if (res.statusCode === 429) assert.ok(Number(res.headers['retry-after']) > 0);
        answers.push(res.statusCode);
        h.clock.now += 1000;
      }
    }
    assert.ok(answers.filter((s) => s === 401).length >= 100);

    // Her usual address logs in at once.
    assert.equal((await login('alice', GOOD, '192.0.2.10')).statusCode, 200);

    // An address never seen before is asked to wait a little, then let in.
    const first = await login('alice', GOOD, '198.51.100.7');
    assert.equal(first.statusCode, 429, first.body);
    assert.equal(first.json().error.code, 'rate_limited');
    const wait = Number(first.headers['retry-after']);
    assert.ok(wait >= 1 && wait <= 60, `asked to wait ${wait} s`);
    h.clock.now += wait * 1000;
    assert.equal((await login('alice', GOOD, '198.51.100.7')).statusCode, 200);
    // Now known there: no more waiting.
    assert.equal((await login('alice', GOOD, '198.51.100.7')).statusCode, 200);

    // A guesser from a new address is paced: one guess per pause.
    const guess = await login('alice', 'guess again', '198.51.100.99');
    assert.equal(guess.statusCode, 429);
    h.clock.now += Number(guess.headers['retry-after']) * 1000;
    assert.equal((await login('alice', 'guess again', '198.51.100.99')).statusCode, 401);
    assert.equal((await login('alice', 'guess again', '198.51.100.99')).statusCode, 429);
  });

  test('addresses of one IPv6 /64 count as one client', async () => {
    assert.equal((await signup('bob', '192.0.2.20')).statusCode, 201);
    for (let i = 1; i <= 10; i++)
      assert.equal((await login('bob', 'guess!!!', `2001:db8:1:2::${i.toString(16)}`)).statusCode, 401);
    // A sibling address in the same /64, written differently, is the same client.
    const sibling = await login('bob', 'guess!!!', '2001:0db8:0001:0002:ffff:0:0:1');
    assert.equal(sibling.statusCode, 429, sibling.body);
    // A right password from elsewhere is not held up.
    assert.equal((await login('bob', GOOD, '2001:db8:1:3::1')).statusCode, 200);

    // The per-address limit, whatever the username, holds across the /64 too.
    for (let i = 0; i < 50; i++)
      assert.equal((await login(`ghost${i}`, 'guess!!!', `2001:db8:7:7:${i.toString(16)}::1`)).statusCode, 401);
    assert.equal((await login('bob', GOOD, '2001:db8:7:7:abcd::9')).statusCode, 429);

    // An IPv4-mapped IPv6 address is that IPv4 address.
    for (let i = 0; i < 10; i++) await login('bob', 'guess!!!', '203.0.113.200');
    assert.equal((await login('bob', GOOD, '::ffff:203.0.113.200')).statusCode, 429);
  });

  test('sign-up is limited per IPv6 /64, not per address', async () => {
    for (let i = 1; i <= 3; i++) assert.equal((await signup(`crowd${i}`, `2001:db8:5:6::${i}`)).statusCode, 201);
    const refused = await signup('crowd9', '2001:db8:5:6:1:2:3:4');
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.json().error.code, 'rate_limited');
    assert.equal((await signup('crowd9', '2001:db8:5:7::1')).statusCode, 201);
  });
});
