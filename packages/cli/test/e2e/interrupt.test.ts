import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  backends,
  jsonLines,
  MIB,
  makeFile,
  partsDoneInState,
  reportS3Skipped,
  runCli,
  Services,
  signedUpUser,
  spawnCli,
  tempDir,
  type UploadLine,
  waitFor,
} from '../../../../test/e2e/harness.ts';

/** 60 MiB is 12 parts of 5 MiB: one at a time, slow enough to interrupt part-way. */
const SIZE = 60 * MIB;

function signedUp(services: Services, home: string) {
  return signedUpUser(services.serverUrl, home, 'bo');
}

async function assertDownloadsIntact(
  env: Record<string, string>,
  ref: string,
  original: string,
  work: string,
): Promise<void> {
  const copy = join(work, `copy-${Math.random().toString(36).slice(2)}`);
  const down = await runCli(['download', ref, '-o', copy], env);
  assert.equal(down.code, 0, down.stderr);
  assert.ok((await readFile(copy)).equals(await readFile(original)), 'downloaded bytes differ');
  await rm(copy);
}

for (const backend of backends()) {
  describe(`interrupted uploads (${backend.name} backend)`, () => {
    let services: Services;
    let work: string;

    before(async () => {
      services = await Services.start({ backend });
      work = await tempDir('dreamlake-interrupt-');
    });
    after(async () => {
      await services?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    test('an upload killed with SIGKILL part-way resumes on re-run, sending only the missing parts', async () => {
      const { env, user } = await signedUp(services, join(work, 'home-kill'));
      const path = join(work, 'big.mkv');
      await makeFile(path, SIZE, 7);
      const args = ['upload', path, '--to', `${user}/crash`, '--concurrency', '1', '--json'];
      const first = spawnCli(args, env);
      await waitFor(
        'two parts done',
        async () => (await partsDoneInState(env.DREAMLAKE_HOME as string)) >= 2,
        60_000,
        10,
      );
      first.kill('SIGKILL');
      const killed = await first.result;
      assert.equal(killed.signal, 'SIGKILL', `finished before it could be killed: ${killed.stdout}`);

      const again = await runCli(args, env);
      assert.equal(again.code, 0, again.stderr + services.logs());
      const [line] = jsonLines<UploadLine>(again.stdout);
      assert.equal(line?.partsTotal, 12);
      assert.ok(line && line.partsSent < line.partsTotal && line.partsSent > 0, `partsSent ${line?.partsSent}`);
      assert.equal(line?.skipped, false);
      assert.equal(await partsDoneInState(env.DREAMLAKE_HOME as string), 0, 'resume state removed once done');
      await assertDownloadsIntact(env, `${user}/crash/big.mkv`, path, work);
    });

    test('BSS killed and restarted mid-upload: the CLI retries through it and finishes', async () => {
      const { env, user } = await signedUp(services, join(work, 'home-restart'));
      const path = join(work, 'restart.mkv');
      await makeFile(path, SIZE, 8);
      const run = spawnCli(['upload', path, '--to', `${user}/restart`, '--concurrency', '1', '--json'], env);
      await waitFor(
        'two parts done',
        async () => (await partsDoneInState(env.DREAMLAKE_HOME as string)) >= 2,
        60_000,
        10,
      );
      let said = '';
      run.stderr?.on('data', (c: Buffer) => (said += c.toString()));
      await services.killBss();
      // Back only once the CLI has met the outage, so the retry below is what carried it through.
      await waitFor(
        'the CLI to retry against the stopped BSS',
        async () => /retrying in .*cannot reach/.test(said),
        60_000,
      );
      await services.startBss();
      const result = await run.result;
      assert.equal(result.code, 0, result.stderr + services.logs());
      assert.match(result.stderr, /retrying in .*cannot reach/, 'the outage was noticed and retried');
      const [line] = jsonLines<UploadLine>(result.stdout);
      assert.equal(line?.skipped, false);
      assert.equal(line?.partsTotal, 12);
      await assertDownloadsIntact(env, `${user}/restart/restart.mkv`, path, work);
    });
  });

  describe(`signed URLs that expire mid-upload (${backend.name} backend)`, () => {
    let services: Services;
    let work: string;

    before(async () => {
      services = await Services.start({ backend, presignTtlSeconds: 2 });
      work = await tempDir('dreamlake-expiry-');
    });
    after(async () => {
      await services?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    test("an upload paused past the URLs' lifetime asks the server for fresh URLs and finishes", async () => {
      const { env, user } = await signedUp(services, join(work, 'home'));
      const path = join(work, 'paused.mkv');
      await makeFile(path, SIZE, 9);
      const run = spawnCli(['upload', path, '--to', `${user}/expiry`, '--concurrency', '1', '--json'], env);
      await waitFor('a part done', async () => (await partsDoneInState(env.DREAMLAKE_HOME as string)) >= 1, 60_000, 10);
      // Like a laptop put to sleep: the process is frozen, its URLs run out meanwhile.
      run.kill('SIGSTOP');
      await services.urlsSignedNowExpired();
      run.kill('SIGCONT');
      const result = await run.result;
      assert.equal(result.code, 0, result.stderr + services.logs());
      assert.match(result.stderr, /expired/);
      const [line] = jsonLines<UploadLine>(result.stdout);
      assert.equal(line?.partsTotal, 12);
      assert.equal(line?.partsSent, 12);
      await assertDownloadsIntact(env, `${user}/expiry/paused.mkv`, path, work);
    });
  });
}

reportS3Skipped('interrupted and expiring uploads');
