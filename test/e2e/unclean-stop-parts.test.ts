/**
 * BSS's disk backend answers a part once it is written, before it is flushed (complete flushes
 * every part at once). An unclean stop between a part's answer and the complete, a power loss,
 * can lose what the page cache held: a part file comes back short or with other bytes. This plays
 * that stop end to end: the CLI is killed with parts stored, BSS is killed, two stored parts are
 * damaged while it is down, and BSS starts again. The CLI's re-run must send those two parts again
 * (BSS no longer lists them), skip the others, and the blob must verify and download whole.
 */

import assert from 'node:assert/strict';
import { open, readdir, readFile, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  backends,
  jsonLines,
  MIB,
  makeFile,
  partsDoneInState,
  resumeStates,
  runCli,
  Services,
  signedUpUser,
  spawnCli,
  tempDir,
  type UploadLine,
  waitFor,
} from './harness.ts';

/** 60 MiB is 12 parts of 5 MiB: one at a time, slow enough to stop part-way. */
const SIZE = 60 * MIB;
const PARTS = 12;

/** Overwrites one byte in the middle of a file, keeping its size. */
async function flipByte(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const at = Math.floor((await handle.stat()).size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = (byte[0] as number) ^ 0x5a;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}

/** Part `n`'s data file in the upload's folder, as its pointer names it. */
async function dataFile(uploadDir: string, n: number): Promise<string> {
  const { etag } = JSON.parse(await readFile(join(uploadDir, 'parts', String(n)), 'utf8')) as { etag: string };
  return join(uploadDir, 'data', `${n}.${etag}`);
}

const fs = backends().find((backend) => backend.name === 'fs');

describe('parts damaged by an unclean stop of BSS (fs backend)', () => {
  let services: Services;
  let work: string;

  before(async () => {
    services = await Services.start({ backend: fs ?? { name: 'fs', env: { STORAGE: 'fs' } } });
    work = await tempDir('dreamlake-unclean-');
  });
  after(async () => {
    await services?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the re-run sends the damaged parts again, and only them, and the blob verifies', async () => {
    const home = join(work, 'home');
    const { env, user } = await signedUpUser(services.serverUrl, home, 'una');
    const path = join(work, 'big.bin');
    await makeFile(path, SIZE, 31);
    const args = ['upload', path, '--to', `${user}/unclean`, '--concurrency', '1', '--json'];

    const first = spawnCli(args, env);
    await waitFor('four parts stored', async () => (await partsDoneInState(home)) >= 4, 60_000, 10);
    first.kill('SIGKILL');
    assert.equal((await first.result).signal, 'SIGKILL', 'finished before it could be stopped');
    await services.killBss();

    // While BSS is down: what a lost page cache can leave of two acknowledged parts.
    const [state] = await resumeStates(home);
    assert.ok(state, 'the CLI left its resume state');
    const uploadDir = services.bssUploadDir(state.key);
    const stored = (await readdir(join(uploadDir, 'parts'))).filter((name) => /^\d+$/.test(name)).length;
    assert.ok(stored >= 4 && stored < PARTS, `${stored} parts stored`);
    await flipByte(await dataFile(uploadDir, 2));
    await truncate(await dataFile(uploadDir, 3), 1000);

    await services.startBss();
    const again = await runCli(args, env);
    assert.equal(again.code, 0, again.stderr + services.logs());
    const [line] = jsonLines<UploadLine>(again.stdout);
    assert.equal(line?.partsTotal, PARTS);
    assert.equal(line?.skipped, false);
    // The parts never stored, and the two damaged ones: the intact stored parts are not sent again.
    assert.equal(line?.partsSent, PARTS - stored + 2, 'parts sent by the re-run');
    assert.equal(await partsDoneInState(home), 0, 'resume state removed once done');

    const copy = join(work, 'copy.bin');
    const down = await runCli(['download', `${user}/unclean/big.bin`, '-o', copy], env);
    assert.equal(down.code, 0, down.stderr);
    assert.ok((await readFile(copy)).equals(await readFile(path)), 'the downloaded bytes are the file');
  });
});
