import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeApp, sendParts, sha256, uploadPaths } from './helpers.ts';

const owner = 'alice';
const project = 'robotics';

test('concurrent completes of one upload run one verification and all answer the blob', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  let runs = 0;
  const complete = bss.storage.complete.bind(bss.storage);
  bss.storage.complete = async (...args) => {
    runs += 1;
    return complete(...args);
  };
  const data = randomBytes(4000);
  const paths = uploadPaths('files', { owner, project, hash: sha256(data) });
  const { uploadId, key, etags } = await sendParts(bss.app, paths, data);
  const answers = await Promise.all(
    [1, 2, 3, 4].map(() =>
      bss.app.inject({ method: 'POST', url: paths.complete, payload: { uploadId, key, parts: etags } }),
    ),
  );
  for (const res of answers) assert.equal(res.statusCode, 200, res.body);
  assert.equal(runs, 1, 'one hash run for four concurrent completes');
});

test('the sweep removes uploads by their last activity, not their start', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const data = randomBytes(3000);
  const hash = sha256(data);
  const paths = uploadPaths('files', { owner, project, hash });
  const { uploadId } = await sendParts(bss.app, paths, data);
  const dir = join(bss.dir, 'bss', 'uploads', owner, project, hash, uploadId);
  const old = new Date(Date.now() - 10 * 24 * 3600_000);
  await utimes(join(dir, 'meta.json'), old, old);
  await utimes(dir, old, old);
  const meta = join(dir, 'meta.json');
  const { readFile, writeFile } = await import('node:fs/promises');
  await writeFile(meta, JSON.stringify({ ...JSON.parse(await readFile(meta, 'utf8')), createdAt: old.getTime() }));
  await utimes(meta, old, old);
  assert.equal(await bss.storage.sweep(new Date(Date.now() - 3600_000)), 0, 'a part arrived just now');
  assert.equal(await bss.storage.sweep(new Date(Date.now() + 1000)), 1);
});
