import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CommitContext, commitPuts } from '../src/engine/commit.ts';
import {
  type CommitAnswer,
  ProtocolError,
  type RegisterRequest,
  type ServerApi,
  type SnapshotView,
} from '../src/protocol/index.ts';

const NOW = 1_800_000_000;

function puts(n: number, exp = NOW + 3600): RegisterRequest[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `run/${String(i).padStart(5, '0')}.bin`,
    hash: i.toString(16).padStart(64, '0'),
    type: 'files',
    contentType: 'application/octet-stream',
    receipt: { size: i, contentType: 'application/octet-stream', exp, sig: `sig${i}` },
  }));
}

function snapshot(version: number, files: number): SnapshotView {
  return {
    namespace: 'ns',
    space: 'sp',
    version,
    parent: version > 1 ? version - 1 : null,
    author: 'ann',
    message: '',
    createdAt: new Date(NOW * 1000).toISOString(),
    counts: { added: files, changed: 0, removed: 0 },
    files,
    bytes: 0,
  };
}

/** A server that records the calls of the commit API; `fail` may throw before a call is answered. */
function fakeServer(fail?: (call: string, body: unknown) => Error | undefined) {
  const calls: Array<{ call: string; body: unknown }> = [];
  const draftEntries = new Map<string, RegisterRequest>();
  const answer = (files: number): CommitAnswer => ({ created: true, snapshot: snapshot(7, files) });
  const record = (call: string, body: unknown): void => {
    calls.push({ call, body });
    const error = fail?.(call, body);
    if (error) throw error;
  };
  const api = {
    async commit(_ns: string, _sp: string, body: { puts?: RegisterRequest[] }) {
      record('commit', body);
      return answer(body.puts?.length ?? 0);
    },
    async openDraft(_ns: string, _sp: string, body: unknown) {
      record('openDraft', body);
      return { id: 'd1', parent: 6, expiresAt: new Date().toISOString() };
    },
    async addDraftEntries(_ns: string, _sp: string, id: string, body: { puts?: RegisterRequest[] }) {
      record('addDraftEntries', body);
      assert.equal(id, 'd1');
      for (const put of body.puts ?? []) draftEntries.set(put.name, put);
      return { entries: draftEntries.size };
    },
    async commitDraft(_ns: string, _sp: string, id: string, body: unknown) {
      record('commitDraft', body);
      assert.equal(id, 'd1');
      return answer(draftEntries.size);
    },
    async deleteDraft(_ns: string, _sp: string, id: string) {
      record('deleteDraft', id);
    },
  };
  return { api: api as unknown as ServerApi, calls, draftEntries };
}

function context(api: ServerApi, message = ''): CommitContext & { waited: number[] } {
  const waited: number[] = [];
  return {
    api,
    namespace: 'ns',
    space: 'sp',
    message,
    waited,
    reauthenticate: async () => {},
    wait: async (ms) => {
      waited.push(ms);
    },
    now: () => NOW,
  };
}

test('a drop of 1,000 names is one POST …/commits carrying all of them and the message', async () => {
  const server = fakeServer();
  const answer = await commitPuts(puts(1000), context(server.api, 'first run'));
  assert.deepEqual(
    server.calls.map((c) => c.call),
    ['commit'],
  );
  const body = server.calls[0]?.body as { puts: RegisterRequest[]; message: string };
  assert.equal(body.puts.length, 1000);
  assert.equal(body.message, 'first run');
  assert.equal(answer.snapshot?.version, 7);
});

test('a drop of 2,500 names is one draft: opened with the message, entries in batches of 1,000, one commit', async () => {
  const server = fakeServer();
  const all = puts(2500);
  const answer = await commitPuts(all, context(server.api, 'big run'));
  assert.deepEqual(
    server.calls.map((c) => c.call),
    ['openDraft', 'addDraftEntries', 'addDraftEntries', 'addDraftEntries', 'commitDraft'],
  );
  const sizes = server.calls
    .filter((c) => c.call === 'addDraftEntries')
    .map((c) => (c.body as { puts: unknown[] }).puts.length);
  assert.deepEqual(sizes, [1000, 1000, 500]);
  assert.deepEqual(server.calls[0]?.body, { message: 'big run' });
  assert.deepEqual([...server.draftEntries.keys()].sort(), all.map((p) => p.name).sort());
  assert.equal(answer.snapshot?.files, 2500);
});

test('a batch that failed on the way is sent again; receipts about to expire are left out for the server to stat', async () => {
  let failures = 0;
  const server = fakeServer((call) => {
    if (call === 'addDraftEntries' && failures === 0) {
      failures += 1;
      return new ProtocolError(503, 'storage_unavailable', 'try again', 1);
    }
    return undefined;
  });
  const all = [...puts(1200), ...puts(300, NOW + 30).map((p) => ({ ...p, name: `late/${p.name}` }))];
  const ctx = context(server.api);
  await commitPuts(all, ctx);
  assert.deepEqual(ctx.waited, [1000]);
  const sent = server.calls
    .filter((c) => c.call === 'addDraftEntries')
    .flatMap((c) => (c.body as { puts: RegisterRequest[] }).puts);
  assert.equal(sent.length, 1000 + 1000 + 500, 'the failed batch went twice');
  assert.equal(server.draftEntries.size, 1500);
  for (const [name, put] of server.draftEntries) {
    assert.equal(put.receipt === undefined, name.startsWith('late/'), name);
  }
  assert.equal(server.calls.filter((c) => c.call === 'commitDraft').length, 1);
});

test('a commit refused for an expired receipt is sent again without receipts', async () => {
  const server = fakeServer((call, body) => {
    const withReceipts = (body as { puts: RegisterRequest[] }).puts.some((p) => p.receipt);
    return call === 'commit' && withReceipts
      ? new ProtocolError(403, 'expired_signature', 'the receipt has expired')
      : undefined;
  });
  const answer = await commitPuts(puts(300), context(server.api));
  assert.equal(server.calls.length, 2);
  assert.equal(answer.snapshot?.files, 300);
});

test('a draft whose commit is refused is dropped, and the refusal is what the page shows', async () => {
  const server = fakeServer((call) =>
    call === 'commitDraft' ? new ProtocolError(404, 'not_found', 'the blob of run/00001.bin is gone') : undefined,
  );
  await assert.rejects(commitPuts(puts(1500), context(server.api)), /is gone/);
  assert.equal(server.calls.at(-1)?.call, 'deleteDraft');
});
