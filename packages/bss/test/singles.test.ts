import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { verifyReceipt } from '@dreamlake/presign';
import { flipFirst, makeApp, SECRET, sha256, signedQuery, singlePath, stagedFiles, type TestApp } from './helpers.ts';

const owner = 'frida';
const project = 'frames';

function file(size: number) {
  const data = randomBytes(size);
  return { data, scope: { owner, project, hash: sha256(data), size } };
}

type Item = { url: string; contentType?: string; bytes: Buffer };

/** The body of `POST /upload/singles`: the list as one line of JSON, then the bytes back to back. */
function bundle(items: readonly Item[]): Buffer {
  const head = JSON.stringify({
    files: items.map(({ url, contentType }) => ({ url, ...(contentType ? { contentType } : {}) })),
  });
  return Buffer.concat([Buffer.from(`${head}\n`), ...items.map((i) => i.bytes)]);
}

const post = (bss: TestApp, payload: Buffer) =>
  bss.app.inject({
    method: 'POST',
    url: '/upload/singles',
    payload,
    headers: { 'content-type': 'text/plain;charset=UTF-8' },
  });

async function blobsOf(bss: TestApp): Promise<string[]> {
  return (await readdir(join(bss.dir, 'bss', 'blobs', owner, project)).catch(() => [] as string[])).sort();
}

test('300 small files in one request: each published as its own PUT would be, its type its own; the refused ones (forged, bad or foreign signature, expired) are each answered and the rest go on', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const bss = await makeApp({}, () => now);
  t.after(() => bss.close());
  const files = Array.from({ length: 300 }, (_, i) => file(1 + ((i * 7919) % 40_000)));
  const refused = new Map<number, string>([
    [3, 'hash_mismatch'],
    [50, 'bad_signature'],
    [51, 'expired_signature'],
    [120, 'bad_signature'],
    [299, 'hash_mismatch'],
  ]);
  const items: Item[] = files.map(({ data, scope }, i) => {
    const type = i % 2 === 0 ? 'image' : 'files';
    const contentType = i % 2 === 0 ? 'image/png' : undefined;
    const url = `http://bss.example${singlePath(type, scope, {
      ...(i === 51 ? { now: now - 7200, ttl: 60 } : {}),
      ...(i === 50 ? { secret: 'another-secret-of-the-same-length-000000000' } : {}),
    })}`;
    const bytes = refused.get(i) === 'hash_mismatch' ? flipFirst(data) : data;
    // A URL for another action with this file's scope.
    const foreign = `/files/upload/single?${signedQuery('upload-init', { owner, project, hash: scope.hash, size: String(scope.size) })}`;
    return { url: i === 120 ? foreign : url, ...(contentType ? { contentType } : {}), bytes };
  });
  const res = await post(bss, bundle(items));
  assert.equal(res.statusCode, 200, res.body);
  const answers = res.json().files as Array<Record<string, unknown> & { index: number }>;
  assert.equal(answers.length, files.length);
  for (const [i, answer] of answers.entries()) {
    assert.equal(answer.index, i);
    const code = refused.get(i);
    if (code) {
      assert.equal((answer.error as { code: string } | undefined)?.code, code, `file ${i}: ${JSON.stringify(answer)}`);
      continue;
    }
    const { data, scope } = files[i] as (typeof files)[number];
    const contentType = i % 2 === 0 ? 'image/png' : 'application/octet-stream';
    assert.deepEqual(
      { hash: answer.hash, size: answer.size, contentType: answer.contentType },
      { hash: scope.hash, size: data.length, contentType },
      `file ${i}`,
    );
    assert.deepEqual(verifyReceipt([SECRET], scope, answer.receipt as never, now), { size: data.length, contentType });
  }
  const stored = files.filter((_, i) => !refused.has(i)).map((f) => f.scope.hash);
  assert.deepEqual(await blobsOf(bss), [...stored].sort(), 'exactly the files that matched are published');
  for (const i of [0, 1, 298]) {
    const { data, scope } = files[i] as (typeof files)[number];
    const ref = { owner, project, hash: scope.hash };
    const download = await bss.app.inject({ method: 'GET', url: `/blobs/download?${signedQuery('download', ref)}` });
    assert.ok(download.rawPayload.equals(data), `file ${i} reads back as sent`);
  }
  assert.deepEqual(await stagedFiles(bss.dir), []);
});

test('a body that ends early, a list that is not JSON, one without a size, or over 1,000 files is refused; nothing of a missing file is published', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const a = file(5_000);
  const b = file(6_000);
  const items = [a, b].map(({ data, scope }) => ({ url: singlePath('files', scope), bytes: data }));

  const cut = bundle(items);
  const short = await post(bss, cut.subarray(0, cut.length - 100));
  assert.equal(short.statusCode, 400, short.body);
  assert.equal(short.json().error.code, 'invalid_part');
  assert.ok(!(await blobsOf(bss)).includes(b.scope.hash), 'the file whose bytes were cut is not published');

  for (const payload of [
    Buffer.from('not json\n'),
    Buffer.from('{"files":[]}\n'),
    Buffer.from(`{"files":[{"url":"/files/upload/single?owner=${owner}"}]}\n`),
    Buffer.from('{"files":[{"url":"/x"}]'),
  ]) {
    const res = await post(bss, payload);
    assert.equal(res.statusCode, 400, `${payload.toString().slice(0, 40)}: ${res.body}`);
    assert.equal(res.json().error.code, 'invalid_request');
  }
  const many = await post(
    bss,
    Buffer.from(`${JSON.stringify({ files: Array.from({ length: 1001 }, () => ({ url: items[0]?.url })) })}\n`),
  );
  assert.equal(many.statusCode, 413, many.body);
  assert.equal(many.json().error.maxFiles, 1000);

  // A wrong length framed by the signed sizes: the file after a short one gets the wrong bytes, and neither is published.
  const c = file(3_000);
  const d = file(4_000);
  const misframed = await post(
    bss,
    bundle([
      { url: singlePath('files', c.scope), bytes: c.data.subarray(1) },
      { url: singlePath('files', d.scope), bytes: Buffer.concat([d.data, Buffer.from('x')]) },
    ]),
  );
  assert.equal(misframed.statusCode, 200, misframed.body);
  assert.deepEqual(
    misframed.json().files.map((f: { error?: { code: string } }) => f.error?.code),
    ['hash_mismatch', 'hash_mismatch'],
  );
  const published = await blobsOf(bss);
  assert.ok(!published.includes(c.scope.hash) && !published.includes(d.scope.hash));
});
