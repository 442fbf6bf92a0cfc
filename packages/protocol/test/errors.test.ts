import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DreamLakeError, ERRORS, isDreamLakeError } from '../src/index.ts';

test('each code keeps its status and default message', () => {
  for (const [code, { status, message }] of Object.entries(ERRORS)) {
    const error = new DreamLakeError(code as keyof typeof ERRORS);
    assert.equal(error.status, status);
    assert.equal(error.message, message);
    assert.equal(error.name, 'DreamLakeError');
    assert.ok(isDreamLakeError(error));
  }
});

test('an error that wraps another keeps it as its cause, beside its details', () => {
  const original = new Error('connection refused');
  const error = new DreamLakeError(
    'storage_unavailable',
    'blob storage could not be asked',
    { retryAfter: 2 },
    {
      cause: original,
    },
  );
  assert.equal(error.cause, original);
  assert.deepEqual(error.details, { retryAfter: 2 });
  assert.equal(error.message, 'blob storage could not be asked');
  assert.equal(new DreamLakeError('not_found').cause, undefined);
});
