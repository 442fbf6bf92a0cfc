import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { MiB, makeApp, md5hex, pathOf, sha256, type TestApp, uploadPaths } from './helpers.ts';

const owner = 'alice';
const project = 'robotics';

/** Opens an upload of `data` (two parts) and answers its part URLs. */
async function openUpload(bss: TestApp, data: Buffer) {
  const paths = uploadPaths('files', { owner, project, hash: sha256(data) });
  const init = await bss.app.inject({ method: 'POST', url: paths.init, payload: { contentType: 'application/zip' } });
  assert.equal(init.statusCode, 200, init.body);
  const { uploadId, key } = init.json() as { uploadId: string; key: string };
  const urls = await bss.app.inject({
    method: 'POST',
    url: paths.parts,
    payload: { uploadId, key, partNumbers: [1, 2] },
  });
  assert.equal(urls.statusCode, 200, urls.body);
  const parts = urls.json().parts as Record<string, string>;
  const put = (n: number, body: Buffer) =>
    bss.app.inject({
      method: 'PUT',
      url: pathOf(parts[String(n)] as string),
      payload: body,
      headers: { 'content-type': 'application/octet-stream' },
    });
  const complete = (etags: string[]) =>
    bss.app.inject({
      method: 'POST',
      url: paths.complete,
      payload: { uploadId, key, parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) },
    });
  /** The part data files the upload keeps on disk (temporaries excluded). */
  const dataFiles = async () =>
    (await readdir(join(bss.dir, 'bss', key, 'data'))).filter((name) => !name.includes('.tmp-')).sort();
  return { uploadId, key, put, complete, dataFiles };
}

test('a part sent again leaves only the data of the body it was last sent with, and completes with it', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const data = randomBytes(5 * MiB + 100);
  const [first, tail] = [data.subarray(0, 5 * MiB), data.subarray(5 * MiB)];
  const up = await openUpload(bss, data);

  const wrong = [randomBytes(5 * MiB), randomBytes(4 * MiB)];
  for (const body of wrong) assert.equal((await up.put(1, body)).statusCode, 200);
  assert.equal((await up.put(2, tail)).statusCode, 200);
  assert.deepEqual(await up.dataFiles(), [`1.${md5hex(wrong[1] as Buffer)}`, `2.${md5hex(tail)}`].sort());

  const right = await up.put(1, first);
  assert.equal(right.statusCode, 200);
  assert.deepEqual(await up.dataFiles(), [`1.${md5hex(first)}`, `2.${md5hex(tail)}`].sort());
  // The same bytes again keep their one file.
  assert.equal((await up.put(1, first)).statusCode, 200);
  assert.deepEqual(await up.dataFiles(), [`1.${md5hex(first)}`, `2.${md5hex(tail)}`].sort());

  const done = await up.complete([`"${md5hex(first)}"`, `"${md5hex(tail)}"`]);
  assert.equal(done.statusCode, 200, done.body);
  assert.equal(done.json().hash, sha256(data));
});

test('concurrent sends of one part leave one data file, the one the part points at, and the upload completes', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const data = randomBytes(5 * MiB + 10);
  const [first, tail] = [data.subarray(0, 5 * MiB), data.subarray(5 * MiB)];
  const up = await openUpload(bss, data);
  assert.equal((await up.put(2, tail)).statusCode, 200);

  const bodies = [first, randomBytes(5 * MiB), first, randomBytes(5 * MiB), randomBytes(5 * MiB)];
  const answers = await Promise.all(bodies.map((body) => up.put(1, body)));
  for (const answer of answers) assert.equal(answer.statusCode, 200, answer.body);

  const listed = await bss.storage.listParts({ uploadId: up.uploadId, key: up.key });
  const pointed = listed?.find((p) => p.partNumber === 1)?.etag.replaceAll('"', '');
  assert.ok(pointed);
  assert.deepEqual(await up.dataFiles(), [`1.${pointed}`, `2.${md5hex(tail)}`].sort());

  // Whatever was sent last is what part 1 holds; sending the right bytes once more completes the file.
  assert.equal((await up.put(1, first)).statusCode, 200);
  assert.deepEqual(await up.dataFiles(), [`1.${md5hex(first)}`, `2.${md5hex(tail)}`].sort());
  const done = await up.complete([`"${md5hex(first)}"`, `"${md5hex(tail)}"`]);
  assert.equal(done.statusCode, 200, done.body);
  assert.equal(done.json().hash, sha256(data));
});
