import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from '../src/client/backoff.ts';

const options = { baseDelayMs: 100, maxDelayMs: 1000 };

test('backoff grows exponentially, half of it jittered, and is capped', () => {
  const low = { ...options, random: () => 0 };
  const high = { ...options, random: () => 0.999 };
  assert.deepEqual(
    [1, 2, 3, 4].map((a) => backoffDelay(a, low)),
    [50, 100, 200, 400],
  );
  assert.deepEqual(
    [1, 2, 3, 4].map((a) => backoffDelay(a, high)),
    [100, 200, 400, 800],
  );
  assert.equal(backoffDelay(20, high), 1000);
});

test('clients failed by the same restart spread their retries', () => {
  const delays = new Set(Array.from({ length: 32 }, () => backoffDelay(4, options)));
  assert.ok(delays.size > 16, `32 clients chose ${delays.size} distinct delays`);
  for (const d of delays) assert.ok(d >= 400 && d <= 800, `${d} within [400, 800]`);
});

test('Retry-After is honoured as a floor, up to four times the cap', () => {
  assert.equal(backoffDelay(1, { ...options, random: () => 0.5 }, 2), 2000);
  assert.equal(backoffDelay(1, { ...options, random: () => 0.5 }, 3600), 4000);
  assert.equal(backoffDelay(3, { ...options, random: () => 0.5 }, 0), 300);
});
