/**
 * The soak's ordinary work, through the CLI's library (`DreamLakeClient`) as a program would use
 * it: folders of small files and multipart files uploaded (some stopped half-way on purpose, and
 * half of those resumed), whole uploads downloaded again and every byte checked against the
 * SHA-256 the file was made from, and spaces listed. Each upload is entered in the ledger.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { getEventListeners, setMaxListeners } from 'node:events';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { DreamLakeClient } from '@dreamlake/cli';
import type { Ledger, Published } from './soak-ledger.ts';

const KIB = 1024;
const MIB = 1024 * KIB;

export interface SoakUser {
  username: string;
  token: string;
  spaces: readonly string[];
}

export interface LoadContext {
  serverUrl: string;
  ledger: Ledger;
  /** A folder of this worker's own (its files and its client's hash cache and resume state). */
  work: string;
  user: SoakUser;
  /** Aborted when an action runs past its time. */
  signal: AbortSignal;
}

let nextId = 0;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const pick = <T>(list: readonly T[]): T => list[randomInt(list.length)] as T;

/** The first words of an error, for the ledger's tally (numbers and ids left out). */
export function reasonOf(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string };
  const message = (e?.message ?? String(error)).split('\n')[0] ?? '';
  const short = message
    .replace(/[0-9a-f]{16,}/g, '…')
    .replace(/\d+/g, 'N')
    .slice(0, 90);
  return `${e?.code ?? e?.name ?? 'Error'}: ${short}`;
}

/**
 * A signal for one library call: it may carry a listener per request in flight (16 at once by
 * default), more than EventTarget's warning threshold, so the threshold is raised for it.
 */
function callerSignal(signal: AbortSignal): AbortSignal {
  setMaxListeners(64, signal);
  return signal;
}

/** A call that has returned holds no listener on its caller's signal (else each call leaks one). */
function listenersLeft(ctx: LoadContext, what: string, signal: AbortSignal): void {
  const left = getEventListeners(signal, 'abort').length;
  if (left > 0) ctx.ledger.listenersLeft.push(`${what}: ${left}`);
}

function clientOf(ctx: LoadContext): DreamLakeClient {
  return new DreamLakeClient({ server: ctx.serverUrl, token: ctx.user.token, home: join(ctx.work, 'home') });
}

/** A folder of `count` small files (1 to 48 KiB, some in a subfolder), and their hashes by name. */
async function smallFiles(dir: string, count: number): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  await mkdir(join(dir, 'sub'), { recursive: true });
  for (let i = 0; i < count; i++) {
    const name = i % 4 === 0 ? `sub/f${i}.bin` : `f${i}.bin`;
    const data = randomBytes(randomInt(KIB, 48 * KIB));
    await writeFile(join(dir, name), data);
    files.set(name, sha256(data));
  }
  return files;
}

/** One file of 11 to 26 MiB: several 5 MiB parts, more than one single-shot upload takes. */
async function largeFile(dir: string): Promise<Map<string, string>> {
  await mkdir(dir, { recursive: true });
  const data = randomBytes(randomInt(11 * MIB, 26 * MIB));
  await writeFile(join(dir, 'large.bin'), data);
  return new Map([['large.bin', sha256(data)]]);
}

/**
 * Uploads the folder `dir` (its files by their names in it) under a new folder of one of the user's spaces and settles the ledger: listed
 * with every hash right, or an error with nothing listed under the folder. `stopAfter` aborts the
 * upload once that many bytes are sent (an injected failure).
 */
async function uploadAndAccount(
  ctx: LoadContext,
  dir: string,
  files: Map<string, string>,
  where: { space: string; prefix: string },
  stopAfter?: number,
): Promise<boolean> {
  const { ledger } = ctx;
  // A folder's files are named under the folder's own name.
  const expected = new Map([...files].map(([name, hash]) => [`${basename(dir)}/${name}`, hash]));
  const namespace = ctx.user.username;
  const target = `${namespace}/${where.space}/${where.prefix}`;
  ledger.started += 1;
  const stop = new AbortController();
  const signal = callerSignal(AbortSignal.any([stop.signal, ctx.signal]));
  const client = clientOf(ctx);
  let failure: unknown;
  try {
    await client.upload(dir, {
      to: target,
      signal,
      onProgress: (p) => {
        if (stopAfter !== undefined && p.bytesDone >= stopAfter) stop.abort(new Error('upload stopped on purpose'));
      },
    });
  } catch (error) {
    failure = error;
  }
  listenersLeft(ctx, `upload ${target}`, signal);
  try {
    const listed = await client.list(`${namespace}/${where.space}`, { prefix: where.prefix });
    const found = new Map(listed.map((f) => [f.name.slice(where.prefix.length), f.hash]));
    const complete = [...expected].every(([name, hash]) => found.get(name) === hash) && found.size === expected.size;
    if (complete) {
      // Listed: also when the error came after the commit (an abort while the answer was on its way).
      ledger.listed += 1;
      ledger.filesListed += expected.size;
      ledger.published.push({ namespace, space: where.space, prefix: where.prefix, files: expected });
      return true;
    }
    if (failure !== undefined && found.size === 0) {
      const reason = reasonOf(failure);
      if (reason.length < 8) ledger.lost.push(`${target}: an error without a message`);
      else ledger.error(reason);
      return false;
    }
    ledger.lost.push(
      `${target}: ${failure === undefined ? 'upload answered success' : `failed (${reasonOf(failure)})`} but ${found.size} of ${expected.size} names listed, ${[...expected].filter(([n, h]) => found.get(n) === h).length} with the right hash`,
    );
    return false;
  } catch (error) {
    ledger.lost.push(`${target}: could not be listed afterwards (${reasonOf(error)})`);
    return false;
  } finally {
    await client.close();
  }
}

export async function uploadFolder(ctx: LoadContext): Promise<void> {
  const id = nextId++;
  const dir = join(ctx.work, `folder-${id}`);
  try {
    const expected = await smallFiles(dir, randomInt(20, 81));
    await uploadAndAccount(ctx, dir, expected, { space: pick(ctx.user.spaces), prefix: `run${id}/` });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function uploadLarge(ctx: LoadContext): Promise<void> {
  const id = nextId++;
  const dir = join(ctx.work, `large-${id}`);
  try {
    const expected = await largeFile(dir);
    await uploadAndAccount(ctx, dir, expected, { space: pick(ctx.user.spaces), prefix: `big${id}/` });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A multipart upload stopped after its first part or so; every other one is then resumed. */
export async function uploadStopped(ctx: LoadContext): Promise<void> {
  const id = nextId++;
  const dir = join(ctx.work, `stopped-${id}`);
  const where = { space: pick(ctx.user.spaces), prefix: `stopped${id}/` };
  try {
    const expected = await largeFile(dir);
    const done = await uploadAndAccount(ctx, dir, expected, where, 6 * MIB);
    if (!done && id % 2 === 0) await uploadAndAccount(ctx, dir, expected, where);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function hashesUnder(root: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    found.set(relative(root, path), sha256(await readFile(path)));
  }
  return found;
}

/** Downloads one finished upload's folder and checks every file's bytes. */
export async function downloadOne(ctx: LoadContext): Promise<void> {
  const mine = ctx.ledger.published.filter((p) => p.namespace === ctx.user.username);
  if (mine.length === 0) return;
  const upload: Published = pick(mine);
  const dir = join(ctx.work, `download-${nextId++}`);
  const client = clientOf(ctx);
  const source = `${upload.namespace}/${upload.space}/${upload.prefix}`;
  try {
    const signal = callerSignal(AbortSignal.any([ctx.signal]));
    const summary = await client.download(source, { to: dir, signal });
    listenersLeft(ctx, `download ${source}`, signal);
    const found = await hashesUnder(dir);
    const wrong = [...upload.files].filter(([name, hash]) => found.get(name) !== hash);
    ctx.ledger.downloads += 1;
    ctx.ledger.filesDownloaded += found.size;
    if (summary.failed > 0 || wrong.length > 0 || found.size !== upload.files.size) {
      ctx.ledger.badDownloads.push(
        `${source}: ${summary.failed} failed, ${wrong.length} of ${upload.files.size} missing or with other bytes`,
      );
    }
  } catch (error) {
    ctx.ledger.badDownloads.push(`${source}: ${reasonOf(error)}`);
  } finally {
    await client.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Lists a whole space and checks that every upload finished in it is there with its hashes. */
export async function listSpace(ctx: LoadContext): Promise<void> {
  const space = pick(ctx.user.spaces);
  // Taken before the listing: an upload published while it is read may or may not be in it.
  const known = ctx.ledger.published.filter((p) => p.namespace === ctx.user.username && p.space === space);
  const client = clientOf(ctx);
  try {
    const files = await client.list(`${ctx.user.username}/${space}`);
    ctx.ledger.listings += 1;
    const byName = new Map(files.map((f) => [f.name, f.hash]));
    for (const p of known) {
      const missing = [...p.files].filter(([name, hash]) => byName.get(p.prefix + name) !== hash).length;
      if (missing > 0)
        ctx.ledger.badListings.push(`${p.namespace}/${space}/${p.prefix}: ${missing} names gone or changed`);
    }
  } catch (error) {
    // A space not made yet (no upload landed in it) is 404: not a fault of the service.
    if ((error as { status?: number }).status !== 404) ctx.ledger.badListings.push(`${space}: ${reasonOf(error)}`);
  } finally {
    await client.close();
  }
}
