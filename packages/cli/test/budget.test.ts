import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Budget } from '../src/transfer/budget.ts';

const tick = () => new Promise((r) => setTimeout(r, 1));

test('the budget holds requests and bytes in flight to its bounds, in order', async () => {
  const budget = new Budget(100, 3);
  let maxBytes = 0;
  let maxRequests = 0;
  const order: number[] = [];
  const sizes = [10, 10, 10, 10, 90, 5, 5, 60, 60, 200];
  await Promise.all(
    sizes.map((size, i) =>
      budget.run(size, async () => {
        order.push(i);
        maxBytes = Math.max(maxBytes, budget.inFlight.bytes);
        maxRequests = Math.max(maxRequests, budget.inFlight.requests);
        await tick();
      }),
    ),
  );
  assert.ok(maxRequests <= 3, `at most 3 requests at once, saw ${maxRequests}`);
  assert.ok(maxBytes <= 100, `at most 100 bytes at once, saw ${maxBytes}`);
  assert.deepEqual(
    order,
    sizes.map((_, i) => i),
    'served in the order asked: a large body is not overtaken',
  );
  assert.deepEqual(budget.inFlight, { bytes: 0, requests: 0 });
});

test('a failing task gives its share back', async () => {
  const budget = new Budget(10, 1);
  await assert.rejects(
    budget.run(10, async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(await budget.run(10, async () => 'next'), 'next');
});
