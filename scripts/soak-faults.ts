/**
 * The soak's injected failures, as raw HTTP (what a broken or hostile client sends, which the CLI
 * never does): bodies whose bytes are not the file they claim (a part against its declared
 * check, a complete and a single-shot upload against the signed SHA-256, and the register of a
 * blob never stored), forged and expired signed URLs, clients that hang up half-way through a
 * body or a download, and requests with bad tokens. Each is entered in the ledger by kind, with
 * the answer when it is not the one expected.
 */
import { createHash, createHmac, randomBytes, randomInt } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { crc32 } from 'node:zlib';
import { presignUrl } from '@dreamlake/presign';
import type { LoadContext } from './soak-load.ts';

const MIB = 1024 * 1024;
const PART = 5 * MIB;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

export interface FaultContext extends LoadContext {
  bssUrl: string;
  presignSecret: string;
}

interface Answer {
  status: number;
  code: string;
  body: Record<string, unknown>;
  headers: Headers;
}

/** A request and its answer, JSON read when it is JSON (and the error code picked out). */
async function call(
  method: string,
  url: string,
  init: { token?: string; json?: unknown; body?: Uint8Array; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  let body: string | Uint8Array<ArrayBuffer> | undefined = init.body ? new Uint8Array(init.body) : undefined;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text: text.slice(0, 200) };
  }
  const error = parsed.error as { code?: string } | undefined;
  const s3Code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  return { status: res.status, code: error?.code ?? s3Code ?? '', body: parsed, headers: res.headers };
}

/** Records the fault, with what came back when it is not what `expect` allows. */
function expectAnswer(ctx: FaultContext, kind: string, answer: Answer, expect: (a: Answer) => boolean): void {
  ctx.ledger.fault(kind, expect(answer) ? undefined : `${answer.status} ${answer.code || JSON.stringify(answer.body)}`);
}

const space = (ctx: FaultContext) => ctx.user.spaces[0] as string;

async function ensureSpace(ctx: FaultContext): Promise<void> {
  const answer = await call('POST', `${ctx.serverUrl}/namespaces/${ctx.user.username}/spaces`, {
    token: ctx.user.token,
    json: { name: space(ctx) },
  });
  if (answer.status !== 201 && answer.status !== 409)
    throw new Error(`creating a space: ${answer.status} ${answer.code}`);
}

/**
 * A multipart upload whose part 1 is first sent with a byte changed against its declared check
 * (refused: 400), then right; part 2 is sent with a byte changed and no check, so complete finds
 * another SHA-256 (422) and publishes nothing; then the upload is aborted.
 */
async function wrongHashMultipart(ctx: FaultContext): Promise<void> {
  await ensureSpace(ctx);
  const size = PART + randomInt(1, 256 * 1024);
  const data = randomBytes(size);
  const hash = sha256(data);
  const grant = await call('POST', `${ctx.serverUrl}/uploads/init`, {
    token: ctx.user.token,
    json: {
      namespace: ctx.user.username,
      space: space(ctx),
      filename: `wrong/${hash.slice(0, 12)}.bin`,
      hash,
      contentType: 'application/octet-stream',
      type: 'files',
      size,
    },
  });
  const urls = grant.body as Record<string, string>;
  if (grant.status !== 200 || !urls.initUrl) return ctx.ledger.fault('wrong-hash multipart', `grant ${grant.status}`);
  const init = await call('POST', urls.initUrl, { json: { contentType: 'application/octet-stream', size } });
  const { uploadId, key, partCheck } = init.body as Record<string, string>;
  if (init.status !== 200) return ctx.ledger.fault('wrong-hash multipart', `init ${init.status} ${init.code}`);
  const part1 = data.subarray(0, PART);
  const part2 = data.subarray(PART);
  const md5 = partCheck === 'md5';
  const digest = md5 ? createHash('md5').update(part1).digest('base64') : uint32(crc32(part1)).toString('base64');
  const check = md5 ? { contentMd5: { '1': digest } } : { checksumCrc32: { '1': digest } };
  const checkHeader: Record<string, string> = md5 ? { 'content-md5': digest } : { 'x-amz-checksum-crc32': digest };
  const parts = await call('POST', urls.partsUrl as string, {
    json: { uploadId, key, partNumbers: [1, 2], contentLength: { '1': part1.length, '2': part2.length }, ...check },
  });
  const partUrls = (parts.body.parts ?? {}) as Record<string, string>;
  if (parts.status !== 200 || !partUrls['1'] || !partUrls['2'])
    return ctx.ledger.fault('wrong-hash multipart', `parts ${parts.status} ${parts.code}`);
  const changed1 = Buffer.from(part1);
  flipByte(changed1);
  const refused = await call('PUT', partUrls['1'], { body: changed1, headers: checkHeader });
  expectAnswer(ctx, 'part with bytes other than its check', refused, (a) => a.status === 400);
  const put1 = await call('PUT', partUrls['1'], { body: part1, headers: checkHeader });
  const changed2 = Buffer.from(part2);
  flipByte(changed2);
  const put2 = await call('PUT', partUrls['2'], { body: changed2 });
  const etag1 = put1.headers.get('etag');
  const etag2 = put2.headers.get('etag');
  if (put1.status !== 200 || put2.status !== 200 || !etag1 || !etag2)
    return ctx.ledger.fault('wrong-hash multipart', `part PUTs ${put1.status} ${put2.status}`);
  const complete = await call('POST', urls.completeUrl as string, {
    json: {
      uploadId,
      key,
      parts: [
        { partNumber: 1, etag: etag1 },
        { partNumber: 2, etag: etag2 },
      ],
    },
  });
  expectAnswer(ctx, 'complete with another SHA-256', complete, (a) => a.status === 422 && a.code === 'hash_mismatch');
  await registerUnstored(ctx, hash);
  const abort = await call('POST', urls.abortUrl as string, { json: { uploadId, key } });
  expectAnswer(ctx, 'abort after a refused complete', abort, (a) => a.status === 200);
}

/** Changes one byte of `data`, somewhere. */
function flipByte(data: Buffer): void {
  const at = randomInt(data.length);
  data.writeUInt8((data.readUInt8(at) ^ 0xff) & 0xff, at);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** Registering a hash whose bytes were never stored: refused (404), nothing listed. */
async function registerUnstored(ctx: FaultContext, hash: string): Promise<void> {
  const name = `wrong/${hash.slice(0, 12)}.bin`;
  const register = await call('POST', `${ctx.serverUrl}/namespaces/${ctx.user.username}/spaces/${space(ctx)}/files`, {
    token: ctx.user.token,
    json: { name, hash, type: 'files' },
  });
  expectAnswer(ctx, 'register of a blob never stored', register, (a) => a.status === 404);
}

/** A single-shot upload (disk: PUT to BSS; S3: staged, then complete) of bytes other than the signed hash. */
async function wrongHashSingle(ctx: FaultContext): Promise<void> {
  await ensureSpace(ctx);
  const data = randomBytes(randomInt(1024, 512 * 1024));
  const hash = sha256(data);
  const batch = await call('POST', `${ctx.serverUrl}/uploads/batch`, {
    token: ctx.user.token,
    json: {
      namespace: ctx.user.username,
      space: space(ctx),
      files: [
        {
          filename: `wrong/${hash.slice(0, 12)}.bin`,
          hash,
          contentType: 'application/octet-stream',
          type: 'files',
          size: data.length,
        },
      ],
    },
  });
  const entry = ((batch.body.files ?? []) as Array<Record<string, string>>)[0];
  if (batch.status !== 200 || !entry?.singleUrl) return ctx.ledger.fault('wrong-hash single', `grant ${batch.status}`);
  const changed = Buffer.from(data);
  flipByte(changed);
  const mode = await call('POST', entry.singleUrl, { json: {} });
  let answer: Answer;
  if (mode.body.mode === 's3') {
    const staged = await call('PUT', mode.body.url as string, {
      body: changed,
      headers: mode.body.headers as Record<string, string>,
    });
    if (staged.status !== 200) return ctx.ledger.fault('wrong-hash single', `S3 PUT ${staged.status} ${staged.code}`);
    const completeUrl = new URL(entry.singleUrl);
    completeUrl.pathname = `${completeUrl.pathname}/complete`;
    answer = await call('POST', completeUrl.toString(), { json: { key: mode.body.key } });
  } else {
    answer = await call('PUT', entry.singleUrl, {
      body: changed,
      headers: { 'content-type': 'application/octet-stream' },
    });
  }
  expectAnswer(ctx, 'single-shot with another SHA-256', answer, (a) => a.status === 422 && a.code === 'hash_mismatch');
  await registerUnstored(ctx, hash);
}

/** A download URL of one of the user's files, as the server grants it. */
async function downloadGrant(ctx: FaultContext): Promise<{ url: string; hash: string } | undefined> {
  const mine = ctx.ledger.published.filter((p) => p.namespace === ctx.user.username);
  const upload = mine[randomInt(Math.max(mine.length, 1))];
  if (!upload) return undefined;
  const name = [...upload.files.keys()][0] as string;
  const grant = await call(
    'GET',
    `${ctx.serverUrl}/namespaces/${upload.namespace}/spaces/${upload.space}/files/download?name=${encodeURIComponent(upload.prefix + name)}`,
    { token: ctx.user.token },
  );
  if (grant.status !== 200) {
    ctx.ledger.fault('download grant', `${grant.status} ${grant.code}`);
    return undefined;
  }
  return { url: grant.body.url as string, hash: grant.body.hash as string };
}

/** A granted URL with its signature changed, and one signed with the right secret but expired. */
async function forgedAndExpiredUrls(ctx: FaultContext): Promise<void> {
  const grant = await downloadGrant(ctx);
  if (!grant) return;
  const forged = new URL(grant.url);
  const sig = forged.searchParams.get('sig') ?? '';
  forged.searchParams.set('sig', `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`);
  expectAnswer(
    ctx,
    'forged signature',
    await call('GET', forged.toString()),
    (a) => a.status === 403 && a.code === 'bad_signature',
  );
  const longer = new URL(grant.url);
  longer.searchParams.set('exp', String(Number(longer.searchParams.get('exp')) + 3600));
  expectAnswer(ctx, 'exp moved later', await call('GET', longer.toString()), (a) => a.status === 403);
  const { url } = presignUrl(ctx.bssUrl, '/blobs/download', {
    action: 'download',
    params: { owner: ctx.user.username, project: space(ctx), hash: grant.hash },
    secrets: [ctx.presignSecret],
    now: Math.floor(Date.now() / 1000) - 7200,
    ttlSeconds: 600,
  });
  expectAnswer(
    ctx,
    'expired signature',
    await call('GET', url),
    (a) => a.status === 403 && a.code === 'expired_signature',
  );
}

/**
 * Sends the start of a body, then drops the connection: what a client whose network goes away
 * does. Resolves once the socket is gone.
 */
function hangUpMidBody(
  url: string,
  method: string,
  length: number,
  sent: number,
  headers: Record<string, string>,
): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method, agent: false, headers: { ...headers, 'content-length': String(length) } });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.on('response', (res) => {
      res.resume();
      req.destroy();
    });
    req.write(randomBytes(sent), () => setTimeout(() => req.destroy(), 50));
  });
}

/** Reads the start of a download, then drops the connection. */
function hangUpMidDownload(url: string): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.on('response', (res) => res.once('data', () => req.destroy()).once('end', () => req.destroy()));
    req.end();
  });
}

/** Connections dropped mid-body: a single-shot upload, a server batch request, and a download. */
async function disconnects(ctx: FaultContext): Promise<void> {
  await ensureSpace(ctx);
  const size = randomInt(1, 4) * MIB;
  const hash = randomBytes(32).toString('hex');
  const batch = await call('POST', `${ctx.serverUrl}/uploads/batch`, {
    token: ctx.user.token,
    json: {
      namespace: ctx.user.username,
      space: space(ctx),
      files: [
        {
          filename: `gone/${hash.slice(0, 12)}.bin`,
          hash,
          contentType: 'application/octet-stream',
          type: 'files',
          size,
        },
      ],
    },
  });
  const entry = ((batch.body.files ?? []) as Array<Record<string, string>>)[0];
  if (batch.status === 200 && entry?.singleUrl) {
    // On S3 the single-shot body goes to S3, not BSS: the staged complete's body is cut instead.
    const mode = await call('POST', entry.singleUrl, { json: {} });
    if (mode.body.mode === 's3') {
      const completeUrl = new URL(entry.singleUrl);
      completeUrl.pathname = `${completeUrl.pathname}/complete`;
      await hangUpMidBody(completeUrl.toString(), 'POST', 4096, 10, { 'content-type': 'application/json' });
    } else {
      await hangUpMidBody(entry.singleUrl, 'PUT', size, Math.floor(size / 3), {
        'content-type': 'application/octet-stream',
      });
    }
    ctx.ledger.fault('client gone mid-upload');
  } else {
    ctx.ledger.fault('client gone mid-upload', `grant ${batch.status} ${batch.code}`);
  }
  await hangUpMidBody(`${ctx.serverUrl}/uploads/batch`, 'POST', 64 * 1024, 100, {
    'content-type': 'application/json',
    authorization: `Bearer ${ctx.user.token}`,
  });
  ctx.ledger.fault('client gone mid-request (server)');
  const grant = await downloadGrant(ctx);
  if (grant) {
    await hangUpMidDownload(grant.url);
    ctx.ledger.fault('client gone mid-download');
  }
}

/** A JWT of the right shape for the user, signed with another secret. */
function forgedJwt(username: string): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: username, iat: now, exp: now + 3600 })}`;
  return `${head}.${createHmac('sha256', randomBytes(32)).update(head).digest('base64url')}`;
}

async function badTokens(ctx: FaultContext): Promise<void> {
  const list = `${ctx.serverUrl}/namespaces/${ctx.user.username}/spaces/${space(ctx)}/files`;
  for (const [kind, token] of [
    ['garbage bearer token', randomBytes(24).toString('base64url')],
    ['JWT signed with another secret', forgedJwt(ctx.user.username)],
  ] as const) {
    expectAnswer(ctx, kind, await call('GET', list, { token }), (a) => a.status === 401);
  }
  expectAnswer(ctx, 'no token', await call('GET', `${ctx.serverUrl}/auth/me`), (a) => a.status === 401);
  expectAnswer(ctx, 'metrics without their token', await call('GET', `${ctx.bssUrl}/metrics`), (a) => a.status === 401);
}

const FAULTS = [wrongHashMultipart, wrongHashSingle, forgedAndExpiredUrls, disconnects, badTokens];

/** One injected failure, chosen at random. */
export async function injectFault(ctx: FaultContext): Promise<void> {
  const fault = FAULTS[randomInt(FAULTS.length)] as (typeof FAULTS)[number];
  await fault(ctx);
}
