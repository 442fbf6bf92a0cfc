/**
 * How an upload's names become ONE snapshot: one `POST …/commits` up to 1,000 entries, a draft
 * filled 1,000 at a time past that; receipts about to run out left for the server to check with
 * BSS; a server without commits still gets every name registered.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CommitAnswer, CommitChanges, CommitRequest, RegisterRequest } from '../src/api.ts';
import { ApiError } from '../src/errors.ts';
import { type CommitApi, Committer } from '../src/upload/commit.ts';
import { PendingBlobs } from '../src/upload/pending-blobs.ts';

const target = { namespace: 'ann', space: 'robotics' };
const retry = { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 };
const NOW = Date.UTC(2026, 11, 7);

const hashOf = (i: number) => i.toString(16).padStart(64, '0');
function entries(n: number, receiptExp?: number): RegisterRequest[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `frames/${String(i).padStart(5, '0')}.jpg`,
    hash: hashOf(i),
    type: 'image',
    contentType: 'image/jpeg',
    ...(receiptExp !== undefined
      ? { receipt: { size: 10, contentType: 'image/jpeg', exp: receiptExp, sig: 's' } }
      : {}),
  }));
}

const snapshot = (version: number, files: number) => ({
  ...target,
  version,
  parent: version > 1 ? version - 1 : null,
  author: 'ann',
  message: '',
  createdAt: new Date(NOW).toISOString(),
  counts: { added: files, changed: 0, removed: 0 },
  files,
  bytes: files * 10,
});

const noRoute = () => new ApiError(404, 'not_found', 'no route for POST /x');

/** A server that records the calls: `commits` false plays one from before snapshots. */
function fakeServer(options: { commits?: boolean } = {}) {
  const calls: Array<{ call: string; body?: unknown }> = [];
  const draftEntries = new Map<string, number>();
  const api: CommitApi = {
    async commit(_ns: string, _space: string, body: CommitRequest): Promise<CommitAnswer> {
      calls.push({ call: 'commit', body });
      if (options.commits === false) throw noRoute();
      return { created: true, snapshot: snapshot(1, body.puts?.length ?? 0) };
    },
    async openDraft(_ns: string, _space: string, body: { message?: string } = {}) {
      calls.push({ call: 'openDraft', body });
      if (options.commits === false) throw noRoute();
      return { id: 'd1', parent: null, expiresAt: new Date(NOW).toISOString() };
    },
    async addDraftEntries(_ns: string, _space: string, id: string, changes: CommitChanges) {
      calls.push({ call: `addDraftEntries ${id}`, body: changes });
      draftEntries.set(id, (draftEntries.get(id) ?? 0) + (changes.puts?.length ?? 0));
      return { entries: draftEntries.get(id) ?? 0 };
    },
    async commitDraft(_ns: string, _space: string, id: string, body: { message?: string } = {}) {
      calls.push({ call: `commitDraft ${id}`, body });
      return { created: true, snapshot: snapshot(1, draftEntries.get(id) ?? 0) };
    },
    async deleteDraft(_ns: string, _space: string, id: string) {
      calls.push({ call: `deleteDraft ${id}` });
    },
    async registerFiles(_ns: string, _space: string, files: RegisterRequest[]) {
      calls.push({ call: 'registerFiles', body: files });
      return {
        files: files.map((f, index) => ({ index, created: true, file: { ...target, ...f, size: 10 } })),
      };
    },
    async registerFile() {
      throw new Error('not expected');
    },
  } as unknown as CommitApi;
  return { api, calls };
}

const putsOf = (body: unknown) => ((body as CommitChanges).puts ?? []).length;

test('600 entries: one POST …/commits with all of them and the message, no draft', async () => {
  const { api, calls } = fakeServer();
  const committer = new Committer({ api, target, retry, message: 'first run' });
  for (const entry of entries(600)) committer.add(entry);
  const answer = await committer.finish();
  assert.deepEqual(
    calls.map((c) => c.call),
    ['commit'],
  );
  assert.equal(putsOf(calls[0]?.body), 600);
  assert.equal((calls[0]?.body as CommitRequest | undefined)?.message, 'first run');
  assert.equal(answer?.snapshot?.version, 1);
  assert.equal(answer?.snapshot?.files, 600);
});

test('exactly 1,000 entries still go in one commit; 1,001 open a draft', async () => {
  const at = fakeServer();
  const one = new Committer({ api: at.api, target, retry });
  for (const entry of entries(1000)) one.add(entry);
  await one.finish();
  assert.deepEqual(
    at.calls.map((c) => c.call),
    ['commit'],
  );

  const past = fakeServer();
  const two = new Committer({ api: past.api, target, retry });
  for (const entry of entries(1001)) two.add(entry);
  const answer = await two.finish();
  assert.deepEqual(
    past.calls.map((c) => c.call),
    ['openDraft', 'addDraftEntries d1', 'addDraftEntries d1', 'commitDraft d1'],
  );
  assert.deepEqual(
    past.calls.filter((c) => c.call.startsWith('add')).map((c) => putsOf(c.body)),
    [1000, 1],
  );
  assert.equal(answer?.snapshot?.files, 1001);
});

test('2,500 entries: a draft filled in batches of 1,000 while they come, then committed once with the message', async () => {
  const { api, calls } = fakeServer();
  const committer = new Committer({ api, target, retry, message: 'many' });
  const all = entries(2500);
  for (const entry of all.slice(0, 2001)) committer.add(entry);
  // Two batches went before the run ended.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(calls.filter((c) => c.call === 'addDraftEntries d1').length, 2);
  for (const entry of all.slice(2001)) committer.add(entry);
  const answer = await committer.finish();
  assert.deepEqual(
    calls.map((c) => c.call),
    ['openDraft', 'addDraftEntries d1', 'addDraftEntries d1', 'addDraftEntries d1', 'commitDraft d1'],
  );
  assert.deepEqual(
    calls.filter((c) => c.call.startsWith('add')).map((c) => putsOf(c.body)),
    [1000, 1000, 500],
  );
  const names = calls.flatMap((c) => (c.call.startsWith('add') ? ((c.body as CommitChanges).puts ?? []) : []));
  assert.deepEqual(
    names.map((p) => p.name),
    all.map((e) => e.name),
    'every name once, in order',
  );
  assert.deepEqual(calls.at(-1)?.body, { message: 'many' });
  assert.equal(answer?.snapshot?.files, 2500);
});

test('a receipt that runs out within two minutes is left out (the server asks BSS); a later one is kept', async () => {
  const { api, calls } = fakeServer();
  const committer = new Committer({ api, target, retry, now: () => NOW });
  for (const entry of entries(3, NOW / 1000 + 60)) committer.add(entry);
  for (const entry of entries(2, NOW / 1000 + 3600)) committer.add({ ...entry, name: `late/${entry.name}` });
  await committer.finish();
  const puts = (calls[0]?.body as CommitRequest | undefined)?.puts ?? [];
  assert.deepEqual(
    puts.map((p) => p.receipt !== undefined),
    [false, false, false, true, true],
  );
});

test('a server without commits: every name registered in batches of 1,000, no snapshot', async () => {
  const { api, calls } = fakeServer({ commits: false });
  const committer = new Committer({ api, target, retry });
  for (const entry of entries(2100)) committer.add(entry);
  const answer = await committer.finish();
  assert.equal(answer, null);
  assert.deepEqual(
    calls.filter((c) => c.call === 'registerFiles').map((c) => (c.body as unknown[]).length),
    [1000, 1000, 100],
  );
});

test('after the commit, drafts an earlier run left are deleted and the notes of stored blobs dropped', async () => {
  const home = await mkdtemp(join(tmpdir(), 'dreamlake-commit-'));
  try {
    const scope = { server: 'http://x', ...target };
    const earlier = new PendingBlobs(home, scope);
    await earlier.recordDraft('old');
    earlier.recordBlob(hashOf(7));
    await earlier.flush();
    assert.match(await readFile(earlier.path, 'utf8'), /"old"[\s\S]*0{56}/);

    const pending = new PendingBlobs(home, scope);
    await pending.load();
    assert.ok(pending.stored(hashOf(7)));
    assert.ok(!pending.stored(hashOf(8)));
    const { api, calls } = fakeServer();
    const committer = new Committer({ api, target, retry, pending });
    for (const entry of entries(1500)) committer.add(entry);
    await committer.finish();
    assert.deepEqual(
      calls.map((c) => c.call),
      ['openDraft', 'addDraftEntries d1', 'addDraftEntries d1', 'commitDraft d1', 'deleteDraft old'],
    );
    await assert.rejects(readFile(pending.path, 'utf8'), { code: 'ENOENT' });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('a batch the server refuses stops the run: told at once, and the draft is not committed', async () => {
  const { api, calls } = fakeServer();
  api.addDraftEntries = async () => {
    throw new ApiError(404, 'not_found', 'BSS holds no blob for frames/00003.jpg');
  };
  const told: unknown[] = [];
  const committer = new Committer({ api, target, retry, onError: (e) => told.push(e) });
  for (const entry of entries(1200)) committer.add(entry);
  await assert.rejects(committer.finish(), /frames\/00003\.jpg/);
  assert.equal(told.length, 1);
  assert.ok(!calls.some((c) => c.call.startsWith('commitDraft')));
});

test("a sync's changes: puts and deletes in one commit with the parent up to 1,000; past that one draft opened at the parent, deletes after the puts", async () => {
  const small = fakeServer();
  const one = new Committer({ api: small.api, target, retry, parent: 7 });
  for (const entry of entries(300)) one.add(entry);
  one.remove(['old/a.txt', 'old/b.txt']);
  await one.finish();
  assert.deepEqual(
    small.calls.map((c) => c.call),
    ['commit'],
  );
  const body = small.calls[0]?.body as CommitRequest;
  assert.deepEqual([body.parent, body.puts?.length, body.deletes], [7, 300, ['old/a.txt', 'old/b.txt']]);

  const large = fakeServer();
  const two = new Committer({ api: large.api, target, retry, parent: 7, message: 'mirror' });
  for (const entry of entries(900)) two.add(entry);
  two.remove(Array.from({ length: 1500 }, (_, i) => `gone/${i}`));
  await two.finish();
  assert.deepEqual(
    large.calls.map((c) => c.call),
    ['openDraft', 'addDraftEntries d1', 'addDraftEntries d1', 'addDraftEntries d1', 'commitDraft d1'],
  );
  assert.deepEqual(large.calls[0]?.body, { parent: 7, message: 'mirror' });
  assert.deepEqual(
    large.calls
      .filter((c) => c.call.startsWith('add'))
      .map((c) => [(c.body as CommitChanges).puts?.length ?? 0, (c.body as CommitChanges).deletes?.length ?? 0]),
    [
      [900, 0],
      [0, 1000],
      [0, 500],
    ],
  );
});
