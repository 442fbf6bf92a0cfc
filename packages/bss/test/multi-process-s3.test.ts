import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { verifyReceipt } from '@dreamlake/presign';
import { type Service, startService, stopChild } from '../../../support/process.ts';
import { httpPut, MiB, SECRET, sha256, signedQuery, tempDir } from './helpers.ts';
import { createTestBucket, readS3TestConfig, S3_SKIP_REASON, s3EnvVars, type TestBucket } from './storage-s3-env.ts';

const base = readS3TestConfig();
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

type Bss = Service;

/** A real BSS process on its own port; its environment is built here, nothing is inherited. */
function startBssProcess(env: Record<string, string>): Promise<Bss> {
  // A BSS that cannot start fails the test within 30 s, with its output, instead of hanging it.
  return startService(MAIN, { env: { NODE_NO_WARNINGS: '1', ...env }, what: 'BSS', timeoutMs: 30_000 });
}

const stop = (bss: Bss, signal: NodeJS.Signals = 'SIGTERM') => stopChild(bss, signal);

// biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the service answers
async function call(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  return { status: res.status, json: await res.json() };
}

describe('two BSS processes over one bucket', { skip: base ? false : S3_SKIP_REASON }, () => {
  let bucket: TestBucket;
  let data: { remove(): Promise<void>; dir: string };
  let a: Bss;
  let b: Bss;
  let env: Record<string, string>;

  before(async () => {
    bucket = await createTestBucket(base!);
    data = await tempDir('bss-s3-multi-');
    env = {
      ...s3EnvVars(bucket.config),
      PRESIGN_SECRETS: SECRET,
      HOST: '127.0.0.1',
      BSS_PORT: '0',
      DREAMLAKE_DATA_DIR: data.dir,
      SWEEP_INTERVAL_SECONDS: '0',
      LOG_LEVEL: 'info',
    };
    [a, b] = await Promise.all([startBssProcess(env), startBssProcess(env)]);
  });
  after(async () => {
    for (const p of [a, b]) if (p) await stop(p);
    await data?.remove();
    await bucket?.destroy();
  });

  test('one upload served alternately by both, surviving one of them being killed; downloads redirect to S3', {
    timeout: 180_000,
  }, async () => {
    assert.notEqual(a.url, b.url);
    const file = randomBytes(7 * MiB);
    const parts = [file.subarray(0, 5 * MiB), file.subarray(5 * MiB)];
    const scope = { owner: 'acme', project: 'fleet', hash: sha256(file) };
    const at = (bss: Bss, action: string, route: string, extra = '') =>
      `${bss.url}/videos/upload/multipart/${route}?${signedQuery(action, { ...scope, size: String(file.length) })}${extra}`;
    const md5 = (body: Buffer) => createHash('md5').update(body).digest('base64');

    const init = await call('POST', at(a, 'upload-init', 'init'), { contentType: 'video/mp4', size: file.length });
    assert.equal(init.status, 200, JSON.stringify(init.json));
    const { uploadId, key } = init.json as { uploadId: string; key: string };

    // Part URLs from B point straight at S3: the bytes never pass through either BSS.
    const urls = await call('POST', at(b, 'upload-parts', 'parts'), {
      uploadId,
      key,
      partNumbers: [1],
      contentMd5: { 1: md5(parts[0]!) },
      contentLength: { 1: parts[0]!.length },
    });
    assert.equal(urls.status, 200, JSON.stringify(urls.json));
    const url1 = urls.json.parts['1'] as string;
    assert.ok(url1.startsWith(bucket.config.endpoint!), url1);
    const corrupted = Buffer.from(parts[0]!);
    corrupted[0] = corrupted[0]! ^ 1;
    assert.equal((await httpPut(url1, corrupted, { 'content-md5': md5(parts[0]!) })).status, 400);
    const put1 = await httpPut(url1, parts[0]!, { 'content-md5': md5(parts[0]!) });
    assert.equal(put1.status, 200);

    const doneQuery = `&uploadId=${encodeURIComponent(uploadId)}&key=${encodeURIComponent(key)}`;
    const doneOnA = await call('GET', at(a, 'upload-parts-done', 'parts-done', doneQuery));
    assert.deepEqual(doneOnA.json, { parts: [{ partNumber: 1, etag: put1.etag, size: 5 * MiB }], expired: false });

    await stop(a, 'SIGKILL'); // A dies mid-upload; B carries on from what the bucket holds.

    const urls2 = await call('POST', at(b, 'upload-parts', 'parts'), {
      uploadId,
      key,
      partNumbers: [2],
      contentLength: { 2: parts[1]!.length },
    });
    const put2 = await httpPut(urls2.json.parts['2'] as string, parts[1]!);
    assert.equal(put2.status, 200);
    const doneOnB = await call('GET', at(b, 'upload-parts-done', 'parts-done', doneQuery));
    const listed = (doneOnB.json.parts as { partNumber: number; etag: string }[]).map(({ partNumber, etag }) => ({
      partNumber,
      etag,
    }));
    assert.deepEqual(
      listed.map((p) => p.partNumber),
      [1, 2],
    );

    const complete = await call('POST', at(b, 'upload-complete', 'complete'), { uploadId, key, parts: listed });
    assert.equal(complete.status, 200, JSON.stringify(complete.json));
    const { receipt, ...answer } = complete.json;
    assert.deepEqual(answer, {
      success: true,
      key: `blobs/acme/fleet/${scope.hash}`,
      hash: scope.hash,
      size: file.length,
      contentType: 'video/mp4',
    });
    assert.deepEqual(verifyReceipt([SECRET], scope, receipt, Math.floor(Date.now() / 1000)), {
      size: file.length,
      contentType: 'video/mp4',
    });

    // A restarted instance sees the blob; the upload is gone for everyone.
    a = await startBssProcess(env);
    const stat = await call('GET', `${a.url}/blobs/stat?${signedQuery('stat', scope)}`);
    assert.deepEqual(stat.json, { ...scope, size: file.length, contentType: 'video/mp4' });
    assert.deepEqual((await call('GET', at(a, 'upload-parts-done', 'parts-done', doneQuery))).json, {
      parts: [],
      expired: true,
    });
    // Downloads are a redirect to a presigned S3 GET, ranges included.
    const download = `${a.url}/blobs/download?${signedQuery('download', scope)}`;
    const redirect = await fetch(download, { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    assert.ok(redirect.headers.get('location')?.startsWith(bucket.config.endpoint!));
    const whole = await fetch(download);
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(file));
    const ranged = await fetch(download, { headers: { range: 'bytes=5242870-5242889' } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(file.subarray(5242870, 5242890)));

    const again = await call('POST', at(a, 'upload-complete', 'complete'), { uploadId, key, parts: listed });
    assert.equal(again.status, 200, 'a repeated complete on the other process answers the blob');
    assert.equal(again.json.hash, scope.hash);
  });
});
