import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildBssApp } from '../packages/bss/src/app.ts';
import { loadBssConfig } from '../packages/bss/src/config.ts';
import { createFsStorage } from '../packages/bss/src/storage/fs/index.ts';
import { PRESIGN_SECRET, useHarness } from '../packages/server/test/helpers/harness.ts';

/**
 * The server signs upload URLs on its clock and BSS checks them on its own: with BSS's clock two
 * minutes ahead of or behind the server's (both clocks injected), grants still work, within the
 * default CLOCK_SKEW_SECONDS (300); a skew past it is refused with a signature error.
 */

const TTL = 600;
const SKEW = 120;
const FILES = 100;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

for (const [direction, sign] of [
  ['ahead of', 1],
  ['behind', -1],
] as const) {
  describe(`BSS's clock ${SKEW} s ${direction} the server's`, () => {
    let bss: FastifyInstance;
    let bssUrl = '';
    let dir = '';
    const bssSkew = { seconds: sign * SKEW };
    // BSS's clock is the server's, shifted: both move when the test moves the server's.
    const bssClock = () => Math.floor(h.clock.now / 1000) + bssSkew.seconds;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'clock-skew-'));
      const config = loadBssConfig({
        PRESIGN_SECRETS: PRESIGN_SECRET,
        DREAMLAKE_DATA_DIR: dir,
        LOG_LEVEL: 'silent',
        SWEEP_INTERVAL_SECONDS: '0',
        PRESIGN_TTL_SECONDS: String(TTL),
      });
      assert.equal(config.clockSkewSeconds, 300, 'the default skew allowed');
      const storage = await createFsStorage({
        root: join(dir, 'bss'),
        publicUrl: () => bssUrl,
        secrets: [PRESIGN_SECRET],
        clock: bssClock,
      });
      bss = await buildBssApp({ config, storage, clock: bssClock });
      bssUrl = await bss.listen({ host: '127.0.0.1', port: 0 });
    });
    after(async () => {
      await bss?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });
    // The server starts once BSS listens (its URLs name BSS).
    const h = useHarness('sqlite', () => ({ bssPublicUrl: bssUrl, bssInternalUrl: bssUrl, presignTtlSeconds: TTL }));

    async function grant(token: string, namespace: string, data: Buffer) {
      const hash = sha256(data);
      const granted = await h.call('POST', '/uploads/init', token, {
        namespace,
        space: 'robotics',
        filename: `${hash.slice(0, 8)}.bin`,
        hash,
        contentType: 'application/octet-stream',
        type: 'files',
        size: data.length,
      });
      assert.equal(granted.statusCode, 200, granted.body);
      return { hash, urls: granted.json() as Record<string, string> };
    }

    /** Uploads through BSS with a grant's URLs as a client does; answers the first refusal, or the receipt. */
    async function send(urls: Record<string, string>, data: Buffer) {
      const init = await post(urls.initUrl as string, { contentType: 'application/octet-stream', size: data.length });
      if (init.status !== 200) return { refused: init };
      const { uploadId, key } = init.json as { uploadId: string; key: string };
      const parts = await post(urls.partsUrl as string, { uploadId, key, partNumbers: [1] });
      if (parts.status !== 200) return { refused: parts };
      const put = await fetch((parts.json.parts as Record<string, string>)['1'] as string, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(data),
      });
      if (put.status !== 200)
        return { refused: { status: put.status, json: (await put.json()) as Record<string, unknown> } };
      const done = await post(urls.completeUrl as string, {
        uploadId,
        key,
        parts: [{ partNumber: 1, etag: put.headers.get('etag') }],
      });
      if (done.status !== 200) return { refused: done };
      return { receipt: done.json.receipt };
    }

    test(`${FILES} files granted by the server upload through BSS and register with BSS's receipts`, async () => {
      h.clock.now = Date.now();
      bssSkew.seconds = sign * SKEW;
      const alice = await h.user('alice');
      const hashes = new Map<string, string>();
      for (let i = 0; i < FILES; i++) {
        const data = randomBytes(200 + i);
        const { hash, urls } = await grant(alice.token, alice.name, data);
        const sent = await send(urls, data);
        assert.ok(sent.receipt, `file ${i}: ${JSON.stringify(sent.refused)}`);
        const name = `f${i}.bin`;
        const reg = await h.call('POST', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token, {
          name,
          hash,
          type: 'files',
          receipt: sent.receipt,
        });
        assert.equal(reg.statusCode, 201, reg.body);
        hashes.set(name, hash);
      }
      const listed = await h.call('GET', `/namespaces/${alice.name}/spaces/robotics/files?limit=1000`, alice.token);
      assert.equal(listed.statusCode, 200, listed.body);
      const files = listed.json().files as Array<{ name: string; hash: string }>;
      assert.deepEqual(new Map(files.map((f) => [f.name, f.hash])), hashes);
    });

    test('a grant used in the last minute of its life on the server clock still uploads', async () => {
      h.clock.now = Date.now();
      bssSkew.seconds = sign * SKEW;
      const alice = await h.user('late');
      const data = randomBytes(1000);
      const { urls } = await grant(alice.token, alice.name, data);
      h.clock.now += (TTL - 60) * 1000;
      const sent = await send(urls, data);
      assert.ok(sent.receipt, JSON.stringify(sent.refused));
    });

    test('a skew past CLOCK_SKEW_SECONDS is refused with a signature error', async () => {
      h.clock.now = Date.now();
      bssSkew.seconds = sign * 400;
      const alice = await h.user('far');
      const data = randomBytes(1000);
      const { urls } = await grant(alice.token, alice.name, data);
      // Ahead: the grant's URLs have expired on BSS's clock by the end of their life on the server's.
      if (sign > 0) h.clock.now += (TTL - 60) * 1000;
      const sent = await send(urls, data);
      assert.ok(sent.refused, 'the upload is refused');
      assert.equal(sent.refused.status, 403);
      assert.equal(
        (sent.refused.json.error as { code: string }).code,
        sign > 0 ? 'expired_signature' : 'bad_signature',
      );
    });
  });
}
