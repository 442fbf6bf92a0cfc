import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  backends,
  cliEnv,
  jsonLines,
  MIB,
  makeFile,
  reportS3Skipped,
  runCli,
  Services,
  sha256File,
  spawnCli,
  tempDir,
  uniqueName,
  waitFor,
} from '../../../../test/e2e/harness.ts';

/** 256 MiB is 32 ranges of 8 MiB: long enough to interrupt part-way. */
const SIZE = 256 * MIB;

for (const backend of backends()) {
  describe(`an interrupted download (${backend.name} backend)`, () => {
    let services: Services;
    let work: string;

    before(async () => {
      services = await Services.start({ backend });
      work = await tempDir('dreamlake-download-resume-');
    });
    after(async () => {
      await services?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    test('Ctrl-C says so and leaves only the partial file and its ranges; the re-run fetches only the rest and verifies the whole', async () => {
      const env = cliEnv(join(work, 'home'));
      const user = uniqueName('rs');
      const signup = await runCli(
        ['signup', '--server', services.serverUrl, '--username', user, '--password-stdin'],
        env,
        'a long enough password\n',
      );
      assert.equal(signup.code, 0, signup.stderr);
      const source = join(work, 'big.bin');
      await makeFile(source, SIZE, 11);
      const hash = await sha256File(source);
      const up = await runCli(['upload', source, '--to', `${user}/runs`], env);
      assert.equal(up.code, 0, up.stderr);

      const out = join(work, 'out');
      const target = join(out, 'big.bin');
      const state = join(out, `big.bin.${hash.slice(0, 12)}.partial.json`);
      const first = spawnCli(['download', `${user}/runs`, '-o', out, '--json'], env);
      await waitFor(
        'two ranges written',
        async () => {
          const text = await readFile(state, 'utf8');
          return (JSON.parse(text) as { done: number[] }).done.length >= 2;
        },
        60_000,
        5,
      );
      first.kill('SIGINT');
      const stopped = await first.result;
      assert.equal(stopped.code, 130, stopped.stderr);
      assert.match(stopped.stderr, /interrupted \(an upload or download resumes where it stopped when run again\)/);
      const left = await readdir(out);
      assert.ok(!left.includes('big.bin'), 'nothing unverified is put in place');
      assert.ok(
        left.every((name) => /^big\.bin\.[0-9a-f]{12}\.partial(\.json(\.tmp)?)?$/.test(name)),
        `only the partial file and its state are left: ${left.join(', ')}`,
      );

      const again = await runCli(['download', `${user}/runs`, '-o', out, '--json'], env);
      assert.equal(again.code, 0, again.stderr);
      const [line] = jsonLines<{ hash: string; size: number; resumedBytes: number; skipped: boolean }>(again.stdout);
      assert.equal(line?.hash, hash);
      assert.equal(line?.skipped, false);
      assert.ok(
        (line?.resumedBytes ?? 0) >= 2 * 8 * MIB && (line?.resumedBytes ?? SIZE) < SIZE,
        `resumed ${line?.resumedBytes} bytes`,
      );
      assert.equal(await sha256File(target), hash);
      assert.deepEqual(await readdir(out), ['big.bin'], 'the partial file and its state are gone');
    });
  });
}
reportS3Skipped('an interrupted download');
