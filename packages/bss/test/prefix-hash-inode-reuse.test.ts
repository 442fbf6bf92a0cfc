/**
 * A part's data file is new for every send, and the file it replaced is removed: its inode number
 * is free, and a later send of the part often gets it. The hashing of parts as they land must not
 * take a later file for the one it hashed because the part number, size and inode number agree:
 * a complete naming the last send's ETag would publish those bytes under the first send's hash.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { buildBssApp } from '../src/app.ts';
import { createStorage } from '../src/storage/index.ts';
import { makeApp, md5hex, pathOf, sha256, signedQuery, tempDir, testConfig, uploadPaths } from './helpers.ts';

const owner = 'alice';
const project = 'robotics';
const SIZE = 12 * 1024;
/** Re-sends of other bytes after the genuine one, per attempt. */
const RESENDS = 2;

/** Whether a file made right after another was removed gets its inode number, here. */
async function reusesInodes(dir: string): Promise<boolean> {
  for (let i = 0; i < 20; i += 1) {
    const [a, b] = [join(dir, `inode-a-${i}`), join(dir, `inode-b-${i}`)];
    await writeFile(a, 'a');
    const first = (await stat(a, { bigint: true })).ino;
    await unlink(a);
    await writeFile(b, 'b');
    const second = (await stat(b, { bigint: true })).ino;
    await unlink(b);
    if (first === second) return true;
  }
  return false;
}

/**
 * One attempt at the forgery: the genuine part through `first`, left to be hashed, then other bytes
 * of the same length sent again through `again`, and a complete through `first` naming the last
 * ETag. The complete must be refused, or publish the genuine bytes. Answers whether a re-sent part
 * got the inode number of the genuine one.
 */
async function forge(dataDir: string, first: FastifyInstance, again: FastifyInstance): Promise<boolean> {
  const genuine = randomBytes(SIZE);
  const hash = sha256(genuine);
  const paths = uploadPaths('files', { owner, project, hash });
  const init = await first.inject({
    method: 'POST',
    url: paths.init,
    payload: { contentType: 'application/octet-stream', size: SIZE },
  });
  assert.equal(init.statusCode, 200, init.body);
  const { uploadId, key } = init.json() as { uploadId: string; key: string };
  const urls = await first.inject({ method: 'POST', url: paths.parts, payload: { uploadId, key, partNumbers: [1] } });
  assert.equal(urls.statusCode, 200, urls.body);
  const url = pathOf((urls.json() as { parts: Record<string, string> }).parts['1'] as string);
  const put = async (app: FastifyInstance, body: Buffer) => {
    const res = await app.inject({
      method: 'PUT',
      url,
      payload: body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.statusCode, 200, res.body);
    return String(res.headers.etag);
  };
  const inode = async (body: Buffer) =>
    (await stat(join(dataDir, 'bss', key, 'data', `1.${md5hex(body)}`), { bigint: true })).ino;

  await put(first, genuine);
  const genuineInode = await inode(genuine);
  // The genuine part is hashed in the background meanwhile.
  await sleep(20);
  let etag = '';
  let reused = false;
  for (let i = 0; i < RESENDS; i += 1) {
    const other = randomBytes(SIZE);
    etag = await put(again, other);
    if ((await inode(other)) === genuineInode) reused = true;
  }

  const done = await first.inject({
    method: 'POST',
    url: paths.complete,
    payload: { uploadId, key, parts: [{ partNumber: 1, etag }] },
  });
  if (done.statusCode === 200) {
    // Only the genuine bytes may stand under their hash.
    const download = await first.inject({
      method: 'GET',
      url: `/blobs/download?${signedQuery('download', { owner, project, hash })}`,
    });
    assert.equal(download.statusCode, 200);
    assert.ok(download.rawPayload.equals(genuine), `the blob ${hash} holds other bytes than its own`);
  } else {
    assert.equal(done.json().error.code, 'hash_mismatch', done.body);
  }
  return reused;
}

/** Attempts until `reusesWanted` of them saw an inode reused, or `max` were made; answers the counts. */
async function attempts(
  dataDir: string,
  first: FastifyInstance,
  again: FastifyInstance,
  { max, reusesWanted }: { max: number; reusesWanted: number },
) {
  let tried = 0;
  let reused = 0;
  while (tried < max && reused < reusesWanted) {
    tried += 1;
    if (await forge(dataDir, first, again)) reused += 1;
  }
  return { tried, reused };
}

test('a part sent again onto the inode of the bytes first hashed is not published under their hash', async (t) => {
  const bss = await makeApp();
  t.after(() => bss.close());
  const { tried, reused } = await attempts(bss.dir, bss.app, bss.app, { max: 150, reusesWanted: 5 });
  t.diagnostic(`${tried} attempts, ${reused} of them sent a part onto the inode first hashed`);
  // Where the file system gives a freed inode number to the next file (ext4, xfs do; tmpfs and
  // btrfs do not), the case under test must actually have happened.
  if (await reusesInodes(bss.dir)) assert.ok(reused > 0, `no inode was reused in ${tried} attempts`);
});

test('a part sent again through another process is not taken for the one this process hashed', async (t) => {
  // Two BSS over one data folder, as two processes behind one balancer: the one that hashed the
  // genuine part never hears of the sends that replace it.
  const temp = await tempDir();
  t.after(() => temp.remove());
  const config = testConfig(temp.dir);
  const apps = await Promise.all([0, 1].map(async () => buildBssApp({ config, storage: await createStorage(config) })));
  t.after(() => Promise.all(apps.map((app) => app.close())));
  const [first, again] = apps as [FastifyInstance, FastifyInstance];
  // Where the genuine part's inode is free once it is replaced, a send gets it within a few attempts.
  const { tried, reused } = await attempts(temp.dir, first, again, { max: 40, reusesWanted: 40 });
  t.diagnostic(`${tried} attempts, ${reused} of them sent a part onto the inode first hashed`);
  assert.equal(tried, 40);
});
