/**
 * The client as a library (`import { DreamLakeClient } from '@dreamlake/cli'`): a Node program
 * uploads a folder and downloads it back, sees progress, stops an upload with an AbortSignal and
 * resumes it by calling again. Disk backend.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  backends,
  MIB,
  makeFile,
  partsDoneInState,
  Services,
  sha256File,
  signupToken,
  tempDir,
  uniqueName,
} from '../../../../test/e2e/harness.ts';
import { DreamLakeClient, type FileResult, type TransferProgress } from '../../src/index.ts';

const disk = backends().find((b) => b.name === 'fs');

describe('the client as a library', () => {
  let services: Services;
  let work: string;
  let token: string;
  const user = uniqueName('lib');

  before(async () => {
    services = await Services.start({ backend: disk as NonNullable<typeof disk> });
    work = await tempDir('dreamlake-library-');
    token = await signupToken(services.serverUrl, user);
  });
  after(async () => {
    await services?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('uploads a folder and downloads it back, byte for byte, with progress and a result per file', async () => {
    const folder = join(work, 'run-1');
    await mkdir(join(folder, 'frames'), { recursive: true });
    await writeFile(join(folder, 'frames', '000.jpg'), 'frame zero');
    await writeFile(join(folder, 'labels.json'), '{"a":1}');
    await makeFile(join(folder, 'log.mp4'), 7 * MIB, 3);

    const client = new DreamLakeClient({ server: services.serverUrl, token, home: join(work, 'home') });
    try {
      const results: FileResult[] = [];
      const seen: TransferProgress[] = [];
      const summary = await client.upload(folder, {
        to: `${user}/data`,
        onFile: (r) => results.push(r),
        onProgress: (p) => seen.push(p),
      });
      const { commit, ...counts } = summary;
      assert.deepEqual(counts, { files: 3, alreadyStored: 0, bytes: 7 * MIB + 10 + 7, failed: [] });
      assert.equal(commit?.created, true);
      assert.equal(commit?.snapshot?.version, 1, "the upload is the space's snapshot 1");
      assert.equal(commit?.snapshot?.files, 3);
      assert.deepEqual(results.map((r) => r.name).sort(), [
        'run-1/frames/000.jpg',
        'run-1/labels.json',
        'run-1/log.mp4',
      ]);
      const last = seen.at(-1);
      assert.deepEqual(last, { filesDone: 3, filesTotal: 3, bytesDone: summary.bytes, bytesTotal: summary.bytes });
      assert.ok(seen.length > 3, 'progress is reported as bytes go, not only per file');

      const listed = await client.list(`${user}/data`, { prefix: 'run-1/frames/' });
      assert.deepEqual(
        listed.map((f) => f.name),
        ['run-1/frames/000.jpg'],
      );

      const copy = join(work, 'copy');
      const back = await client.download(`${user}/data/run-1/`, { to: copy });
      assert.deepEqual(back, { downloaded: 3, skipped: 0, failed: 0 });
      assert.equal(await readFile(join(copy, 'frames', '000.jpg'), 'utf8'), 'frame zero');
      assert.equal(await sha256File(join(copy, 'log.mp4')), await sha256File(join(folder, 'log.mp4')));

      const again = await client.upload(folder, { to: `${user}/data` });
      assert.equal(again.alreadyStored, 3, 'a second upload sends nothing');
      assert.deepEqual([again.commit?.created, again.commit?.snapshot?.version], [false, 1], 'and makes no snapshot');
    } finally {
      await client.close();
    }
  });

  test('versions as calls: log, list and download at a version, diff, rm, restore and verify', async () => {
    const folder = join(work, 'versions');
    await mkdir(join(folder, 'frames'), { recursive: true });
    for (let i = 0; i < 120; i += 1)
      await writeFile(join(folder, 'frames', `${String(i).padStart(3, '0')}.jpg`), `frame ${i}`);
    await writeFile(join(folder, 'labels.json'), '{"v":1}');
    const space = `${user}/versions`;
    const client = new DreamLakeClient({ server: services.serverUrl, token, home: join(work, 'home-versions') });
    try {
      const first = await client.upload(folder, { to: space, message: 'labels v1' });
      assert.equal(first.commit?.snapshot?.version, 1);
      await writeFile(join(folder, 'labels.json'), '{"v":2}');
      const second = await client.upload(folder, { to: space, message: 'labels v2' });
      assert.deepEqual(second.commit?.snapshot?.counts, { added: 0, changed: 1, removed: 0 });

      assert.deepEqual(
        (await client.log(space)).map((s) => [s.version, s.message]),
        [
          [2, 'labels v2'],
          [1, 'labels v1'],
        ],
      );
      const labelsAt1 = (await client.list(`${space}@1`)).find((f) => f.name === 'versions/labels.json');
      const labelsOf1 = (await client.list(space, { version: 1 })).find((f) => f.name === 'versions/labels.json');
      assert.equal(labelsAt1?.size, 7);
      assert.equal(labelsOf1?.hash, labelsAt1?.hash);
      const old = join(work, 'versions-at-1');
      await client.download(`${space}/versions/labels.json`, { to: old, version: 1 });
      assert.equal(await readFile(join(old, 'labels.json'), 'utf8'), '{"v":1}');

      const { changes } = await client.diff(`${space}@1`, `${space}@2`);
      assert.deepEqual(
        changes.map((c) => [c.change, c.name]),
        [['changed', 'versions/labels.json']],
      );

      const removed = await client.rm(`${space}/versions/frames/`, { recursive: true, message: 'no frames' });
      assert.deepEqual([removed.snapshot?.version, removed.snapshot?.counts.removed], [3, 120]);
      assert.equal((await client.list(space)).length, 1);
      await assert.rejects(client.rm(`${space}/versions/never.txt`), /not_found/);

      const restored = await client.restore(`${space}@2`);
      assert.deepEqual([restored.created, restored.snapshot?.version, restored.snapshot?.files], [true, 4, 121]);
      const report = await client.verify(`${space}/versions/`, folder);
      assert.deepEqual([report.matches, report.version, report.files], [true, 4, 121]);
      await writeFile(join(folder, 'labels.json'), '{"v":3}');
      const after = await client.verify(`${space}@2/versions/`, folder);
      assert.deepEqual([after.matches, after.changed, after.missing, after.extra], [false, ['labels.json'], [], []]);
    } finally {
      await client.close();
    }
  });

  test('an upload stopped by its AbortSignal rejects with the reason, and the same call resumes it', async () => {
    const path = join(work, 'big.bin');
    await makeFile(path, 48 * MIB, 9);
    const home = join(work, 'home-abort');
    const client = new DreamLakeClient({ server: services.serverUrl, token, home, concurrency: 1, requests: 1 });
    try {
      const controller = new AbortController();
      const reason = new Error('stopped by the test');
      let sentBeforeAbort = 0;
      const stopped = client.upload(path, {
        to: `${user}/abort`,
        signal: controller.signal,
        onProgress: (p) => {
          // Stop once a few parts are through.
          if (p.bytesDone >= 20 * MIB && !controller.signal.aborted) {
            sentBeforeAbort = p.bytesDone;
            controller.abort(reason);
          }
        },
      });
      await assert.rejects(stopped, (error) => error === reason);
      assert.ok(sentBeforeAbort > 0);
      const partsKept = await partsDoneInState(home);
      assert.ok(partsKept >= 1, 'the parts sent before the abort are recorded for the next call');

      const results: FileResult[] = [];
      await client.upload(path, { to: `${user}/abort`, onFile: (r) => results.push(r) });
      assert.equal(results.length, 1);
      assert.ok(
        (results[0]?.partsSent ?? 0) < (results[0]?.partsTotal ?? 0),
        `resumed: ${results[0]?.partsSent} of ${results[0]?.partsTotal} parts sent again`,
      );
      const copy = join(work, 'abort-copy');
      await client.download(`${user}/abort/big.bin`, { to: copy });
      assert.equal(await sha256File(join(copy, 'big.bin')), await sha256File(path));
    } finally {
      await client.close();
    }
  });
});
