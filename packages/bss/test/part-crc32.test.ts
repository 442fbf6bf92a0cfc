import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { CRC32_HEADER, crc32Base64, crc32Etag } from '@dreamlake/protocol';
import { makeApp, md5hex, pathOf, sha256, type TestApp, uploadPaths } from './helpers.ts';

const owner = 'alice';
const project = 'robotics';
const MiB = 1024 * 1024;

const crcOf = (bytes: Buffer) => crc32Base64(crc32(bytes));

async function openUpload(bss: TestApp, data: Buffer) {
  const hash = sha256(data);
  const paths = uploadPaths('videos', { owner, project, hash });
  const init = await bss.app.inject({ method: 'POST', url: paths.init, payload: { contentType: 'video/mp4' } });
  assert.equal(init.statusCode, 200, init.body);
  const opened = init.json() as { uploadId: string; key: string; partCheck?: string };
  const partUrl = async (n: number, checksumCrc32?: Record<string, string>) => {
    const res = await bss.app.inject({
      method: 'POST',
      url: paths.parts,
      payload: {
        uploadId: opened.uploadId,
        key: opened.key,
        partNumbers: [n],
        ...(checksumCrc32 ? { checksumCrc32 } : {}),
      },
    });
    assert.equal(res.statusCode, 200, res.body);
    return pathOf(res.json().parts[String(n)]);
  };
  const listed = async () => bss.storage.listParts({ uploadId: opened.uploadId, key: opened.key });
  return { ...opened, paths, partUrl, listed };
}

test('the disk backend asks for CRC-32 part checks, and a part sent with one gets an ETag of its CRC-32 and size', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const part1 = randomBytes(5 * MiB);
  const part2 = randomBytes(1000);
  const up = await openUpload(bss, Buffer.concat([part1, part2]));
  assert.equal(up.partCheck, 'crc32');

  const etags: string[] = [];
  for (const [n, body] of [part1, part2].entries()) {
    const url = await up.partUrl(n + 1, { [String(n + 1)]: crcOf(body) });
    assert.match(url, /checksumCrc32=/, 'the URL is bound to the CRC-32');
    const res = await bss.app.inject({ method: 'PUT', url, payload: body, headers: { [CRC32_HEADER]: crcOf(body) } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers.etag, `"${crc32Etag(crcOf(body), body.length)}"`);
    assert.notEqual(res.headers.etag, `"${md5hex(body)}"`);
    etags.push(String(res.headers.etag));
  }
  assert.deepEqual(
    (await up.listed())?.map((p) => p.etag),
    etags,
    'parts-done lists the same ETags, which a resuming client can compute itself',
  );
  const done = await bss.app.inject({
    method: 'POST',
    url: up.paths.complete,
    payload: { uploadId: up.uploadId, key: up.key, parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) },
  });
  assert.equal(done.statusCode, 200, done.body);
  assert.equal(done.json().size, part1.length + part2.length);
});

test('a part whose bytes do not match its CRC-32 is refused with BadDigest and leaves nothing', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const body = randomBytes(4096);
  const up = await openUpload(bss, body);

  // Bound in the URL: other bytes, even without the header, are refused.
  const bound = await up.partUrl(1, { '1': crcOf(body) });
  const other = randomBytes(4096);
  const refused = await bss.app.inject({ method: 'PUT', url: bound, payload: other });
  assert.equal(refused.statusCode, 400);
  assert.equal(refused.json().error.code, 'invalid_part');
  assert.equal(refused.json().error.reason, 'BadDigest');
  // Declared in the header only.
  const free = await up.partUrl(1);
  const declared = await bss.app.inject({
    method: 'PUT',
    url: free,
    payload: other,
    headers: { [CRC32_HEADER]: crcOf(body) },
  });
  assert.equal(declared.statusCode, 400);
  assert.equal(declared.json().error.reason, 'BadDigest');
  // A header that differs from the signed value is refused before the body is read.
  const mismatch = await bss.app.inject({
    method: 'PUT',
    url: bound,
    payload: body,
    headers: { [CRC32_HEADER]: crcOf(other) },
  });
  assert.equal(mismatch.statusCode, 400);
  const malformed = await bss.app.inject({
    method: 'PUT',
    url: free,
    payload: body,
    headers: { [CRC32_HEADER]: 'abc' },
  });
  assert.equal(malformed.statusCode, 400);
  assert.equal(malformed.json().error.reason, 'InvalidDigest');

  assert.deepEqual(await up.listed(), []);
  const data = await readdir(join(bss.dir, 'bss', up.key, 'data'));
  assert.deepEqual(data, [], 'no data file, temporary or not');

  const ok = await bss.app.inject({ method: 'PUT', url: bound, payload: body });
  assert.equal(ok.statusCode, 200, ok.body);
});

test('the CRC-32 a URL was signed with cannot be removed or changed', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const body = randomBytes(100);
  const up = await openUpload(bss, body);
  const bound = await up.partUrl(1, { '1': crcOf(body) });
  const stripped = bound.replace(/&?checksumCrc32=[^&]+/, '');
  const changed = bound.replace(/checksumCrc32=[^&]+/, `checksumCrc32=${encodeURIComponent(crcOf(randomBytes(5)))}`);
  for (const url of [stripped, changed]) {
    const res = await bss.app.inject({ method: 'PUT', url, payload: randomBytes(100) });
    assert.equal(res.statusCode, 403, url);
    assert.equal(res.json().error.code, 'bad_signature');
  }
});

test('a part sent with both Content-MD5 and a CRC-32 keeps the MD5 ETag; a part sent with neither too', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const body = randomBytes(2048);
  const up = await openUpload(bss, body);
  const md5 = Buffer.from(md5hex(body), 'hex').toString('base64');
  const url = await up.partUrl(1);
  const both = await bss.app.inject({
    method: 'PUT',
    url,
    payload: body,
    headers: { 'content-md5': md5, [CRC32_HEADER]: crcOf(body) },
  });
  assert.equal(both.headers.etag, `"${md5hex(body)}"`);
  const neither = await bss.app.inject({ method: 'PUT', url: await up.partUrl(2), payload: body });
  assert.equal(neither.headers.etag, `"${md5hex(body)}"`);
});
