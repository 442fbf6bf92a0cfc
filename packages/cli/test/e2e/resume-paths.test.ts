/**
 * What an interrupted upload meets when it comes back, and the edges of a transfer, against the
 * real server and BSS (disk backend): an upload BSS dropped, a part whose bytes changed on BSS,
 * a complete that finds the bytes do not hash right, another client finishing the same blob,
 * and a file of zero bytes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  cliEnv,
  jsonLines,
  MIB,
  makeFile,
  partsDoneInState,
  resumeStates,
  runCli,
  Services,
  sha256File,
  signedUpUser,
  spawnCli,
  tempDir,
  type UploadLine,
  waitFor,
} from '../../../../test/e2e/harness.ts';

/** 60 MiB is 12 parts of 5 MiB: sent one at a time, slow enough to stop part-way. */
const SIZE = 60 * MIB;

describe('coming back to an upload (fs backend)', () => {
  let services: Services;
  let work: string;

  before(async () => {
    services = await Services.start({ backend: { name: 'fs', env: { STORAGE: 'fs' } } });
    work = await tempDir('dreamlake-resume-paths-');
  });
  after(async () => {
    await services?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const signedUp = (name: string) => signedUpUser(services.serverUrl, join(work, `home-${name}`), 'rp');

  /** Starts an upload of a fresh file and kills the CLI once two parts are stored. */
  async function interrupted(name: string, seed: number) {
    const who = await signedUp(name);
    const path = join(work, `${name}.mkv`);
    await makeFile(path, SIZE, seed);
    const args = ['upload', path, '--to', `${who.user}/runs`, '--concurrency', '1', '--json'];
    const first = spawnCli(args, who.env);
    await waitFor('two parts done', async () => (await partsDoneInState(who.home)) >= 2, 60_000, 10);
    first.kill('SIGKILL');
    assert.equal((await first.result).signal, 'SIGKILL', 'finished before it could be killed');
    const [state] = await resumeStates(who.home);
    assert.ok(state, 'a resume state was left');
    // The user's own grant for the same file, as the server gives it: BSS lets only this user's
    // grants act on the upload.
    const res = await fetch(`${services.serverUrl}/uploads/init`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenOf(who.home)}` },
      body: JSON.stringify({
        namespace: who.user,
        space: 'runs',
        filename: `${name}.mkv`,
        hash: state.hash,
        contentType: 'video/x-matroska',
        type: 'videos',
        size: SIZE,
      }),
    });
    const grant = (await res.json()) as { abortUrl: string; partsUrl: string };
    assert.equal(res.status, 200, JSON.stringify(grant));
    return { ...who, path, args, state, grant };
  }

  async function downloadsIntact(env: Record<string, string>, ref: string, original: string) {
    const copy = join(work, `copy-${randomBytes(4).toString('hex')}`);
    const down = await runCli(['download', ref, '-o', copy], env);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await sha256File(copy), await sha256File(original), 'downloaded bytes differ');
    await rm(copy);
  }

  test('BSS dropped the upload (as its sweep does): the next run starts it again and sends every part', async () => {
    const up = await interrupted('swept', 21);
    const abort = await fetch(up.grant.abortUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uploadId: up.state.uploadId, key: up.state.key }),
    });
    assert.equal(abort.status, 200);

    const again = await runCli(up.args, up.env);
    assert.equal(again.code, 0, again.stderr + services.logs());
    const [line] = jsonLines<UploadLine>(again.stdout);
    assert.equal(line?.partsSent, line?.partsTotal, 'nothing of the dropped upload was counted as sent');
    assert.equal((await resumeStates(up.home)).length, 0, 'resume state removed once done');
    await downloadsIntact(up.env, `${up.user}/runs/swept.mkv`, up.path);
  });

  test('a stored part whose ETag changed (other bytes) is sent again; the others are kept', async () => {
    const up = await interrupted('etag', 22);
    // Another body for part 1 through a URL BSS signs for it: BSS now lists part 1 with another ETag.
    const urls = await fetch(up.grant.partsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uploadId: up.state.uploadId, key: up.state.key, partNumbers: [1] }),
    });
    assert.equal(urls.status, 200, await urls.clone().text());
    const partUrl = ((await urls.json()) as { parts: Record<string, string> }).parts['1'] as string;
    const put = await fetch(partUrl, { method: 'PUT', body: randomBytes(5 * MIB) });
    assert.equal(put.status, 200, await put.text());

    const again = await runCli(up.args, up.env);
    assert.equal(again.code, 0, again.stderr + services.logs());
    const [line] = jsonLines<UploadLine>(again.stdout);
    assert.ok(line && line.partsSent < line.partsTotal, `parts BSS still held were kept (sent ${line?.partsSent})`);
    await downloadsIntact(up.env, `${up.user}/runs/etag.mkv`, up.path);
  });

  test('a complete answered hash_mismatch clears the resume state, so the next run starts afresh', async () => {
    const up = await interrupted('mismatch', 23);
    // Part 1's bytes change on BSS's disk behind its record (a new file, as a bad disk or an
    // operator would leave it): the ETag BSS lists still matches, the blob's hash will not.
    const data = join(services.bssUploadDir(up.state.key), 'data');
    const [file] = (await readdir(data)).filter((n) => n.startsWith('1.'));
    assert.ok(file, `part 1 is on disk in ${data}`);
    const { size } = await stat(join(data, file));
    await writeFile(join(data, `${file}.other`), randomBytes(size));
    await rename(join(data, `${file}.other`), join(data, file));

    const failed = await runCli(up.args, up.env);
    assert.equal(failed.code, 1, failed.stdout);
    assert.match(failed.stderr, /hash_mismatch/);
    assert.deepEqual(await resumeStates(up.home), [], 'the upload that cannot complete is forgotten');

    const again = await runCli(up.args, up.env);
    assert.equal(again.code, 0, again.stderr + services.logs());
    const [line] = jsonLines<UploadLine>(again.stdout);
    assert.equal(line?.partsSent, line?.partsTotal, 'a fresh upload sends every part');
    await downloadsIntact(up.env, `${up.user}/runs/mismatch.mkv`, up.path);
  });

  test('another client finishes the same blob while this upload is paused: both finish, one blob', async () => {
    const a = await signedUp('first');
    const path = join(work, 'shared.mkv');
    await makeFile(path, SIZE, 24);
    const slow = spawnCli(['upload', path, '--to', `${a.user}/runs`, '--concurrency', '1', '--json'], a.env);
    await waitFor('two parts done', async () => (await partsDoneInState(a.home)) >= 2, 60_000, 10);
    slow.kill('SIGSTOP');
    try {
      // The same user, from another machine (another home), into another space.
      const other = cliEnv(join(work, 'home-second'), { DREAMLAKE_TOKEN: await tokenOf(a.home) });
      const quick = await runCli(
        ['upload', path, '--to', `${a.user}/elsewhere`, '--server', services.serverUrl],
        other,
      );
      assert.equal(quick.code, 0, quick.stderr);
    } finally {
      slow.kill('SIGCONT');
    }
    const result = await slow.result;
    assert.equal(result.code, 0, result.stderr + services.logs());
    const [line] = jsonLines<UploadLine>(result.stdout);
    assert.equal(line?.hash, await sha256File(path));
    for (const space of ['runs', 'elsewhere']) await downloadsIntact(a.env, `${a.user}/${space}/shared.mkv`, path);
  });

  test('a file of zero bytes uploads, lists with size 0 and downloads as an empty file', async () => {
    const who = await signedUp('empty');
    const path = join(work, 'empty.txt');
    await writeFile(path, '');
    const up = await runCli(['upload', path, '--to', `${who.user}/runs`, '--json'], who.env);
    assert.equal(up.code, 0, up.stderr + services.logs());
    const [line] = jsonLines<UploadLine & { size: number }>(up.stdout);
    assert.equal(line?.size, 0);
    assert.equal(line?.hash, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const ls = await runCli(['ls', `${who.user}/runs`, '--json'], who.env);
    assert.deepEqual(
      (JSON.parse(ls.stdout) as Array<{ name: string; size: number }>).map((f) => [f.name, f.size]),
      [['empty.txt', 0]],
    );
    const copy = join(work, 'empty-copy.txt');
    const down = await runCli(['download', `${who.user}/runs/empty.txt`, '-o', copy], who.env);
    assert.equal(down.code, 0, down.stderr);
    assert.equal((await stat(copy)).size, 0);
  });
});

/** The token `dreamlake signup` saved in a home. */
async function tokenOf(home: string): Promise<string> {
  for (const name of await readdir(home)) {
    const text = await readFile(join(home, name), 'utf8').catch(() => '');
    const token = /"token"\s*:\s*"([^"]+)"/.exec(text)?.[1];
    if (token) return token;
  }
  throw new Error(`no saved token in ${home}`);
}
