import { Readable } from 'node:stream';
import { DreamLakeError, verify } from '@dreamlake/presign';
import { MAX_PART_SIZE, Semaphore } from '@dreamlake/protocol';
import { parseOrThrow, type RouteDoc } from '@dreamlake/service';
import type { FastifyInstance } from 'fastify';
import { isAssetType } from '../asset-types.ts';
import { ByteReader } from '../http/byte-reader.ts';
import type { BssContext } from '../http/context.ts';
import { SINGLE_PARAMS } from '../http/guards.ts';
import { bodyStream, streamRawBodies } from '../http/raw-body.ts';
import { blobAnswer } from '../http/receipt.ts';
import { singleContentType, singleQuery } from '../http/schemas.ts';
import { receivesSingleOf, type SingleReceiver, type SingleUpload } from '../storage/single-upload.ts';
import type { Storage } from '../storage/storage.ts';
import { singlesAnswer } from './answers.ts';
import { bytes } from './route-docs.ts';

/** Files one request may carry. */
export const SINGLES_MAX_FILES = 1000;
/** The most bytes its first line (the list of files) may have. */
const HEAD_MAX_BYTES = 4 * 1024 * 1024;

interface Entry {
  url: string;
  contentType?: string;
}

type EntryAnswer =
  | ({ index: number } & ReturnType<typeof blobAnswer>)
  | { index: number; error: { code: string; message: string } };

function entryFailure(index: number, error: unknown): EntryAnswer {
  if (!(error instanceof DreamLakeError)) return { index, error: { code: 'internal', message: 'internal error' } };
  return { index, error: { code: error.code, message: error.message } };
}

/** Bodies up to this are read whole, then published while the next ones are read. */
const IN_MEMORY_MAX_BYTES = 1024 * 1024;
/** Small bodies of one request being hashed and published at once. */
const PUBLISH_AT_ONCE = 8;

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

/** An entry's signed scope, checked as the single-shot route's guard checks it. */
function verifyEntry(
  ctx: BssContext,
  index: number,
  query: Record<string, string | string[]>,
  path: string,
  storage: Storage,
): Omit<SingleUpload, 'contentType'> {
  const type = /^\/([^/]+)\/upload\/single$/.exec(path)?.[1];
  if (!isAssetType(type))
    throw new DreamLakeError('invalid_request', `files[${index}].url is not a single-shot upload URL`);
  const scope = verify({
    action: 'upload-single',
    signed: SINGLE_PARAMS,
    query,
    secrets: ctx.config.secrets,
    now: ctx.clock(),
    maxLifetimeSeconds: ctx.config.presignTtlSeconds,
    clockSkewSeconds: ctx.config.clockSkewSeconds,
  });
  const signed = parseOrThrow(singleQuery, scope.params, 'signed parameters');
  if (signed.size > MAX_PART_SIZE || !receivesSingleOf(storage, signed.size)) {
    throw new DreamLakeError('conflict', 'this BSS takes a body of this size only by its single-shot URL');
  }
  return signed;
}

/** The list of files: one line of JSON. */
function parseHead(line: string): Entry[] {
  let head: unknown;
  try {
    head = JSON.parse(line);
  } catch {
    throw new DreamLakeError(
      'invalid_request',
      'the first line of the body must be JSON: { "files": [{ "url", "contentType"? }] }',
    );
  }
  const files = (head as { files?: unknown } | null)?.files;
  if (!Array.isArray(files) || files.length === 0)
    throw new DreamLakeError('invalid_request', '"files" must list at least one file');
  if (files.length > SINGLES_MAX_FILES) {
    throw new DreamLakeError('too_large', `at most ${SINGLES_MAX_FILES} files in one request`, {
      maxFiles: SINGLES_MAX_FILES,
    });
  }
  return files.map((file, index) => {
    const entry = file as Partial<Entry> | null;
    if (typeof entry?.url !== 'string' || (entry.contentType !== undefined && typeof entry.contentType !== 'string')) {
      throw new DreamLakeError('invalid_request', `files[${index}] must be { "url": string, "contentType"?: string }`);
    }
    return { url: entry.url, ...(entry.contentType !== undefined ? { contentType: entry.contentType } : {}) };
  });
}

/** The query of an entry's single-shot URL, and the byte count that frames its body. */
function readUrl(
  entry: Entry,
  index: number,
): { query: Record<string, string | string[]>; size: number; path: string } {
  let url: URL;
  try {
    url = new URL(entry.url, 'http://bss.invalid');
  } catch {
    throw new DreamLakeError('invalid_request', `files[${index}].url is not a URL`);
  }
  const sizes = url.searchParams.getAll('size');
  const size = sizes.length === 1 && /^(0|[1-9][0-9]{0,15})$/.test(sizes[0] as string) ? Number(sizes[0]) : Number.NaN;
  // Without its size the bytes of this file and of every later one cannot be told apart.
  if (!Number.isSafeInteger(size))
    throw new DreamLakeError('invalid_request', `files[${index}].url has no single size`);
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? (values[0] as string) : values;
  }
  return { query, size, path: url.pathname };
}

/**
 * `POST /upload/singles`: several single-shot bodies in one request, for a browser's small files
 * (a simple request: no CORS preflight, whatever its own Content-Type). The body is one line of
 * JSON, `{ "files": [{ "url", "contentType"? }] }` (each `url` a single-shot URL the server
 * signed, `/{type}/upload/single?…`), then each file's bytes in that order, exactly its signed
 * size. Each file is checked as its own `PUT` would be (signature, size, SHA-256) and published
 * only when it matches; the answer lists each file's blob, or its error, in order. One file's
 * refusal does not stop the others: its bytes are read past.
 */
export async function registerSinglesRoute(
  app: FastifyInstance,
  ctx: BssContext,
  storage: Storage & SingleReceiver,
): Promise<void> {
  // Each file carries its own signature, checked here: the route itself is not behind one.
  const doc: RouteDoc = {
    summary:
      'Several single-shot bodies in one request (a browser’s simple request): a first line of JSON { files: [{ url, contentType? }] } (each url a signed single-shot URL), then each file’s bytes, exactly its signed size, in order; each file checked and published as its PUT would be',
    tags: ['uploads'],
    auth: 'presigned',
    body: bytes('one line of JSON, a newline, then the files’ bytes back to back', 'text/plain'),
    responses: { 200: singlesAnswer },
    errors: ['invalid_request', 'invalid_part', 'too_large'],
  };
  await app.register(async (scoped) => {
    streamRawBodies(scoped);
    scoped.post('/upload/singles', { config: { doc } }, async (request) => {
      const reader = new ByteReader(bodyStream(request));
      const entries = parseHead(await reader.line(HEAD_MAX_BYTES));
      const framed = entries.map((entry, index) => ({ entry, ...readUrl(entry, index) }));
      const failure = (index: number, error: unknown): EntryAnswer => {
        if (!(error instanceof DreamLakeError)) request.log.error({ err: error }, 'a file of a bundle failed');
        return entryFailure(index, error);
      };
      const answers: Array<Promise<EntryAnswer>> = [];
      const publishing = new Semaphore(PUBLISH_AT_ONCE);
      const publish = (index: number, upload: SingleUpload, body: Readable): Promise<EntryAnswer> =>
        storage.receiveSingle(upload, body).then(
          (blob) => ({ index, ...blobAnswer(ctx, blob) }),
          (error: unknown) => failure(index, error),
        );
      for (const [index, { entry, query, size, path }] of framed.entries()) {
        const body = reader.take(size);
        let upload: SingleUpload | undefined;
        try {
          const signed = verifyEntry(ctx, index, query, path, storage);
          upload = {
            ...signed,
            contentType: parseOrThrow(singleContentType, entry.contentType, `files[${index}].contentType`),
          };
        } catch (error) {
          answers.push(Promise.resolve(failure(index, error)));
        }
        if (upload && size > IN_MEMORY_MAX_BYTES) {
          // A large body streams to the store before the next file is read.
          answers.push(Promise.resolve(await publish(index, upload, Readable.from(body))));
        } else if (upload) {
          // A small one is read, and hashed and published while the next ones are read.
          const bytes = await collect(body);
          await publishing.acquire();
          answers.push(publish(index, upload, Readable.from([bytes])).finally(() => publishing.release()));
        }
        // Whatever the store did not read of this file (it was refused first, or early) is read past.
        await body.skipRest();
      }
      const files = await Promise.all(answers);
      return { files };
    });
  });
}
