/**
 * A run of many files against servers lacking one route each (lookup, batch grants, commits,
 * batch registration): the run learns from the first answer that the route is missing, asks for
 * it no more, and still stores and names every file the older way.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BatchGrantFile, CommitRequest, RegisterRequest, ServerApi } from '../src/api.ts';
import { ApiError } from '../src/errors.ts';
import { createAgent } from '../src/http.ts';
import { Budget } from '../src/transfer/budget.ts';
import { Committer } from '../src/upload/commit.ts';
import { uploadFiles } from '../src/upload/run.ts';
import type { FileResult, LocalFile, UploadEvents } from '../src/upload/types.ts';
import { singlePutBss } from './single-put-bss.ts';

const MIB = 1024 * 1024;
const target = { namespace: 'ann', space: 'robotics' };
const quiet: UploadEvents = { hashed() {}, sent() {}, resumed() {}, phase() {}, note() {} };

type Route = 'lookup' | 'batchGrants' | 'commits' | 'batchRegister';

/** A server without the routes named in `missing`: each call is counted, a missing route answers 404 "no route". */
function fakeServer(bssUrl: string, missing: Route[]) {
  const calls: Record<string, number> = {};
  const named: string[] = [];
  let snapshot: string[] | undefined;
  const call = (name: string, route?: Route): void => {
    calls[name] = (calls[name] ?? 0) + 1;
    if (route && missing.includes(route)) throw new ApiError(404, 'not_found', `no route for ${name}`);
  };
  const api = {
    server: 'http://older.example',
    async lookupFiles(_ns: string, _space: string, files: unknown[]) {
      call('lookupFiles', 'lookup');
      return { files: files.map(() => 'missing') };
    },
    async grantBatch(_ns: string, _space: string, files: BatchGrantFile[]) {
      call('grantBatch', 'batchGrants');
      return { files: files.map((f, index) => ({ index, singleUrl: `${bssUrl}/single/${f.hash}` })) };
    },
    async initUpload(body: { filename: string }) {
      call('initUpload');
      return { exists: true, file: { ...target, name: body.filename } };
    },
    async commit(_ns: string, _space: string, body: CommitRequest) {
      call('commit', 'commits');
      snapshot = (body.puts ?? []).map((p) => p.name);
      return { created: true, snapshot: null };
    },
    async openDraft() {
      call('openDraft', 'commits');
      throw new Error('not expected: no test here has drafts');
    },
    async registerFiles(_ns: string, _space: string, files: RegisterRequest[]) {
      call('registerFiles', 'batchRegister');
      named.push(...files.map((f) => f.name));
      return { files: files.map((f, index) => ({ index, created: true, file: { ...target, ...f } })) };
    },
    async registerFile(_ns: string, _space: string, file: RegisterRequest) {
      call('registerFile');
      named.push(file.name);
      return { file: { ...target, ...file } };
    },
  } as unknown as ServerApi;
  return { api, calls, named, snapshot: () => snapshot };
}

let work: string;
let files: LocalFile[];
let bss: Awaited<ReturnType<typeof singlePutBss>>;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'dreamlake-capabilities-'));
  bss = await singlePutBss();
  // Ten 1 MiB files: more than one window's worth of kept bytes, so the run takes two windows and
  // asks a route it lacks once, not once per window.
  files = [];
  for (let i = 0; i < 10; i += 1) {
    const path = join(work, `take${i}.bin`);
    await writeFile(path, Buffer.alloc(MIB, i + 1));
    files.push({ path, name: `take${i}.bin`, size: MIB });
  }
});
after(async () => {
  bss?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

async function run(missing: Route[]) {
  const server = fakeServer(bss.url, missing);
  const dispatcher = createAgent(8);
  const results: FileResult[] = [];
  try {
    const answer = await uploadFiles(
      {
        api: server.api,
        dispatcher,
        home: join(work, `home-${missing.join('-') || 'all'}`),
        bss: undefined,
        concurrency: 2,
        budget: new Budget(64 * MIB, 16),
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        events: quiet,
      },
      files,
      target,
      { begin() {}, end() {}, result: (index, result) => (results[index] = result) },
    );
    return { ...server, answer, results };
  } finally {
    await dispatcher.close();
  }
}

const names = () => files.map((f) => f.name);
const sorted = (list: readonly string[] | undefined) => [...(list ?? [])].sort();

test('a server with every route: the files are looked up and granted in batches, sent, and committed as one snapshot', async () => {
  const r = await run([]);
  assert.equal(r.calls.lookupFiles, 2, 'one lookup per window');
  assert.equal(r.calls.grantBatch, 2);
  assert.deepEqual(sorted(r.snapshot()), names());
  assert.equal(r.results.length, files.length);
});

test('without the lookup route: asked once, then every file is granted and sent, and the snapshot holds them all', async () => {
  const r = await run(['lookup']);
  assert.equal(r.calls.lookupFiles, 1, 'the missing route is asked for once');
  assert.equal(r.calls.grantBatch, 2);
  assert.deepEqual(sorted(r.snapshot()), names());
  assert.ok(
    r.results.every((result) => result.partsSent === 1),
    'every file sent',
  );
  for (const result of r.results) assert.equal(bss.stored.get(`/single/${result.hash}`), result.hash);
});

test('without batch grants: asked once, then each file is granted and registered alone, with no snapshot', async () => {
  const r = await run(['batchGrants']);
  assert.equal(r.calls.grantBatch, 1, 'the missing route is asked for once');
  assert.equal(r.calls.initUpload, files.length);
  assert.deepEqual(sorted(r.named), names());
  assert.equal(r.answer, null);
  assert.equal(r.calls.commit, undefined);
  assert.equal(r.results.length, files.length);
});

test('without commits: the names are registered in a batch, with no snapshot', async () => {
  const r = await run(['commits']);
  assert.equal(r.calls.commit, 1);
  assert.equal(r.calls.registerFiles, 1);
  assert.deepEqual(sorted(r.named), names());
  assert.equal(r.answer, null);
});

test('without commits nor batch registration: each name is registered alone', async () => {
  const r = await run(['commits', 'batchRegister']);
  assert.equal(r.calls.registerFiles, 1);
  assert.equal(r.calls.registerFile, files.length);
  assert.deepEqual(sorted(r.named), names());
  assert.equal(r.answer, null);
});

test('a commit of several batches without commits nor batch registration asks each missing route once', async () => {
  const server = fakeServer(bss.url, ['commits', 'batchRegister']);
  const committer = new Committer({
    api: server.api,
    target,
    retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    batch: 2,
  });
  const entries = names().map((name, i) => ({
    name,
    hash: String(i).padStart(64, '0'),
    type: 'other',
    contentType: 'application/octet-stream',
  }));
  for (const entry of entries) committer.add(entry as RegisterRequest);
  assert.equal(await committer.finish(), null);
  assert.equal(server.calls.openDraft, 1, 'drafts asked for once');
  assert.equal(server.calls.registerFiles, 1, 'batch registration asked for once');
  assert.equal(server.calls.registerFile, entries.length);
  assert.deepEqual(sorted(server.named), names());
});
