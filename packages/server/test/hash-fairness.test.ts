import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFairSemaphore } from '../src/auth/fair-semaphore.ts';
import { createPasswordHasher, type Derive } from '../src/auth/passwords.ts';
import { buildServerApp } from '../src/index.ts';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

const GOOD = 'correct horse battery';

/** A key derivation slow enough that logins sent together wait for each other, counting what ran. */
function slowDerive(delayMs: number) {
  const seen: string[] = [];
  const derive: Derive = async (password) => {
    seen.push(password);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return Buffer.from(password.padEnd(32, '.').slice(0, 32));
  };
  return { derive, seen };
}

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({
    login: {
      maxFailuresPerUser: 1000,
      maxFailuresPerAddress: 1000,
      maxFailuresPerUserGlobal: 1000,
      maxSignupsPerAddress: 1_000_000,
      windowSeconds: 600,
    },
  }));

  test('a flood of logins from one IPv6 /64 cannot fill the password-hashing queue for everyone else', async () => {
    const { derive, seen } = slowDerive(300);
    const passwords = createPasswordHasher(h.config.scryptLogN, { derive, maxRunning: 2, maxWaiting: 6 });
    const app = await buildServerApp({ config: h.config, db: h.db, clock: () => h.clock.now, passwords });
    const login = (username: string, password: string, ip: string) =>
      app.inject({ method: 'POST', url: '/auth/login', payload: { username, password }, remoteAddress: ip });
    try {
      const hash = await passwords.hash(GOOD);
      await h.db
        .insertInto('users')
        .values({ id: 'fair-1', username: 'fair', password_hash: hash, created_at: '' })
        .execute();
      let refused = 0;
      const flood = Array.from({ length: 12 }, (_, i) =>
        login(`nobody${i}`, `flood ${i}`, `2001:db8:66:1:${(i + 1).toString(16)}::1`).then((r) => {
          if (r.statusCode === 429) refused++;
          return r;
        }),
      );
      // Every flood request has reached the queue: those it could hold wait, the rest are refused.
      while (refused < 4) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(seen.filter((p) => p.startsWith('flood')).length, 2, 'the flood’s first two are being hashed');
      const mine = await login('fair', GOOD, '192.0.2.44');
      assert.equal(mine.statusCode, 200, mine.body);
      const answers = await Promise.all(flood);
      const busy = answers.filter((r) => r.statusCode === 429);
      assert.ok(busy.length >= 6, `${busy.length} of the flood refused`);
      for (const r of busy) assert.equal(r.headers['retry-after'], '1');
    } finally {
      await app.close();
    }
  });
});

test('a full queue makes room for a new client by refusing the newest waiter of the client holding the most', async () => {
  const queue = createFairSemaphore(1, 2, 3);
  let finish: () => void = () => {};
  const blocker = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => 'done',
      (e: { code?: string }) => e.code,
    );
  const a = [0, 1, 2].map(() => outcome(queue.run(() => blocker, 'A')));
  assert.equal(await outcome(queue.run(async () => 0, 'A')), 'rate_limited', 'A holds its three places');
  const b = outcome(queue.run(async () => 0, 'B'));
  const c = outcome(queue.run(async () => 0, 'C'));
  assert.equal(await outcome(queue.run(async () => 0, 'D')), 'rate_limited', 'no client holds more than D would');
  finish();
  assert.deepEqual(await Promise.all([...a, b, c]), ['done', 'rate_limited', 'rate_limited', 'done', 'done']);
});
