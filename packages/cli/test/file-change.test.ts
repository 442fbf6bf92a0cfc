/**
 * A file written to, touched, removed or replaced between its hash and its upload is told apart
 * from one left alone, with a reason a user can act on.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BatchGrantFile, CommitRequest, ServerApi } from '../src/api.ts';
import { createAgent } from '../src/http.ts';
import { Budget } from '../src/transfer/budget.ts';
import { assertUnchanged, FileChangedError, fileChange } from '../src/upload/changed.ts';
import { collectFiles } from '../src/upload/files.ts';
import { uploadFiles } from '../src/upload/run.ts';
import type { UploadEvents } from '../src/upload/types.ts';
import { singlePutBss } from './single-put-bss.ts';

test('of 300 listed files, exactly those changed since the listing are reported, each with its reason', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dreamlake-changed-'));
  try {
    const run = join(dir, 'run');
    await mkdir(run);
    for (let i = 0; i < 300; i += 1) await writeFile(join(run, `f${String(i).padStart(3, '0')}.bin`), `file ${i}`);
    const files = await collectFiles([run]);
    const inodes = new Map(await Promise.all(files.map(async (f) => [f.name, (await stat(f.path)).ino] as const)));

    await appendFile(join(run, 'f010.bin'), ' and more');
    const later = new Date(Date.now() + 60_000);
    await utimes(join(run, 'f020.bin'), later, later);
    await rm(join(run, 'f030.bin'));
    await rm(join(run, 'f040.bin'));
    await mkdir(join(run, 'f040.bin'));
    const before = await stat(join(run, 'f050.bin'));
    await writeFile(join(dir, 'new'), 'file 50');
    await utimes(join(dir, 'new'), before.atime, before.mtime);
    await rename(join(dir, 'new'), join(run, 'f050.bin'));

    const reasons: Record<string, string> = {};
    for (const file of files) {
      const change = await fileChange(file.path, {
        size: file.size,
        mtimeMs: file.mtimeMs,
        ino: inodes.get(file.name) as number,
      });
      if (change) reasons[file.name] = change.reason;
    }
    assert.deepEqual(reasons, {
      'run/f010.bin': 'size',
      'run/f020.bin': 'mtime',
      'run/f030.bin': 'gone',
      'run/f040.bin': 'not-a-file',
      'run/f050.bin': 'replaced',
    });

    const grown = files.find((f) => f.name === 'run/f010.bin');
    assert.ok(grown);
    await assert.rejects(assertUnchanged(grown.path, grown.name, grown), (error: Error) => {
      assert.ok(error instanceof FileChangedError);
      assert.equal(error.change.reason, 'size');
      assert.equal(error.exitCode, 1);
      assert.match(error.message, /^run\/f010\.bin: changed while being uploaded: 7 bytes, now 16; upload it again/);
      return true;
    });
    const same = files.find((f) => f.name === 'run/f011.bin');
    assert.ok(same);
    await assertUnchanged(same.path, same.name, same);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a small file written to after it was hashed and before it is sent is left out of the snapshot with its reason; the others are committed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dreamlake-changed-run-'));
  const bss = await singlePutBss();
  const bssUrl = bss.url;
  const dispatcher = createAgent(8);
  try {
    const run = join(dir, 'run');
    await mkdir(run);
    for (let i = 0; i < 50; i += 1) await writeFile(join(run, `f${String(i).padStart(2, '0')}.bin`), `small file ${i}`);
    const files = await collectFiles([run]);
    let committed: string[] | undefined;
    const api = {
      server: 'http://server.example',
      async lookupFiles(_ns: string, _space: string, entries: unknown[]) {
        return { files: entries.map(() => 'missing') };
      },
      // Every file is hashed (its bytes kept in memory) before the window is granted: f07.bin grows now.
      async grantBatch(_ns: string, _space: string, entries: BatchGrantFile[]) {
        await appendFile(join(run, 'f07.bin'), ' and more');
        return { files: entries.map((f, index) => ({ index, singleUrl: `${bssUrl}/single/${f.hash}` })) };
      },
      async commit(_ns: string, _space: string, body: CommitRequest) {
        committed = (body.puts ?? []).map((p) => p.name);
        return { created: true, snapshot: null };
      },
    } as unknown as ServerApi;
    const quiet: UploadEvents = { hashed() {}, sent() {}, resumed() {}, phase() {}, note() {} };
    const failed: Array<{ name: string; reason: string }> = [];
    const done: string[] = [];
    await uploadFiles(
      {
        api,
        dispatcher,
        home: join(dir, 'home'),
        bss: undefined,
        concurrency: 2,
        budget: new Budget(64 * 1024 * 1024, 16),
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        events: quiet,
      },
      files,
      { namespace: 'ann', space: 'robotics' },
      {
        begin() {},
        end() {},
        result: (_index, result) => done.push(result.name),
        failed: (_index, file, error) => failed.push({ name: file.name, reason: error.change.reason }),
      },
    );
    assert.deepEqual(failed, [{ name: 'run/f07.bin', reason: 'size' }]);
    const others = files.map((f) => f.name).filter((name) => name !== 'run/f07.bin');
    assert.deepEqual([...(committed ?? [])].sort(), others);
    assert.deepEqual(done.sort(), others);
  } finally {
    await dispatcher.close();
    bss.close();
    await rm(dir, { recursive: true, force: true });
  }
});
