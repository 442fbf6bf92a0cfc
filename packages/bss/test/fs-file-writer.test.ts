import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createFileWriter, GATHER_BYTES } from '../src/storage/fs/synced-file.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a writer destroyed while its write runs never writes into a file opened meanwhile', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dl-writer-'));
  try {
    let strays = 0;
    let inFlightAtDestroy = 0;
    const ROUNDS = 300;
    for (let round = 0; round < ROUNDS; round++) {
      const path = join(dir, `cut-${round}`);
      const writer = createFileWriter(path, { sync: false });
      writer.on('error', () => {});
      await sleep(1);
      // Past the gathering size, so one write is sent; then the body is cut short.
      writer.write(Buffer.alloc(GATHER_BYTES, 0x41));
      writer.write(Buffer.alloc(4096, 0x41));
      writer.destroy();
      // Meanwhile other uploads open files of their own, reusing freed descriptor numbers.
      const others = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const other = join(dir, `other-${round}-${i}`);
          const handle = await open(other, 'w');
          await sleep(3);
          await handle.close();
          return other;
        }),
      );
      await sleep(3);
      for (const other of others) if ((await readFile(other)).length > 0) strays++;
      // The cut writer's own file got its write: the destroy came while that write was sent.
      if ((await stat(path)).size > 0) inFlightAtDestroy++;
    }
    assert.ok(inFlightAtDestroy > 0, 'no destroy met a write on its way: the race was not exercised');
    assert.equal(strays, 0, `${strays} files opened meanwhile got a destroyed writer's bytes`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the bytes of a body not a multiple of the gathering size all reach the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dl-writer-'));
  try {
    const path = join(dir, 'part');
    const writer = createFileWriter(path, { sync: true });
    const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(65_536 + i, i));
    for (const chunk of chunks) writer.write(chunk);
    await new Promise<void>((resolve, reject) => writer.end(() => resolve()).on('error', reject));
    assert.deepEqual(await readFile(path), Buffer.concat(chunks));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
