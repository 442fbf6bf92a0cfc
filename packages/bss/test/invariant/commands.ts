/**
 * The steps of a model-based run, as fast-check commands. Each one acts on BSS over HTTP the way a
 * client (honest or not) can, then checks the promise against everything the storage holds.
 * Commands pick their upload or staged object by a number taken modulo how many there are, so a
 * replay of the same commands over the same genuine files makes the same requests.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import { CRC32_HEADER, crc32Base64 } from '@dreamlake/protocol';
import fc from 'fast-check';
import { signedQuery } from '../helpers.ts';
import { type Answer, send, type Via, type World } from './harness.ts';
import {
  answerViolations,
  count,
  forgedBytes,
  type Genuine,
  type Model,
  type ModelStaged,
  type ModelUpload,
  OWNER,
  PROJECTS,
  type Project,
  scopeId,
  violations,
} from './model.ts';

const TYPE = 'files';
const CONTENT_TYPE = 'application/octet-stream';

export class PromiseBroken extends Error {
  override name = 'PromiseBroken';
}

type Publish = { project: Project; file: Genuine; answer: Answer };

/** The five multipart URLs of one file, with its size signed or not. */
function multipartUrl(model: Model, action: string, route: string, project: Project, file: Genuine, sized: boolean) {
  model.signed.add(scopeId(project, file.hash));
  const params = { owner: OWNER, project, hash: file.hash, ...(sized ? { size: String(file.size) } : {}) };
  return `/${TYPE}/upload/multipart/${route}?${signedQuery(action, params)}`;
}

function singleUrl(model: Model, project: Project, file: Genuine, route = '') {
  model.signed.add(scopeId(project, file.hash));
  const params = { owner: OWNER, project, hash: file.hash, size: String(file.size) };
  return `/${TYPE}/upload/single${route}?${signedQuery('upload-single', params)}`;
}

const pick = <T>(list: readonly T[], n: number): T | undefined =>
  list.length === 0 ? undefined : list[n % list.length];
const md5Base64 = (body: Buffer) => createHash('md5').update(body).digest('base64');

/** Every step checks the promise against the whole storage once it is over. */
abstract class Step implements fc.AsyncCommand<Model, World> {
  check(model: Readonly<Model>): boolean {
    void model;
    return true;
  }

  protected abstract act(model: Model, world: World): Promise<Publish[]>;

  async run(model: Model, world: World): Promise<void> {
    const published = await this.act(model, world);
    model.stats.steps += 1;
    const inventory = await world.inventory();
    const broken = violations(model, inventory);
    for (const { project, file, answer } of published) {
      broken.push(...answerViolations(project, file, answer.json(), inventory));
    }
    if (broken.length > 0) throw new PromiseBroken(`after ${this.toString()}:\n  ${broken.join('\n  ')}`);
  }

  abstract toString(): string;
}

abstract class UploadStep extends Step {
  constructor(readonly u: number) {
    super();
  }

  override check(model: Readonly<Model>): boolean {
    return model.uploads.some((up) => up.key !== undefined);
  }

  /** Mostly an upload still open; now and then any upload (a late request to one that is over). */
  protected upload(model: Model): ModelUpload {
    const known = model.uploads.filter((up) => up.key !== undefined);
    const open = known.filter((up) => !up.closed);
    const from = this.u >= 12 || open.length === 0 ? known : open;
    return from[this.u % from.length] as ModelUpload;
  }
}

/** `POST …/init` for a file in a project, its size signed or not. */
export class Init extends Step {
  constructor(
    readonly file: number,
    readonly project: Project,
    readonly sized: boolean,
    readonly via: Via,
  ) {
    super();
  }

  protected async act(model: Model, world: World): Promise<Publish[]> {
    const file = pick(model.files, this.file) as Genuine;
    const url = multipartUrl(model, 'upload-init', 'init', this.project, file, this.sized);
    const res = await send('POST', world.url(this.via, url), { json: { contentType: CONTENT_TYPE } });
    count(model.stats, 'init', res);
    const upload: ModelUpload = {
      n: model.uploads.length,
      file,
      project: this.project,
      sized: this.sized,
      via: this.via,
      sent: [],
    };
    if (res.status === 200) {
      upload.key = String(res.json().key);
      upload.uploadId = String(res.json().uploadId);
    }
    model.uploads.push(upload);
    return [];
  }

  toString() {
    return `Init(file ${this.file}, ${this.project}, ${this.sized ? 'sized' : 'unsized'}, via ${this.via})`;
  }
}

export type PartBody = 'right' | 'forged' | 'short' | 'long' | 'otherFile';
/** How the part's check is used: not at all, declared for the body sent, declared for the right body, or only as a header. */
export type PartCheck = 'none' | 'declareSent' | 'declareRight' | 'headerOnly';

function partBody(model: Model, up: ModelUpload, partNumber: number, kind: PartBody, salt: number): Buffer {
  const right = up.file.parts[partNumber - 1] ?? Buffer.alloc(0);
  const label = `${up.n}:${partNumber}:${salt}`;
  switch (kind) {
    case 'right':
      return right;
    case 'forged':
      return forgedBytes(model.seed, label, right.length, right);
    case 'short':
      return forgedBytes(model.seed, label, Math.max(0, right.length - 1 - (salt % 7)), right);
    case 'long':
      return Buffer.concat([right, forgedBytes(model.seed, label, 1 + (salt % 7), right)]);
    case 'otherFile': {
      const other = model.files[(up.file.index + 1 + salt) % model.files.length] as Genuine;
      return other.parts[partNumber - 1] ?? other.parts[0] ?? Buffer.alloc(0);
    }
  }
}

/** The check BSS (or S3) should hold a part to: the part-checks the init answer offers, and its length. */
function declared(world: World, partNumber: number, body: Buffer) {
  const key = String(partNumber);
  return world.backend === 's3'
    ? { contentMd5: { [key]: md5Base64(body) }, contentLength: { [key]: body.length } }
    : { checksumCrc32: { [key]: crc32Base64(crc32(body)) }, contentLength: { [key]: body.length } };
}

/** No digest; an S3 BSS still wants each part's length declared (the right part's: a body of another length is refused). */
function lengthOnly(world: World, partNumber: number, right: Buffer) {
  return world.backend === 's3' ? { contentLength: { [String(partNumber)]: right.length } } : {};
}

function checkHeaders(world: World, body: Buffer): Record<string, string> {
  return world.backend === 's3'
    ? { 'content-md5': md5Base64(body) }
    : { [CRC32_HEADER]: crc32Base64(crc32(body)), 'content-md5': md5Base64(body) };
}

/** A part URL for one part, with or without its checks declared. */
async function partUrl(
  model: Model,
  world: World,
  up: ModelUpload,
  partNumber: number,
  via: Via,
  checks: Record<string, unknown> = {},
): Promise<string | undefined> {
  const url = multipartUrl(model, 'upload-parts', 'parts', up.project, up.file, up.sized);
  const res = await send('POST', world.url(via, url), {
    json: { uploadId: up.uploadId, key: up.key, partNumbers: [partNumber], ...checks },
  });
  count(model.stats, 'parts', res);
  if (res.status !== 200) return undefined;
  return (res.json().parts as Record<string, string>)[String(partNumber)];
}

async function putPart(
  model: Model,
  world: World,
  up: ModelUpload,
  partNumber: number,
  url: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await send('PUT', world.live(url), { body, headers: { 'content-type': CONTENT_TYPE, ...headers } });
  count(model.stats, 'part PUT', res);
  const right = body.equals(up.file.parts[partNumber - 1] ?? Buffer.alloc(1));
  const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
  up.sent.push({ partNumber, body: right ? 'right' : 'forged', status: res.status, ...(etag ? { etag } : {}) });
  return res;
}

/** A part URL asked for and a body PUT to it: right, forged, short, long or another file's. */
export class PutPart extends UploadStep {
  constructor(
    u: number,
    readonly part: number,
    readonly body: PartBody,
    readonly checks: PartCheck,
    readonly via: Via,
    readonly salt: number,
  ) {
    super(u);
  }

  protected async act(model: Model, world: World): Promise<Publish[]> {
    const up = this.upload(model);
    // Now and then one past the file's last part.
    const partNumber = this.part === 7 ? up.file.parts.length + 1 : 1 + (this.part % up.file.parts.length);
    const body = partBody(model, up, partNumber, this.body, this.salt);
    const right = up.file.parts[partNumber - 1] ?? body;
    const checks =
      this.checks === 'declareSent'
        ? declared(world, partNumber, body)
        : this.checks === 'declareRight'
          ? declared(world, partNumber, right)
          : lengthOnly(world, partNumber, right);
    const url = await partUrl(model, world, up, partNumber, this.via, checks);
    if (!url) return [];
    const headers =
      this.checks === 'none'
        ? {}
        : this.checks === 'declareRight'
          ? checkHeaders(world, right)
          : checkHeaders(world, body);
    await putPart(model, world, up, partNumber, url, body, headers);
    return [];
  }

  toString() {
    return `PutPart(upload ${this.u}, part ${this.part}, ${this.body}, checks ${this.checks}, via ${this.via}, salt ${this.salt})`;
  }
}

/** `GET …/parts-done`. */
export class PartsDone extends UploadStep {
  constructor(
    u: number,
    readonly via: Via,
  ) {
    super(u);
  }

  protected async act(model: Model, world: World): Promise<Publish[]> {
    const up = this.upload(model);
    const url = multipartUrl(model, 'upload-parts-done', 'parts-done', up.project, up.file, up.sized);
    const query = new URLSearchParams({ uploadId: String(up.uploadId), key: String(up.key) });
    const res = await send('GET', world.url(this.via, `${url}&${query}`));
    count(model.stats, 'parts-done', res);
    return [];
  }

  toString() {
    return `PartsDone(upload ${this.u}, via ${this.via})`;
  }
}

export type EtagChoice = 'latest' | 'right' | 'stale' | 'other' | 'partsDone' | 'dropLast';
export type KeyChoice = 'own' | 'otherKey' | 'otherUpload' | 'staging' | 'stagingOtherId';
export type During =
  | 'none'
  | 'rePutPart'
  | 'flipPart'
  | 'rePutStaging'
  | 'flipStaging'
  | 'sweep'
  | 'abort'
  | 'completeOther';

function etagList(up: ModelUpload, pickOne: (sent: SentList) => string | undefined) {
  const out: { partNumber: number; etag: string }[] = [];
  for (let partNumber = 1; partNumber <= up.file.parts.length + 1; partNumber += 1) {
    const sent = up.sent.filter((s) => s.partNumber === partNumber && s.status === 200 && s.etag);
    const etag = pickOne(sent);
    if (etag) out.push({ partNumber, etag });
  }
  return out;
}
type SentList = ModelUpload['sent'];

/**
 * `POST …/complete` with some ETag list and some key and upload id, and maybe something else
 * fired while it runs (a re-PUT of a part or of a staging object, a sweep, an abort, the same
 * complete on the other instance).
 */
export class Complete extends UploadStep {
  constructor(
    u: number,
    readonly etags: EtagChoice,
    readonly keyFrom: KeyChoice,
    readonly other: number,
    readonly via: Via,
    readonly during: During,
    readonly delayMs: number,
  ) {
    super(u);
  }

  protected async act(model: Model, world: World): Promise<Publish[]> {
    const up = this.upload(model);
    const others = model.uploads.filter((o) => o.key !== undefined && o !== up);
    const other = pick(others, this.other);
    const sameScope = model.staged.filter((s) => s.project === up.project && s.file === up.file);
    const staged = pick(sameScope.length > 0 ? sameScope : model.staged, this.other);
    let key = up.key as string;
    let uploadId = up.uploadId as string;
    // What the complete names, for the counts: its own upload when there is no other one to name.
    let named: KeyChoice = 'own';
    if (this.keyFrom === 'otherKey' && other) [key, named] = [other.key as string, 'otherKey'];
    if (this.keyFrom === 'otherUpload' && other) {
      [key, uploadId, named] = [other.key as string, other.uploadId as string, 'otherUpload'];
    }
    if (this.keyFrom === 'staging' && staged) [key, named] = [staged.key, 'staging'];
    if (this.keyFrom === 'stagingOtherId' && staged) {
      [key, uploadId, named] = [staged.key, `x${this.delayMs}${uploadId}`, 'stagingOtherId'];
    }

    let parts: { partNumber: number; etag: string }[];
    switch (this.etags) {
      case 'latest':
        parts = etagList(up, (sent) => sent.at(-1)?.etag);
        break;
      case 'right':
        parts = etagList(up, (sent) => sent.filter((s) => s.body === 'right').at(-1)?.etag ?? sent.at(-1)?.etag);
        break;
      case 'stale':
        parts = etagList(up, (sent) => sent[0]?.etag);
        break;
      case 'other':
        parts = other ? etagList(other, (sent) => sent.at(-1)?.etag) : [];
        break;
      case 'dropLast':
        parts = etagList(up, (sent) => sent.at(-1)?.etag).slice(0, -1);
        break;
      case 'partsDone': {
        const url = multipartUrl(model, 'upload-parts-done', 'parts-done', up.project, up.file, up.sized);
        const query = new URLSearchParams({ uploadId: String(up.uploadId), key: String(up.key) });
        const res = await send('GET', world.url(this.via, `${url}&${query}`));
        const listed = (res.json().parts ?? []) as { partNumber: number; etag: string }[];
        parts = listed.map(({ partNumber, etag }) => ({ partNumber, etag }));
        break;
      }
    }
    if (parts.length === 0) parts = [{ partNumber: 1, etag: '"00000000000000000000000000000000"' }];

    // Whatever is fired during the complete is made ready first, so it lands while the complete runs.
    // The i-th re-PUT: forged bytes, and when flipping, the right ones every other time.
    let rePut: ((i: number) => Promise<unknown>) | undefined;
    if (this.during === 'rePutPart' || this.during === 'flipPart') {
      const partNumber = 1 + (this.other % up.file.parts.length);
      const forged = partBody(model, up, partNumber, 'forged', this.delayMs);
      const right = partBody(model, up, partNumber, 'right', this.delayMs);
      const checks = lengthOnly(world, partNumber, forged);
      const url = await partUrl(model, world, up, partNumber, this.via === 'A' ? 'B' : 'A', checks);
      if (url) rePut = (i) => putPart(model, world, up, partNumber, url, i % 2 === 0 ? forged : right);
    }
    const stagedHere =
      this.keyFrom === 'staging' || this.keyFrom === 'stagingOtherId'
        ? staged
        : model.staged.find((s) => s.project === up.project && s.file === up.file);
    if ((this.during === 'rePutStaging' || this.during === 'flipStaging') && stagedHere) {
      rePut = (i) => rePutStaged(model, stagedHere, i % 2 === 0 ? 'forged' : 'right', this.delayMs);
    }

    const completeUrl = multipartUrl(model, 'upload-complete', 'complete', up.project, up.file, up.sized);
    const complete = (via: Via) =>
      send('POST', world.url(via, completeUrl), { json: { uploadId, key, parts } }).then((res) => {
        count(model.stats, `complete(${named})`, res);
        return res;
      });
    const running = [complete(this.via)];
    let settled = false;
    void running[0]?.finally(() => {
      settled = true;
    });
    const side = (async () => {
      await sleep(this.delayMs);
      switch (this.during) {
        case 'rePutPart':
        case 'rePutStaging':
          await rePut?.(0);
          break;
        case 'flipPart':
        case 'flipStaging':
          // Forged and right bytes in turn for as long as the complete runs: whichever of them it
          // reads, the other may land before it publishes.
          for (let i = 0; rePut && !settled && i < 200; i += 1) await rePut(i);
          break;
        case 'sweep':
          // A sweep that trips over a complete is not what this run checks: what it leaves is.
          await world.sweep(this.via === 'A' ? 'B' : 'A', true).then(
            () => {
              count(model.stats, 'sweep', { status: 200 });
              for (const o of model.uploads) o.closed = true;
            },
            (error: Error) =>
              count(model.stats, `sweep threw ${error.name}: ${error.message.slice(0, 120)} |`, { status: 500 }),
          );
          break;
        case 'abort': {
          const abortUrl = multipartUrl(model, 'upload-abort', 'abort', up.project, up.file, up.sized);
          const res = await send('POST', world.url(this.via === 'A' ? 'B' : 'A', abortUrl), {
            json: { uploadId: up.uploadId, key: up.key },
          });
          count(model.stats, 'abort', res);
          break;
        }
        case 'completeOther':
          running.push(complete(this.via === 'A' ? 'B' : 'A'));
          break;
        case 'none':
          break;
      }
    })();
    await side;
    const answers = await Promise.all(running);
    if (this.during === 'abort' || this.during === 'sweep' || answers.some((res) => res.status === 200))
      up.closed = true;
    return answers
      .filter((res) => res.status === 200)
      .map((answer) => ({ project: up.project, file: up.file, answer }));
  }

  toString() {
    return `Complete(upload ${this.u}, etags ${this.etags}, key ${this.keyFrom}, other ${this.other}, via ${this.via}, during ${this.during}, delay ${this.delayMs} ms)`;
  }
}

/** `POST …/abort`. */
export class Abort extends UploadStep {
  constructor(
    u: number,
    readonly via: Via,
  ) {
    super(u);
  }

  protected async act(model: Model, world: World): Promise<Publish[]> {
    const up = this.upload(model);
    const url = multipartUrl(model, 'upload-abort', 'abort', up.project, up.file, up.sized);
    const res = await send('POST', world.url(this.via, url), { json: { uploadId: up.uploadId, key: up.key } });
    count(model.stats, 'abort', res);
    if (res.status === 200) up.closed = true;
    return [];
  }

  toString() {
    return `Abort(upload ${this.u}, via ${this.via})`;
  }
}

export type SingleBody = 'right' | 'forged' | 'short' | 'long';

function singleBody(model: Model, file: Genuine, kind: SingleBody, salt: number): Buffer {
  const label = `single:${file.index}:${salt}`;
  switch (kind) {
    case 'right':
      return file.bytes;
    case 'forged':
      return forgedBytes(model.seed, label, file.size, file.bytes);
    case 'short':
      return file.bytes.subarray(0, Math.max(0, file.size - 1 - (salt % 5)));
    case 'long':
      return Buffer.concat([file.bytes, forgedBytes(model.seed, label, 1 + (salt % 5), file.bytes)]);
  }
}

async function rePutStaged(model: Model, staged: ModelStaged, kind: SingleBody, salt: number): Promise<Answer> {
  const body = singleBody(model, staged.file, kind, salt);
  const res = await send('PUT', staged.url, { body, headers: staged.headers });
  count(model.stats, 'staging PUT', res);
  return res;
}

async function completeStaged(model: Model, world: World, staged: ModelStaged, via: Via): Promise<Answer> {
  const url = singleUrl(model, staged.project, staged.file, '/complete');
  const res = await send('POST', world.url(via, url), { json: { key: staged.key } });
  count(model.stats, 'single complete', res);
  return res;
}

/**
 * A single-shot upload: on disk the body is PUT to BSS. On S3 BSS is asked first (unless the
 * client PUTs to BSS straight away, as one that learnt BSS's `maxSize` does): a small body is PUT
 * to BSS itself (instance A), otherwise BSS answers a staging URL, the body is PUT there, and
 * (when `complete`) BSS is asked to verify and publish it.
 */
/** How a single-shot body goes to BSS: a PUT, or a browser's simple POST to `…/single/body`. */
type SingleForm = 'put' | 'post';

export class Single extends Step {
  constructor(
    readonly file: number,
    readonly project: Project,
    readonly body: SingleBody,
    readonly complete: boolean,
    readonly via: Via,
    readonly salt: number,
    readonly ask = true,
    readonly form: SingleForm = 'put',
  ) {
    super();
  }

  protected async act(model: Model, world: World): Promise<Publish[]> {
    const file = pick(model.files, this.file) as Genuine;
    const body = singleBody(model, file, this.body, this.salt);
    const url = singleUrl(model, this.project, file);
    const putToBss = async () => {
      const res =
        this.form === 'put'
          ? await send('PUT', world.url(this.via, url), { body, headers: { 'content-type': CONTENT_TYPE } })
          : await send(
              'POST',
              world.url(
                this.via,
                `${url.replace('/upload/single?', '/upload/single/body?')}&contentType=${encodeURIComponent(CONTENT_TYPE)}`,
              ),
              { body, headers: { 'content-type': 'text/plain' } },
            );
      count(model.stats, world.backend === 'fs' ? 'single PUT' : 'single PUT to BSS', res);
      if (this.form === 'post') count(model.stats, 'single POST body', res);
      return res.status === 200 ? [{ project: this.project, file, answer: res }] : [];
    };
    if (world.backend === 'fs' || !this.ask) return putToBss();
    const where = await send('POST', world.url(this.via, url), { json: { contentType: CONTENT_TYPE } });
    count(model.stats, 'single POST', where);
    if (where.status !== 200) return [];
    const answer = where.json();
    if (answer.mode === 'put') return putToBss();
    const staged: ModelStaged = {
      n: model.staged.length,
      file,
      project: this.project,
      key: String(answer.key),
      url: String(answer.url),
      headers: (answer.headers ?? {}) as Record<string, string>,
    };
    model.staged.push(staged);
    const put = await send('PUT', staged.url, { body, headers: staged.headers });
    count(model.stats, 'staging PUT', put);
    if (!this.complete) return [];
    const res = await completeStaged(model, world, staged, this.via);
    return res.status === 200 ? [{ project: this.project, file, answer: res }] : [];
  }

  toString() {
    return `Single(file ${this.file}, ${this.project}, ${this.body}, ${this.complete ? 'completed' : 'staged only'}, via ${this.via}, salt ${this.salt}${this.ask ? '' : ', PUT without asking'}, ${this.form === 'put' ? 'PUT' : 'simple POST'})`;
  }
}

/**
 * Several single-shot bodies in one `POST /upload/singles` (as the web page sends small files):
 * each entry a signed single-shot URL and a body that may be right, forged, short or long (a
 * wrong length shifts the bytes of every later entry, which BSS frames by the signed sizes).
 */
export class Bundle extends Step {
  constructor(
    readonly entries: ReadonlyArray<{ file: number; project: Project; body: SingleBody; salt: number }>,
    readonly via: Via,
  ) {
    super();
  }

  protected async act(model: Model, world: World): Promise<Publish[]> {
    const picked = this.entries.map((e) => ({ ...e, genuine: pick(model.files, e.file) as Genuine }));
    const head = JSON.stringify({
      files: picked.map((e) => ({ url: singleUrl(model, e.project, e.genuine), contentType: CONTENT_TYPE })),
    });
    const body = Buffer.concat([
      Buffer.from(`${head}\n`),
      ...picked.map((e) => singleBody(model, e.genuine, e.body, e.salt)),
    ]);
    const res = await send('POST', world.url(this.via, '/upload/singles'), {
      body,
      headers: { 'content-type': 'text/plain' },
    });
    count(model.stats, 'singles POST', res);
    if (res.status !== 200) return [];
    const answers = (res.json().files ?? []) as Array<Record<string, unknown>>;
    const published: Publish[] = [];
    for (const [i, e] of picked.entries()) {
      const entry = answers[i] ?? {};
      const ok = entry.success === true;
      count(model.stats, 'singles entry', { status: ok ? 200 : 400, json: () => entry });
      if (ok) published.push({ project: e.project, file: e.genuine, answer: { ...res, json: () => entry } });
    }
    return published;
  }

  toString() {
    const list = this.entries.map((e) => `file ${e.file} ${e.project} ${e.body} salt ${e.salt}`).join('; ');
    return `Bundle(${list}, via ${this.via})`;
  }
}

/** S3: a staged single-shot object completed, maybe while its staging URL is PUT again. */
export class CompleteSingle extends Step {
  constructor(
    readonly s: number,
    readonly rePut: SingleBody | 'none' | 'flip',
    readonly via: Via,
    readonly delayMs: number,
  ) {
    super();
  }

  override check(model: Readonly<Model>): boolean {
    return model.staged.length > 0;
  }

  protected async act(model: Model, world: World): Promise<Publish[]> {
    const staged = pick(model.staged, this.s) as ModelStaged;
    let settled = false;
    const running = completeStaged(model, world, staged, this.via).finally(() => {
      settled = true;
    });
    await sleep(this.delayMs);
    if (this.rePut === 'flip') {
      for (let i = 0; !settled && i < 200; i += 1) {
        await rePutStaged(model, staged, i % 2 === 0 ? 'forged' : 'right', this.delayMs);
      }
    } else if (this.rePut !== 'none') await rePutStaged(model, staged, this.rePut, this.delayMs);
    const res = await running;
    return res.status === 200 ? [{ project: staged.project, file: staged.file, answer: res }] : [];
  }

  toString() {
    return `CompleteSingle(staged ${this.s}, re-PUT ${this.rePut}, via ${this.via}, delay ${this.delayMs} ms)`;
  }
}

/** S3: a staging URL PUT again, with any body, at any time. */
export class RePutStaging extends Step {
  constructor(
    readonly s: number,
    readonly body: SingleBody,
    readonly salt: number,
  ) {
    super();
  }

  override check(model: Readonly<Model>): boolean {
    return model.staged.length > 0;
  }

  protected async act(model: Model): Promise<Publish[]> {
    await rePutStaged(model, pick(model.staged, this.s) as ModelStaged, this.body, this.salt);
    return [];
  }

  toString() {
    return `RePutStaging(staged ${this.s}, ${this.body}, salt ${this.salt})`;
  }
}

/** The storage's sweep: with a clock far enough ahead that every upload is stale, or with today's (nothing is). */
export class Sweep extends Step {
  constructor(
    readonly via: Via,
    readonly stale: boolean,
  ) {
    super();
  }

  protected async act(model: Model, world: World): Promise<Publish[]> {
    await world.sweep(this.via, this.stale);
    count(model.stats, this.stale ? 'sweep(stale)' : 'sweep(fresh)', { status: 200 });
    if (this.stale) for (const up of model.uploads) up.closed = true;
    return [];
  }

  toString() {
    return `Sweep(via ${this.via}, ${this.stale ? 'every upload stale' : 'nothing stale'})`;
  }
}

/** Instance A closed and started again over the same storage (it forgets whatever it held in memory). */
export class Restart extends Step {
  protected async act(_model: Model, world: World): Promise<Publish[]> {
    await world.restart();
    return [];
  }

  toString() {
    return 'Restart(A)';
  }
}

const via = fc.constantFrom<Via>('A', 'B');
const project = fc.constantFrom<Project>(...PROJECTS);
const index = fc.nat(15);
/** How long after a complete starts something lands on it: a complete on S3 may take a few hundred ms before it reads. */
const delay = fc.oneof(fc.constantFrom(0, 1, 3, 10), fc.integer({ min: 0, max: 400 }));

/** Every command, weighted towards the part PUTs and completes where forgeries are tried. */
export function commandArbitraries(backend: 'fs' | 's3'): fc.Arbitrary<fc.AsyncCommand<Model, World>>[] {
  // An S3 BSS takes only grants that state the size.
  const sized = backend === 's3' ? fc.constant(true) : fc.boolean();
  const init = fc.tuple(index, project, sized, via).map(([f, p, s, v]) => new Init(f, p, s, v));
  const putPart = fc
    .tuple(
      index,
      fc.nat(7),
      fc.constantFrom<PartBody>('right', 'right', 'right', 'forged', 'forged', 'forged', 'short', 'long', 'otherFile'),
      fc.constantFrom<PartCheck>('none', 'none', 'declareSent', 'declareRight', 'headerOnly'),
      via,
      fc.nat(1000),
    )
    .map(([u, n, b, c, v, s]) => new PutPart(u, n, b, c, v, s));
  const complete = fc
    .tuple(
      index,
      fc.constantFrom<EtagChoice>('latest', 'latest', 'right', 'stale', 'other', 'partsDone', 'dropLast'),
      fc.constantFrom<KeyChoice>(
        'own',
        'own',
        'own',
        'otherKey',
        'otherUpload',
        ...(backend === 's3' ? (['staging', 'staging', 'stagingOtherId'] as const) : []),
      ),
      index,
      via,
      fc.constantFrom<During>(
        'none',
        'none',
        'rePutPart',
        'flipPart',
        'sweep',
        'abort',
        'completeOther',
        ...(backend === 's3' ? (['rePutStaging', 'flipStaging', 'flipStaging'] as const) : []),
      ),
      delay,
    )
    .map(([u, e, k, o, v, d, ms]) => new Complete(u, e, k, o, v, d, ms));
  const single = fc
    .tuple(
      index,
      project,
      fc.constantFrom<SingleBody>('right', 'right', 'forged', 'short', 'long'),
      fc.boolean(),
      via,
      fc.nat(1000),
      // S3: now and then a PUT to BSS without asking first, whatever the size and instance.
      backend === 's3' ? fc.constantFrom(true, true, true, false) : fc.constant(true),
      // The body to BSS as a PUT, or as a browser's simple POST to …/single/body.
      fc.constantFrom<SingleForm>('put', 'post'),
    )
    .map(([f, p, b, c, v, s, a, m]) => new Single(f, p, b, c, v, s, a, m));
  const weighted: fc.WeightedArbitrary<fc.AsyncCommand<Model, World>>[] = [
    { weight: 3, arbitrary: init },
    { weight: 8, arbitrary: putPart },
    { weight: 5, arbitrary: complete },
    { weight: backend === 's3' ? 3 : 2, arbitrary: single },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.array(
            fc.record({
              file: index,
              project,
              body: fc.constantFrom<SingleBody>('right', 'right', 'right', 'forged', 'short', 'long'),
              salt: fc.nat(1000),
            }),
            { minLength: 1, maxLength: 4 },
          ),
          via,
        )
        .map(([entries, v]) => new Bundle(entries, v)),
    },
    { weight: 1, arbitrary: fc.tuple(index, via).map(([u, v]) => new PartsDone(u, v)) },
    { weight: 1, arbitrary: fc.tuple(index, via).map(([u, v]) => new Abort(u, v)) },
    { weight: 1, arbitrary: fc.tuple(via, fc.boolean(), fc.boolean()).map(([v, a, b]) => new Sweep(v, a && b)) },
    { weight: 1, arbitrary: fc.constant(new Restart()) },
  ];
  if (backend === 's3') {
    weighted.push(
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            index,
            fc.constantFrom<SingleBody | 'none' | 'flip'>('none', 'forged', 'flip', 'flip', 'right', 'long'),
            via,
            delay,
          )
          .map(([s, r, v, ms]) => new CompleteSingle(s, r, v, ms)),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(index, fc.constantFrom<SingleBody>('forged', 'right', 'short'), fc.nat(1000))
          .map(([s, b, n]) => new RePutStaging(s, b, n)),
      },
    );
  }
  return [fc.oneof(...weighted)];
}
