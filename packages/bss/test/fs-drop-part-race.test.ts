/**
 * A part the disk backend finds damaged after a restart, or whose flush failed at complete, is
 * dropped, so the client sends it again. The client may be sending it again already: the drop
 * must then remove only the part it judged, never the fresh one that a send acknowledged while
 * the drop was under way (even the same bytes from the same backend, whose record and file name
 * are those of the part judged).
 */

import assert from 'node:assert/strict';
import fsp, { open, readFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { sep } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { partData, partPointer } from '../src/storage/fs/layout.ts';
import { dropPart } from '../src/storage/fs/receive-part.ts';
import type { PartRecord } from '../src/storage/fs/records.ts';
import {
  backend,
  completeAll,
  isStagedPiece,
  isUnavailable,
  listed,
  openUpload,
  patchOpen,
  readAll,
  send,
  setup,
  systemError,
} from './support/fs-upload-rig.ts';

/**
 * Holds the next read of `path` through readFile: reads it, then runs `meanwhile` and waits for it
 * (at most `wait` ms, since a correct drop makes it wait for the drop itself), then answers what
 * was read.
 */
function holdNextRead(t: TestContext, path: string, meanwhile: () => Promise<unknown>, wait: number) {
  const original = fsp.readFile;
  let armed = true;
  const done: { run?: Promise<unknown> } = {};
  fsp.readFile = (async (file: unknown, ...rest: unknown[]) => {
    const read = (original as (...a: unknown[]) => Promise<unknown>)(file, ...rest);
    if (!armed || String(file) !== path) return read;
    armed = false;
    const value = await read;
    done.run = meanwhile();
    await Promise.race([done.run.catch(() => {}), sleep(wait)]);
    return value;
  }) as typeof fsp.readFile;
  syncBuiltinESMExports();
  const restore = () => {
    fsp.readFile = original;
    syncBuiltinESMExports();
  };
  t.after(restore);
  return { restore, done };
}

test('a part sent again while a drop of its damaged copy is under way is kept, and completes', async (t) => {
  const { root, data, parts, hash, storage: first, upload, dir } = await openUpload(t);
  for (const [i, body] of parts.entries()) await send(first, upload, hash, i + 1, body);

  // An unclean stop damaged part 2's file; a restarted backend judges it and drops it, while the
  // client sends part 2 again (the same bytes, so the same data file name).
  const judged = JSON.parse(await readFile(partPointer(dir, 2), 'utf8')) as PartRecord;
  const file = await open(partData(dir, 2, judged.etag), 'r+');
  const byte = Buffer.alloc(1);
  await file.read(byte, 0, 1, 0);
  byte[0] = (byte[0] as number) ^ 0xff;
  await file.write(byte, 0, 1, 0);
  await file.close();
  const restarted = await backend(root);
  let resent: string | undefined;
  const hold = holdNextRead(
    t,
    partPointer(dir, 2),
    async () => {
      resent = await send(restarted, upload, hash, 2, parts[1] as Buffer);
    },
    2000,
  );
  await dropPart(dir, 2, judged);
  await hold.done.run;
  hold.restore();
  assert.ok(resent, 'the part sent again was acknowledged');

  assert.deepEqual(await listed(restarted, upload), [1, 2], 'the acknowledged part is kept');
  const blob = await restarted.complete(upload, [
    { partNumber: 1, etag: ((await restarted.listParts(upload)) ?? [])[0]?.etag as string },
    { partNumber: 2, etag: resent },
  ]);
  assert.ok((await readAll(await restarted.read(blob))).equals(data), 'the blob holds the bytes sent');
});

test("a part sent again, same bytes to the same backend, while a complete's flush of it fails is kept, and completes", async (t) => {
  const s = await setup(t, { flushBehind: false });

  // The fsync of part 2's staged piece fails (EIO); before it answers, the client sends part 2
  // again and is answered.
  let resent: string | undefined;
  const restore = patchOpen(t, async (original, path, ...rest) => {
    const handle = await original(path, ...(rest as []));
    if (isStagedPiece(s.root, path) && path.endsWith(`${sep}1`)) {
      handle.sync = async () => {
        if (resent === undefined) resent = await send(s.storage, s.upload, s.hash, 2, s.parts[1] as Buffer);
        throw systemError('EIO', -5, 'fsync');
      };
    }
    return handle;
  });

  await assert.rejects(completeAll(s), isUnavailable);
  restore();
  assert.equal(resent, s.etags[1], 'the part sent again was acknowledged');
  assert.deepEqual(await listed(s.storage, s.upload), [1, 2], 'the part sent again is kept');
  const blob = await completeAll(s);
  assert.ok((await readAll(await s.storage.read(blob))).equals(s.data), 'the blob holds the bytes sent');
});
