/**
 * The body caps of the two bulk file routes: `…/files/lookup` (16 MiB) and `…/files/batch` (5 MiB).
 * A body one byte over is refused with 413 too_large naming the cap, before any handler runs; a
 * body of exactly the cap is read and answered by the route.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BATCH_MAX_BODY_BYTES, LOOKUP_MAX_BODY_BYTES } from '../src/limits.ts';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

const MiB = 1024 * 1024;

/** Valid JSON of exactly `size` bytes: `json` padded with trailing spaces. */
function padded(json: string, size: number): Buffer {
  const body = Buffer.alloc(size, ' ');
  body.write(json);
  return body;
}

forEachEngine((engine) => {
  const h = useHarness(engine);

  test('the caps are the documented 16 MiB for lookup and 5 MiB for batch', () => {
    assert.equal(LOOKUP_MAX_BODY_BYTES, 16 * MiB);
    assert.equal(BATCH_MAX_BODY_BYTES, 5 * MiB);
  });

  for (const [route, cap, json] of [
    ['lookup', LOOKUP_MAX_BODY_BYTES, '{"names":["a.bin"]}'],
    ['batch', BATCH_MAX_BODY_BYTES, '{"files":[]}'],
  ] as const) {
    test(`files/${route}: one byte over ${cap / MiB} MiB is 413 too_large naming the cap; exactly the cap is read`, async () => {
      const alice = await h.user('alice');
      const created = await h.call('POST', `/namespaces/${alice.name}/spaces`, alice.token, { name: 'robotics' });
      assert.ok(created.statusCode < 300, created.body);
      const post = (payload: Buffer) =>
        h.app.inject({
          method: 'POST',
          url: `/namespaces/${alice.name}/spaces/robotics/files/${route}`,
          headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
          payload,
        });
      const over = await post(padded(json, cap + 1));
      assert.equal(over.statusCode, 413, over.body.slice(0, 300));
      assert.equal(over.json().error.code, 'too_large');
      assert.equal(over.json().error.maxBytes, cap, over.body);
      const at = await post(padded(json, cap));
      assert.notEqual(at.statusCode, 413, at.body.slice(0, 300));
      assert.ok(at.statusCode < 500, at.body.slice(0, 300));
      // The route's own answer (success or its validation), not the framework's.
      if (at.statusCode >= 400) assert.notEqual(at.json().error.code, 'too_large');
    });
  }
});
