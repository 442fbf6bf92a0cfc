import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError, CliError, NetworkError } from '../src/errors.ts';
import { isTransient, type RetryOptions, withRetry } from '../src/transfer/retry.ts';

const fast = (delays: number[], random = () => 0.5): RetryOptions => ({
  attempts: 6,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  random,
  sleep: async (ms) => {
    delays.push(ms);
  },
});

test('network failures, 5xx and 429 are transient; 4xx and our own errors are not', () => {
  assert.ok(isTransient(new NetworkError('http://x', new Error('ECONNRESET'))));
  assert.ok(isTransient(new ApiError(503, 'storage_unavailable', 'down')));
  assert.ok(isTransient(new ApiError(500, 'internal', 'oops')));
  assert.ok(isTransient(new ApiError(429, 'rate_limited', 'slow down')));
  assert.ok(!isTransient(new ApiError(403, 'expired_signature', 'expired')));
  assert.ok(!isTransient(new ApiError(400, 'invalid_request', 'bad')));
  assert.ok(!isTransient(new CliError('no')));
});

test("a service's Retry-After is waited for, above the backoff", async () => {
  const delays: number[] = [];
  let calls = 0;
  await withRetry(async () => {
    calls += 1;
    if (calls === 1) throw new ApiError(429, 'rate_limited', 'x', 2);
  }, fast(delays));
  assert.deepEqual(delays, [2000]);
});

test('a transient failure is retried until it succeeds', async () => {
  const delays: number[] = [];
  let calls = 0;
  const value = await withRetry(async () => {
    calls += 1;
    if (calls < 3) throw new ApiError(502, 'http_502', 'bad gateway');
    return 'ok';
  }, fast(delays));
  assert.equal(value, 'ok');
  assert.equal(calls, 3);
  assert.equal(delays.length, 2);
});

test('attempts are capped and the last error is thrown', async () => {
  const delays: number[] = [];
  let calls = 0;
  await assert.rejects(
    withRetry(async () => {
      calls += 1;
      throw new NetworkError('http://127.0.0.1:1', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    }, fast(delays)),
    /ECONNREFUSED/,
  );
  assert.equal(calls, 6);
  assert.equal(delays.length, 5);
});

test('a permanent failure is not retried', async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(async () => {
      calls += 1;
      throw new ApiError(403, 'forbidden', 'no');
    }, fast([])),
    /forbidden/,
  );
  assert.equal(calls, 1);
});
