/**
 * The protocol client against the real server and BSS, over both transports that use it: the
 * platform's fetch (Node 20's here, the browser's in the page) and the CLI's keep-alive pool. The
 * page and the CLI speak through this one module, so every step each takes is checked here.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { cliTransport, createAgent } from '../../packages/cli/src/http.ts';
import {
  BssApi,
  isExpired,
  parseStored,
  ServerApi,
  type Transport,
  transport,
} from '../../packages/protocol/src/client/index.ts';
import { planParts } from '../../packages/protocol/src/index.ts';
import { backends, MIB, Services, uniqueName } from './harness.ts';

const agent = createAgent(8);
after(() => agent.close());

/** The two ways the client goes out: the page's (and a Node program's) fetch, and the CLI's pool. */
const transports: Array<{ name: string; via: Transport }> = [
  { name: 'platform fetch', via: transport() },
  { name: 'CLI pool', via: cliTransport(agent) },
];

/** The failure's fields, whichever transport's error type carries them. */
function failure(e: unknown): { status: number; code: string } {
  const { status, code, wireCode } = e as { status: number; code: string; wireCode?: string };
  return { status, code: wireCode ?? code };
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function put(
  url: string,
  body: Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = {},
): Promise<Response> {
  const res = await fetch(url, { method: 'PUT', body, headers });
  if (!res.ok) throw new Error(`PUT ${new URL(url).pathname} answered ${res.status}: ${await res.text()}`);
  return res;
}

for (const backend of backends())
  for (const { name: via, via: transportOf } of transports) {
    describe(`protocol client over ${via} (${backend.name})`, () => {
      const bss = new BssApi(transportOf);
      let services: Services;
      let api: ServerApi;
      let token: string | undefined;
      let namespace: string;

      before(async () => {
        services = await Services.start({ backend });
        api = new ServerApi(services.serverUrl, transportOf, { token: () => token });
        namespace = uniqueName('proto');
        token = (await api.signup(namespace, 'correct horse battery staple')).token;
      });
      after(() => services?.close());

      test('a small file: batch grant with a single-shot URL, one body, register with the receipt, list, download', async () => {
        const body = new Uint8Array(randomBytes(100_000));
        const hash = sha256(body);
        const { files } = await api.grantBatch(namespace, 'small', [
          { filename: 'a/b.csv', hash, contentType: 'text/csv', type: 'tracks', size: body.length },
        ]);
        const entry = files[0];
        assert.ok(entry && !('error' in entry) && !entry.exists && entry.singleUrl, 'granted with a single URL');
        const begin = await bss.singleBegin(entry.singleUrl, 'text/csv');
        let stored: Awaited<ReturnType<typeof bss.singleComplete>> | undefined;
        if (begin.mode === 'put') {
          stored = parseStored(await (await put(entry.singleUrl, body, { 'content-type': 'text/csv' })).text());
        } else {
          await put(begin.url, body, begin.headers ?? { 'content-type': 'text/csv' });
          stored = await bss.singleComplete(entry.singleUrl, begin.key);
        }
        assert.equal(stored?.hash, hash);
        assert.ok(stored?.receipt, 'BSS signed a receipt');
        const { file } = await api.registerFile(namespace, 'small', {
          name: 'a/b.csv',
          hash,
          type: 'tracks',
          contentType: 'text/csv',
          receipt: stored.receipt,
        });
        assert.equal(file.size, body.length);
        const listed = await api.listFiles(namespace, 'small');
        assert.deepEqual(
          listed.files.map((f) => [f.name, f.hash]),
          [['a/b.csv', hash]],
        );
        const grant = await api.downloadGrant(namespace, 'small', 'a/b.csv');
        const bytes = new Uint8Array(await (await fetch(grant.url)).arrayBuffer());
        assert.equal(sha256(bytes), hash);
      });

      test('a multipart file: init, part URLs, PUTs, parts-done, complete, register; a second grant says exists', async () => {
        const size = 11 * MIB + 7;
        const body = new Uint8Array(randomBytes(size));
        const hash = sha256(body);
        const init = await api.initUpload({
          namespace,
          space: 'big',
          filename: 'big.bin',
          hash,
          contentType: 'application/octet-stream',
          type: 'files',
          size,
        });
        assert.ok(!init.exists);
        const upload = await bss.init(init, { contentType: 'application/octet-stream', filename: 'big.bin', size });
        const parts = planParts(size, 5 * MIB);
        assert.equal(parts.length, 3);
        const lengths = Object.fromEntries(parts.map((p) => [String(p.partNumber), p.end - p.start]));
        const urls = await bss.partUrls(init, {
          ...upload,
          partNumbers: parts.map((p) => p.partNumber),
          contentLength: lengths,
        });
        const etags: Array<{ partNumber: number; etag: string }> = [];
        for (const p of parts.slice(0, 2)) {
          const res = await put(urls.parts[String(p.partNumber)] as string, body.subarray(p.start, p.end));
          etags.push({ partNumber: p.partNumber, etag: res.headers.get('etag') as string });
        }
        const done = await bss.partsDone(init, upload);
        assert.equal(done.expired, false);
        assert.deepEqual(
          done.parts.map((p) => p.partNumber),
          [1, 2],
        );
        const last = parts[2];
        assert.ok(last);
        const res = await put(urls.parts['3'] as string, body.subarray(last.start, last.end));
        etags.push({ partNumber: 3, etag: res.headers.get('etag') as string });
        const stored = await bss.complete(init, upload, etags);
        assert.equal(stored.hash, hash);
        await api.registerFile(namespace, 'big', {
          name: 'big.bin',
          hash,
          type: 'files',
          contentType: 'application/octet-stream',
          receipt: stored.receipt,
        });
        const again = await api.grantBatch(namespace, 'big', [
          { filename: 'copy.bin', hash, contentType: 'application/octet-stream', type: 'files', size },
        ]);
        assert.equal((again.files[0] as { exists?: boolean }).exists, true);
      });

      test("refusals arrive with the services' status and codes; no answer is status 0", async () => {
        const hash = sha256(new Uint8Array([1]));
        const { files } = await api.grantBatch(namespace, 'refused', [
          { filename: 'x.txt', hash, contentType: 'text/plain', type: 'files', size: 1 },
        ]);
        const entry = files[0];
        assert.ok(entry && !('error' in entry) && !entry.exists);
        const tampered = { ...entry, initUrl: entry.initUrl.replace(/sig=[0-9a-f]+/, `sig=${'0'.repeat(64)}`) };
        await assert.rejects(bss.init(tampered, { contentType: 'text/plain' }), (e: unknown) => {
          assert.deepEqual(failure(e), { status: 403, code: 'bad_signature' });
          assert.equal(isExpired(e), false);
          return true;
        });
        const anonymous = new ServerApi(services.serverUrl, transportOf);
        await assert.rejects(anonymous.listFiles(namespace, 'refused'), (e: unknown) => {
          assert.equal(failure(e).status, 401);
          return true;
        });
        const dead = new ServerApi('http://127.0.0.1:9', transportOf, { token: () => token });
        await assert.rejects(dead.me(), (e: unknown) => {
          assert.match((e as Error).message, /127\.0\.0\.1:9/, 'the message names where it could not go');
          // The platform's errors say `network`; the CLI's are its NetworkError, which has no status.
          if (transportOf === transports[0]?.via) assert.deepEqual(failure(e), { status: 0, code: 'network' });
          else assert.equal((e as Error).name, 'NetworkError');
          return true;
        });
      });
    });
  }
