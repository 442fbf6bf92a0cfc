import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
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
  tempDir,
  uniqueName,
} from '../../../../test/e2e/harness.ts';

interface DownloadLine {
  namespace: string;
  space: string;
  name: string;
  path: string;
  hash: string;
  size: number;
  skipped: boolean;
  resumedBytes: number;
  error?: string;
}

/** Every file under a folder, as relative path → bytes. */
async function tree(dir: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) await walk(path);
      else found.set(relative(dir, path).split('\\').join('/'), await readFile(path));
    }
  };
  await walk(dir);
  return found;
}

for (const backend of backends()) {
  describe(`downloading a space or a folder (${backend.name} backend)`, () => {
    let services: Services;
    let work: string;
    let env: Record<string, string>;
    let source: string;
    const user = uniqueName('dl');
    const space = () => `${user}/data`;

    before(async () => {
      services = await Services.start({ backend });
      work = await tempDir('dreamlake-download-tree-');
      env = cliEnv(join(work, 'home'));
      const signup = await runCli(
        ['signup', '--server', services.serverUrl, '--username', user, '--password-stdin'],
        env,
        'a long enough password\n',
      );
      assert.equal(signup.code, 0, signup.stderr);
      source = join(work, 'source');
      await mkdir(join(source, 'run1', 'cams'), { recursive: true });
      await mkdir(join(source, 'run2'), { recursive: true });
      for (let i = 0; i < 12; i += 1) await writeFile(join(source, 'run1', 'cams', `frame-${i}.jpg`), `frame ${i}\n`);
      await writeFile(join(source, 'run1', 'labels.jsonl'), '{"a":1}\n');
      await writeFile(join(source, 'run2', 'empty.csv'), '');
      // Larger than one range: fetched as several ranged GETs at once.
      await makeFile(join(source, 'run2', 'big.mkv'), 21 * MIB + 5, 3);
      const up = await runCli(['upload', join(source, 'run1'), join(source, 'run2'), '--to', space()], env);
      assert.equal(up.code, 0, up.stderr);
    });
    after(async () => {
      await services?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    test('a whole space comes down with its folders recreated, every byte verified; a re-run skips every file', async () => {
      const out = join(work, 'whole');
      const first = await runCli(['download', space(), '-o', out, '--json'], env);
      assert.equal(first.code, 0, first.stderr);
      const lines = jsonLines<DownloadLine>(first.stdout);
      assert.equal(lines.length, 15);
      assert.ok(lines.every((l) => !l.skipped && l.namespace === user && l.space === 'data'));
      const want = await tree(source);
      const got = await tree(out);
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      for (const [name, bytes] of want) assert.ok(got.get(name)?.equals(bytes), `${name} differs`);
      assert.match(first.stderr, /^done: 15 downloaded, 0 already there, 0 failed/m);

      const again = await runCli(['download', space(), '-o', out, '--json'], env);
      assert.equal(again.code, 0, again.stderr);
      const second = jsonLines<DownloadLine>(again.stdout);
      assert.equal(second.length, 15);
      assert.ok(
        second.every((l) => l.skipped),
        'files already there with the same SHA-256 are skipped',
      );
      assert.match(again.stderr, /done: 0 downloaded, 15 already there, 0 failed, into .*; 0 B received/);
    });

    test('a folder prefix comes down relative to that folder, into a folder of its name by default', async () => {
      const here = await tempDir('dreamlake-download-here-');
      const r = await runCli(['download', `${space()}/run1/cams`], env, undefined, here);
      assert.equal(r.code, 0, r.stderr);
      const got = await tree(join(here, 'cams'));
      assert.equal(got.size, 12);
      assert.equal(got.get('frame-3.jpg')?.toString(), 'frame 3\n');
      assert.match(r.stdout, /cams\/frame-0\.jpg {2}8 B {2}sha256 [0-9a-f]{64} verified\n/);
      await rm(here, { recursive: true, force: true });
    });

    test('a changed local file is kept without --force and named; --force puts the stored one back', async () => {
      const out = join(work, 'changed');
      assert.equal((await runCli(['download', `${space()}/run1`, '-o', out], env)).code, 0);
      const labels = join(out, 'labels.jsonl');
      await writeFile(labels, 'mine\n');
      const refused = await runCli(['download', `${space()}/run1`, '-o', out], env);
      assert.equal(refused.code, 1);
      assert.ok(refused.stderr.includes(`${labels} already exists: pass --force to overwrite it`), refused.stderr);
      assert.match(refused.stderr, /dreamlake: 1 of 13 files failed/);
      assert.equal(await readFile(labels, 'utf8'), 'mine\n');

      const forced = await runCli(['download', `${space()}/run1`, '-o', out, '--force'], env);
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal(await readFile(labels, 'utf8'), '{"a":1}\n');
    });

    test('a symbolic link in the target folder leading elsewhere is refused and nothing is written through it', async () => {
      const out = join(work, 'linked');
      const elsewhere = join(work, 'elsewhere');
      await mkdir(out, { recursive: true });
      await mkdir(elsewhere, { recursive: true });
      await symlink(elsewhere, join(out, 'cams'));
      const r = await runCli(['download', `${space()}/run1`, '-o', out], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /refused "run1\/cams\/frame-0\.jpg": .*symbolic link leading outside the target folder/);
      assert.deepEqual(await readdir(elsewhere), []);
      assert.equal(await readFile(join(out, 'labels.jsonl'), 'utf8'), '{"a":1}\n', 'the other files still come');
    });

    test('a space or folder that does not exist, or one the caller cannot read, is one line and exit 1', async () => {
      for (const ref of [`${user}/nope`, `${space()}/no-such-folder`, 'someone-else/data']) {
        const r = await runCli(['download', ref, '-o', join(work, 'none')], env);
        assert.equal(r.code, 1, ref);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /^dreamlake: not_found: /);
      }
    });
  });
}
reportS3Skipped('downloading a space or a folder');
