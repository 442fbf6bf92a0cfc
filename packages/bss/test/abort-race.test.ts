import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fsp, { stat } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeApp, pathOf, sha256, uploadPaths } from './helpers.ts';

/**
 * Lets `before` run the first time the disk backend creates a folder inside `dir`, just before
 * it does: the moment a part PUT that has found its upload is about to lay out its folders.
 */
function beforeMkdirIn(dir: string, before: () => Promise<void>): { restore(): void } {
  const original = fsp.mkdir;
  let fired = false;
  fsp.mkdir = (async (path: Parameters<typeof original>[0], options?: Parameters<typeof original>[1]) => {
    if (!fired && String(path).startsWith(dir)) {
      fired = true;
      await before();
    }
    return original(path, options);
  }) as typeof original;
  syncBuiltinESMExports();
  return {
    restore() {
      fsp.mkdir = original;
      syncBuiltinESMExports();
    },
  };
}

test('a part PUT that an abort overtakes answers NoSuchUpload and leaves no upload folder behind', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const data = randomBytes(1000);
  const paths = uploadPaths('files', { owner: 'alice', project: 'robotics', hash: sha256(data) });
  const init = await bss.app.inject({ method: 'POST', url: paths.init, payload: { contentType: 'text/plain' } });
  const { uploadId, key } = init.json() as { uploadId: string; key: string };
  const urls = await bss.app.inject({ method: 'POST', url: paths.parts, payload: { uploadId, key, partNumbers: [1] } });
  const partUrl = pathOf(urls.json().parts['1']);
  const dir = join(bss.dir, 'bss', key);

  const race = beforeMkdirIn(dir, async () => {
    const abort = await bss.app.inject({ method: 'POST', url: paths.abort, payload: { uploadId, key } });
    assert.equal(abort.statusCode, 200, abort.body);
  });
  t.after(() => race.restore());
  const put = await bss.app.inject({
    method: 'PUT',
    url: partUrl,
    payload: data,
    headers: { 'content-type': 'application/octet-stream' },
  });
  race.restore();

  assert.equal(put.statusCode, 404, put.body);
  assert.equal(put.json().error.code, 'not_found');
  assert.equal(put.json().error.reason, 'NoSuchUpload');
  await assert.rejects(stat(dir), { code: 'ENOENT' }, 'the aborted upload folder came back');
  const left = await bss.app.inject({
    method: 'GET',
    url: `${paths.partsDone}&uploadId=${uploadId}&key=${encodeURIComponent(key)}`,
  });
  assert.deepEqual(left.json(), { parts: [], expired: true });
});
