import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteBudget } from '../src/storage/s3/byte-budget.ts';

test('a take that finds the budget spent waits for bytes given back, and fails once its wait is over', async () => {
  const budget = new ByteBudget(100);
  assert.equal(budget.tryTake(80), true);
  assert.equal(budget.tryTake(30), false, 'no waiting for tryTake');

  // Given back while it waits: it gets its bytes.
  const waiting = budget.take(30, 5_000);
  let settled = false;
  void waiting.then(() => {
    settled = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(settled, false, 'it waits while the budget is spent');
  budget.release(80);
  assert.equal(await waiting, true);

  // Nothing given back: refused after its wait, not before.
  assert.equal(budget.tryTake(70), true);
  const began = Date.now();
  assert.equal(await budget.take(31, 200), false);
  assert.ok(Date.now() - began >= 190, `refused after ${Date.now() - began} ms`);
  // More than the whole budget never waits.
  const start = Date.now();
  assert.equal(await budget.take(101, 5_000), false);
  assert.ok(Date.now() - start < 100);
  // A release too small for it does not let it through; a later one does.
  const big = budget.take(60, 5_000);
  budget.release(10);
  await new Promise((resolve) => setTimeout(resolve, 20));
  budget.release(60);
  assert.equal(await big, true);
});
