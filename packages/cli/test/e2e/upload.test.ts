import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
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
  type UploadLine,
  uniqueName,
} from '../../../../test/e2e/harness.ts';

for (const backend of backends()) {
  describe(`a user's session (${backend.name} backend)`, () => {
    let services: Services;
    let work: string;
    let env: Record<string, string>;
    const user = uniqueName('ann');
    const password = 'correct horse battery staple';
    const space = `${user}/runs`;

    before(async () => {
      services = await Services.start({ backend });
      work = await tempDir('dreamlake-user-');
      env = cliEnv(join(work, 'home'));
    });
    after(async () => {
      await services?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    test('signs up, logs in with --password-stdin, and whoami names the user; the config is 0600', async () => {
      const signup = await runCli(
        ['signup', '--server', services.serverUrl, '--username', user, '--password-stdin'],
        env,
        `${password}\n`,
      );
      assert.equal(signup.code, 0, signup.stderr);
      const login = await runCli(
        ['login', '--server', services.serverUrl, '--username', user, '--password-stdin'],
        env,
        `${password}\n`,
      );
      assert.equal(login.code, 0, login.stderr);
      assert.match(login.stdout, new RegExp(`Logged in to ${services.serverUrl} as ${user}`));
      assert.equal((await stat(join(work, 'home', 'config.json'))).mode & 0o777, 0o600);
      const me = await runCli(['whoami'], env);
      assert.equal(me.code, 0, me.stderr);
      assert.match(me.stdout, new RegExp(`^${user} on ${services.serverUrl}`));
    });

    test('a wrong password fails with one line and exit code 1', async () => {
      const other = cliEnv(join(work, 'other-home'));
      const bad = await runCli(
        ['login', '--server', services.serverUrl, '--username', user, '--password-stdin'],
        other,
        'wrong\n',
      );
      assert.equal(bad.code, 1);
      assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
      assert.match(bad.stderr, /^dreamlake: \w+: .*\(HTTP 401\)$/m);
    });

    test('uploads a file in parts, lists it, downloads it back byte for byte; a re-upload sends nothing', async () => {
      const path = join(work, 'clip.mp4');
      await makeFile(path, 17 * MIB + 12345, 1);
      const up = await runCli(['upload', path, '--to', space, '--json'], env);
      assert.equal(up.code, 0, up.stderr + services.logs());
      const [line] = jsonLines<UploadLine>(up.stdout);
      assert.deepEqual(line && { ...line, contentType: undefined }, {
        hash: await sha256File(path),
        size: 17 * MIB + 12345,
        type: 'videos',
        contentType: undefined,
        namespace: user,
        space: 'runs',
        name: 'clip.mp4',
        partsTotal: 4,
        partsSent: 4,
        skipped: false,
      });

      const ls = await runCli(['ls', space, '--json'], env);
      assert.equal(ls.code, 0, ls.stderr);
      const files = JSON.parse(ls.stdout) as Array<{ name: string; hash: string; size: number; type: string }>;
      assert.deepEqual(
        files.map((f) => [f.name, f.hash, f.size, f.type]),
        [['clip.mp4', line?.hash, line?.size, 'videos']],
      );
      const plain = await runCli(['ls', space], env);
      assert.match(plain.stdout, /17\.0 MiB +videos .*clip\.mp4/);

      const copy = join(work, 'copy.mp4');
      const down = await runCli(['download', `${space}/clip.mp4`, '-o', copy], env);
      assert.equal(down.code, 0, down.stderr);
      assert.ok((await readFile(copy)).equals(await readFile(path)), 'downloaded bytes differ');
      // The same bytes already there: nothing to fetch. Other bytes there: kept unless --force.
      const twice = await runCli(['download', `${space}/clip.mp4`, '-o', copy], env);
      assert.equal(twice.code, 0, twice.stderr);
      await writeFile(copy, 'something else');
      const other = await runCli(['download', `${space}/clip.mp4`, '-o', copy], env);
      assert.equal(other.code, 1);
      assert.match(other.stderr, /copy\.mp4.*already exists.*--force/);
      assert.equal(await readFile(copy, 'utf8'), 'something else', 'the different file is kept');
      const forced = await runCli(['download', `${space}/clip.mp4`, '-o', copy, '--force'], env);
      assert.equal(forced.code, 0, forced.stderr);
      assert.ok((await readFile(copy)).equals(await readFile(path)), 'forced download replaces it');
      const here = join(work, 'here');
      await mkdir(here);
      const inHere = await runCli(['download', `${space}/clip.mp4`], env, undefined, here);
      assert.equal(inHere.code, 0, inHere.stderr);
      assert.ok(
        (await readFile(join(here, 'clip.mp4'))).equals(await readFile(path)),
        'without -o the file lands in the current folder',
      );

      const again = await runCli(['upload', path, '--to', space, '--json'], env);
      assert.equal(again.code, 0, again.stderr);
      const [second] = jsonLines<UploadLine>(again.stdout);
      assert.equal(second?.skipped, true);
      assert.equal(second?.partsSent, 0);
      assert.equal(second?.hash, line?.hash);
    });

    test('uploads a folder under its own name, types detected, in sorted order; plain lines without --json', async () => {
      const folder = join(work, 'run42');
      await mkdir(join(folder, 'sub'), { recursive: true });
      await writeFile(join(folder, 'notes.txt'), 'field notes\n');
      await writeFile(join(folder, 'sub', 'b.csv'), 't,x\n0,1\n');
      await makeFile(join(folder, 'a.mp4'), 6 * MIB, 2);
      const up = await runCli(['upload', folder, '--to', space], env);
      assert.equal(up.code, 0, up.stderr);
      const lines = up.stdout.trim().split('\n');
      assert.equal(lines.length, 4, up.stdout);
      assert.match(lines[0] ?? '', new RegExp(`^${space}/run42/a\\.mp4 +6\\.0 MiB videos +sha256 [0-9a-f]{64}$`));
      assert.match(lines[1] ?? '', /run42\/notes\.txt .* files /);
      assert.match(lines[2] ?? '', /run42\/sub\/b\.csv .* tracks /);
      // Then the one snapshot the run made (the space's second: clip.mp4 made the first).
      assert.match(lines[3] ?? '', new RegExp(`^${space}@2: snapshot 2 made, \\+3 ~0 -0, 4 files \\(.*\\)$`));
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this matches
      assert.doesNotMatch(up.stdout, /\x1b/, 'no terminal codes when stdout is not a terminal');
      assert.match(
        up.stderr,
        /^done: 3 files, [\d.]+ MiB sent in [\d.]+s, [\d.]+ [KMG]?i?B\/s average$/m,
        'a summary of the run on stderr',
      );

      const ls = await runCli(['ls', space, '--json'], env);
      const names = (JSON.parse(ls.stdout) as Array<{ name: string; type: string }>)
        .map((f) => `${f.name}:${f.type}`)
        .sort();
      assert.deepEqual(names, [
        'clip.mp4:videos',
        'run42/a.mp4:videos',
        'run42/notes.txt:files',
        'run42/sub/b.csv:tracks',
      ]);

      const outDir = join(work, 'out');
      await mkdir(outDir);
      const down = await runCli(['download', `${space}/run42/sub/b.csv`, '-o', outDir], env);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await readFile(join(outDir, 'b.csv'), 'utf8'), 't,x\n0,1\n');
    });

    test("usage errors exit 2; writing to someone else's namespace is one line and exit 1", async () => {
      const usage = await runCli(['upload', join(work, 'clip.mp4'), '--to', 'not-a-space'], env);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /NAMESPACE\/SPACE/);
      const noArgs = await runCli(['download'], env, undefined, work);
      assert.equal(noArgs.code, 2);
      assert.equal(noArgs.stderr, "dreamlake: missing required argument 'namespace/space[@N][/path] | link'\n");

      const denied = await runCli(['upload', join(work, 'run42', 'notes.txt'), '--to', 'someone-else/x'], env);
      assert.equal(denied.code, 1);
      const errors = denied.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('dreamlake:'));
      assert.deepEqual(errors.length, 1, denied.stderr);
      assert.match(errors[0] ?? '', /^dreamlake: notes\.txt: forbidden: .*someone-else.*\(HTTP 403\)$/);
      assert.doesNotMatch(denied.stderr, /^\s+at /m, 'no stack trace');

      const missing = await runCli(['download', `${space}/nope.bin`, '-o', join(work, 'nope.bin')], env);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /not_found/);
    });

    test('DREAMLAKE_TOKEN and DREAMLAKE_SERVER override the saved login; logout forgets it', async () => {
      const config = JSON.parse(await readFile(join(work, 'home', 'config.json'), 'utf8')) as { token: string };
      const fresh = cliEnv(join(work, 'fresh-home'), {
        DREAMLAKE_SERVER: services.serverUrl,
        DREAMLAKE_TOKEN: config.token,
      });
      const ls = await runCli(['ls', space], fresh);
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.stdout, /clip\.mp4/);

      const forged = await runCli(['ls', space], { ...fresh, DREAMLAKE_TOKEN: 'not-a-token' });
      assert.equal(forged.code, 1);
      assert.match(forged.stderr, /^dreamlake: unauthorized: .*log in again with `dreamlake login` \(HTTP 401\)$/m);

      const out = await runCli(['logout'], env);
      assert.equal(out.code, 0);
      const after = await runCli(['ls', space], env);
      assert.equal(after.code, 1);
      assert.match(after.stderr, /not logged in/);
    });
  });
}

reportS3Skipped("a user's session");
