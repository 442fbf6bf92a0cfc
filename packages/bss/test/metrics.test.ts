import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { makeApp, sha256, signedQuery, type TestApp, uploadPaths } from './helpers.ts';

/** The value of one series in Prometheus text (`name{a="b"} 3`), 0 when absent. */
function series(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return 0;
}

async function scrape(app: FastifyInstance, headers: Record<string, string> = {}): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers });
  assert.equal(res.statusCode, 200, res.body);
  return res.body;
}

const pathOf = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

describe('BSS metrics', () => {
  let bss: TestApp;
  before(async () => {
    bss = await makeApp();
  });
  after(() => bss?.close());

  test('an upload and a download: bytes, parts, completes, uploads and requests by route', async () => {
    const body = randomBytes(3000);
    const scope = { owner: 'acme', project: 'metrics', hash: sha256(body) };
    const paths = uploadPaths('files', scope);
    const call = (url: string, payload?: object) =>
      bss.app.inject({ method: payload ? 'POST' : 'GET', url, ...(payload ? { payload } : {}) });
    const init = (await call(paths.init, { contentType: 'text/plain', size: body.length })).json();
    const urls = (await call(paths.parts, { uploadId: init.uploadId, key: init.key, partNumbers: [1] })).json();
    const put = await bss.app.inject({
      method: 'PUT',
      url: pathOf(urls.parts['1']),
      payload: body,
      headers: {
        'content-type': 'application/octet-stream',
        'content-md5': createHash('md5').update(body).digest('base64'),
      },
    });
    assert.equal(put.statusCode, 200, put.body);
    const done = await call(paths.complete, {
      uploadId: init.uploadId,
      key: init.key,
      parts: [{ partNumber: 1, etag: put.headers.etag }],
    });
    assert.equal(done.statusCode, 200, done.body);
    const download = await call(`/blobs/download?${signedQuery('download', scope)}`);
    assert.equal(download.rawPayload.length, body.length);

    const text = await scrape(bss.app);
    assert.ok(series(text, 'process_resident_memory_bytes') > 0, 'default process metrics');
    assert.equal(series(text, 'dreamlake_bss_received_bytes_total', { route: '/upload/part' }), body.length);
    assert.equal(series(text, 'dreamlake_bss_served_bytes_total'), body.length);
    assert.equal(series(text, 'dreamlake_bss_parts_received_total'), 1);
    assert.equal(series(text, 'dreamlake_bss_part_urls_total'), 1);
    assert.equal(series(text, 'dreamlake_bss_uploads_opened_total'), 1);
    assert.equal(series(text, 'dreamlake_bss_uploads_finished_total', { outcome: 'completed' }), 1);
    assert.equal(series(text, 'dreamlake_bss_completes_total', { kind: 'multipart', outcome: 'ok' }), 1);
    assert.equal(
      series(text, 'dreamlake_bss_complete_duration_seconds_count', { kind: 'multipart', outcome: 'ok' }),
      1,
    );
    assert.equal(
      series(text, 'dreamlake_http_requests_total', { method: 'PUT', route: '/upload/part', status: '200' }),
      1,
    );
    assert.equal(series(text, 'dreamlake_bss_transfers_in_flight', { route: '/upload/part' }), 0);
  });

  test('signature refusals by code, and failed verifications by code', async () => {
    const scope = { owner: 'acme', project: 'metrics', hash: sha256(Buffer.from('other')) };
    const before = await scrape(bss.app);
    const refusals = (text: string, code: string) => series(text, 'dreamlake_bss_signature_refusals_total', { code });
    const stat = (query: string) => bss.app.inject({ method: 'GET', url: `/blobs/stat?${query}` });
    assert.equal((await stat('owner=acme&project=metrics')).statusCode, 401);
    const tampered = signedQuery('stat', scope).replace(/sig=[0-9a-f]/, (m) => (m.endsWith('0') ? 'sig=1' : 'sig=0'));
    assert.equal((await stat(tampered)).statusCode, 403);
    const expired = signedQuery('stat', scope, { now: Math.floor(Date.now() / 1000) - 3600, ttl: 60 });
    assert.equal((await stat(expired)).statusCode, 403);

    // A complete whose bytes are not the signed hash.
    const body = randomBytes(100);
    const paths = uploadPaths('files', scope);
    const init = (await bss.app.inject({ method: 'POST', url: paths.init, payload: {} })).json();
    const urls = (
      await bss.app.inject({
        method: 'POST',
        url: paths.parts,
        payload: { uploadId: init.uploadId, key: init.key, partNumbers: [1] },
      })
    ).json();
    const put = await bss.app.inject({ method: 'PUT', url: pathOf(urls.parts['1']), payload: body });
    const done = await bss.app.inject({
      method: 'POST',
      url: paths.complete,
      payload: { uploadId: init.uploadId, key: init.key, parts: [{ partNumber: 1, etag: put.headers.etag }] },
    });
    assert.equal(done.json().error.code, 'hash_mismatch');

    const text = await scrape(bss.app);
    assert.equal(refusals(text, 'missing_signature') - refusals(before, 'missing_signature'), 1);
    assert.equal(refusals(text, 'bad_signature') - refusals(before, 'bad_signature'), 1);
    assert.equal(refusals(text, 'expired_signature') - refusals(before, 'expired_signature'), 1);
    assert.equal(series(text, 'dreamlake_bss_completes_total', { kind: 'multipart', outcome: 'hash_mismatch' }), 1);
  });
});

test('with METRICS_TOKEN, a scrape must bring it', async () => {
  const token = 'bss-metrics-token-0123456789';
  const bss = await makeApp({ METRICS_TOKEN: token });
  try {
    const refused = await bss.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().error.code, 'unauthorized');
    const wrong = await bss.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.statusCode, 401);
    assert.match(await scrape(bss.app, { authorization: `Bearer ${token}` }), /dreamlake_http_requests_total/);
  } finally {
    await bss.close();
  }
});

test('during a rollout with REQUIRE_PRESIGNED_UPLOADS=false, unsigned uploads are counted apart', async () => {
  const bss = await makeApp({ REQUIRE_PRESIGNED_UPLOADS: 'false' });
  try {
    const scope = { owner: 'acme', project: 'legacy', hash: sha256(Buffer.from('legacy')) };
    const unsigned = await bss.app.inject({ method: 'POST', url: '/files/upload/multipart/init', payload: scope });
    assert.equal(unsigned.statusCode, 200, unsigned.body);
    const signed = await bss.app.inject({ method: 'POST', url: uploadPaths('files', scope).init, payload: {} });
    assert.equal(signed.statusCode, 200, signed.body);
    const text = await scrape(bss.app);
    assert.equal(series(text, 'dreamlake_bss_unsigned_uploads_total', { route: '/:type/upload/multipart/init' }), 1);
    assert.equal(series(text, 'dreamlake_bss_uploads_opened_total'), 2);
  } finally {
    await bss.close();
  }
});
