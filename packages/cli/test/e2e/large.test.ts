import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
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
  tempDir,
  uniqueName,
} from '../../../../test/e2e/harness.ts';

// One real-size upload per backend: 1 GiB through the CLI binary, then back down, byte for byte.
const SIZE = 1024 * MIB;

for (const backend of backends()) {
  describe(`a 1 GiB upload (${backend.name} backend)`, () => {
    let services: Services;
    let work: string;
    let env: Record<string, string>;
    const user = uniqueName('big');

    before(async () => {
      services = await Services.start({ backend });
      work = await tempDir('dreamlake-large-');
      env = cliEnv(join(work, 'home'));
      const signup = await runCli(
        ['signup', '--server', services.serverUrl, '--username', user, '--password-stdin'],
        env,
        'a long enough password\n',
      );
      assert.equal(signup.code, 0, signup.stderr);
    });
    after(async () => {
      await services?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    test('uploads in parts, lists it, and downloads the same bytes', { timeout: 600_000 }, async () => {
      const path = join(work, 'drive.mkv');
      await makeFile(path, SIZE, 7);
      const hash = await sha256File(path);

      const up = await runCli(['upload', path, '--to', `${user}/drives`, '--json'], env);
      assert.equal(up.code, 0, up.stderr + services.logs());
      const [line] = jsonLines<{ hash: string; size: number; partsTotal: number; partsSent: number; type: string }>(
        up.stdout,
      );
      assert.equal(line?.hash, hash);
      assert.equal(line?.size, SIZE);
      assert.equal(line?.type, 'videos');
      assert.ok((line?.partsTotal ?? 0) > 1);
      assert.equal(line?.partsSent, line?.partsTotal);

      const ls = await runCli(['ls', `${user}/drives`, '--json'], env);
      assert.equal(ls.code, 0, ls.stderr);
      assert.deepEqual(
        (JSON.parse(ls.stdout) as Array<{ name: string; size: number }>).map((f) => [f.name, f.size]),
        [['drive.mkv', SIZE]],
      );

      await rm(path);
      const copy = join(work, 'copy.mkv');
      const down = await runCli(['download', `${user}/drives/drive.mkv`, '-o', copy], env);
      assert.equal(down.code, 0, down.stderr + services.logs());
      assert.equal(await sha256File(copy), hash);
    });
  });
}
reportS3Skipped('a 1 GiB upload');
