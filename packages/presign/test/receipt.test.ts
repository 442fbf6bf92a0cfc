import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signReceipt, verifyReceipt } from '../src/index.ts';

const secrets = ['r'.repeat(40)];
const blob = { owner: 'alice', project: 'x', hash: 'a'.repeat(64) };
const scope = { ...blob, size: 1234, contentType: 'image/jpeg' };

test('a receipt verifies for its own blob and tells size and type', () => {
  const receipt = signReceipt(secrets, scope, 1000, 3600);
  assert.deepEqual(verifyReceipt(secrets, blob, receipt, 1001), { size: 1234, contentType: 'image/jpeg' });
});

test('a receipt is refused for another blob, another size or type, an old one or another secret', () => {
  const receipt = signReceipt(secrets, scope, 1000, 3600);
  assert.throws(() => verifyReceipt(secrets, { ...blob, hash: 'b'.repeat(64) }, receipt, 1001), {
    code: 'bad_signature',
  });
  assert.throws(() => verifyReceipt(secrets, { ...blob, project: 'y' }, receipt, 1001), { code: 'bad_signature' });
  assert.throws(() => verifyReceipt(secrets, blob, { ...receipt, size: 1 }, 1001), { code: 'bad_signature' });
  assert.throws(() => verifyReceipt(secrets, blob, { ...receipt, contentType: 'text/html' }, 1001), {
    code: 'bad_signature',
  });
  assert.throws(() => verifyReceipt(secrets, blob, receipt, 5000), { code: 'expired_signature' });
  assert.throws(() => verifyReceipt(['s'.repeat(40)], blob, receipt, 1001), { code: 'bad_signature' });
  assert.throws(() => verifyReceipt(secrets, blob, { ...receipt, size: -1 }, 1001), { code: 'malformed_signature' });
});
