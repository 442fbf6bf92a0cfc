import assert from 'node:assert/strict';
import type { ScryptOptions } from 'node:crypto';
import { scrypt } from 'node:crypto';
import { test } from 'node:test';
import { createPasswordHasher, type Derive } from '../src/auth/passwords.ts';
import { buildServerApp } from '../src/index.ts';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

const GOOD = 'correct horse battery';

/** scrypt that counts its calls and how many ran at once, slowed so concurrent logins overlap. */
function countingDerive(delayMs: number) {
  const stats = { calls: 0, running: 0, maxRunning: 0 };
  const derive: Derive = async (password: string, salt: Buffer, options: ScryptOptions) => {
    stats.calls++;
    stats.running++;
    stats.maxRunning = Math.max(stats.maxRunning, stats.running);
    try {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return await new Promise<Buffer>((resolve, reject) =>
        scrypt(password.normalize('NFC'), salt, 32, options, (error, key) => (error ? reject(error) : resolve(key))),
      );
    } finally {
      stats.running--;
    }
  };
  return { derive, stats };
}

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({
    login: {
      maxFailuresPerUser: 3,
      maxFailuresPerAddress: 1000,
      maxFailuresPerUserGlobal: 1000,
      maxSignupsPerAddress: 1_000_000,
      windowSeconds: 600,
    },
  }));

  const appWith = (derive: Derive, maxRunning: number, maxWaiting: number) =>
    buildServerApp({
      config: h.config,
      db: h.db,
      clock: () => h.clock.now,
      passwords: createPasswordHasher(h.config.scryptLogN, { derive, maxRunning, maxWaiting }),
    });
  const login = (app: Awaited<ReturnType<typeof appWith>>, username: string, password: string, ip: string) =>
    app.inject({ method: 'POST', url: '/auth/login', payload: { username, password }, remoteAddress: ip });

  test('20 concurrent wrong logins for one user run scrypt only up to the limit; the rest are 429 with Retry-After', async () => {
    const alice = await h.user('alice');
    const { derive, stats } = countingDerive(20);
    const app = await appWith(derive, 4, 100);
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => login(app, alice.name, 'wrong guess!', '10.9.0.1')),
      );
      const codes = answers.map((r) => r.statusCode);
      assert.ok(stats.calls <= 3, `scrypt ran ${stats.calls} times`);
      assert.equal(codes.filter((c) => c === 401).length, stats.calls);
      assert.equal(codes.filter((c) => c === 429).length, 20 - stats.calls);
      for (const r of answers.filter((a) => a.statusCode === 429)) {
        assert.equal(r.json().error.code, 'rate_limited');
        assert.ok(Number(r.headers['retry-after']) > 0);
      }
    } finally {
      await app.close();
    }
  });

  test('scrypt work in flight per process is bounded; past the queue a login is 429 with Retry-After: 1', async () => {
    const people = [];
    for (let i = 0; i < 12; i++) people.push(await h.user('busy'));
    const { derive, stats } = countingDerive(400);
    const app = await appWith(derive, 2, 3);
    try {
      const answers = await Promise.all(people.map((p, i) => login(app, p.name, GOOD, `10.8.0.${i}`)));
      assert.ok(stats.maxRunning <= 2, `scrypt ran ${stats.maxRunning} at once`);
      assert.equal(answers.filter((r) => r.statusCode === 200).length, stats.calls);
      const busy = answers.filter((r) => r.statusCode === 429);
      assert.equal(busy.length, 12 - stats.calls);
      assert.ok(busy.length >= 5, `${busy.length} refused`);
      assert.equal(busy[0]!.headers['retry-after'], '1');
      // A refused attempt did not count against the user: all of them may log in at once afterwards.
      const later = await Promise.all(people.slice(0, 5).map((p, i) => login(app, p.name, GOOD, `10.8.0.${i + 5}`)));
      assert.deepEqual(
        later.map((r) => r.statusCode),
        [200, 200, 200, 200, 200],
      );
    } finally {
      await app.close();
    }
  });
});
