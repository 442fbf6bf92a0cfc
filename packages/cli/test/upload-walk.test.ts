/**
 * What an upload of a folder takes from the disk: regular files and folders, never what a symbolic
 * link inside it points at (a shared folder holding `notes -> ~/.ssh` must not send the keys, and
 * links back up the tree must not make the walk run away); names a space would refuse stop the
 * run before anything is sent.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../src/bin.ts';
import { collectFiles, type SkippedEntry } from '../src/upload/files.ts';
import { fakeIo } from './io.ts';

let work: string;
let shared: string;
let secret: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'dreamlake-walk-'));
  secret = join(work, 'home', '.ssh');
  await mkdir(secret, { recursive: true });
  await writeFile(join(secret, 'id_ed25519'), 'PRIVATE KEY');
  shared = join(work, 'shared');
  await mkdir(join(shared, 'sub'), { recursive: true });
  for (let i = 0; i < 300; i += 1) {
    const at = i % 2 === 0 ? shared : join(shared, 'sub');
    await writeFile(join(at, `f${String(i).padStart(3, '0')}.txt`), `file ${i}`);
  }
  await symlink(secret, join(shared, 'notes'));
  await symlink(join(secret, 'id_ed25519'), join(shared, 'key.txt'));
  await symlink('..', join(shared, 'up'));
  await symlink('..', join(shared, 'sub', 'up'));
  await symlink('../..', join(shared, 'sub', 'upup'));
  await symlink('.', join(shared, 'sub', 'self'));
  await symlink(join(work, 'nowhere'), join(shared, 'dangling'));
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('a folder walk skips every symbolic link and says which, so links to secrets or to ".." send nothing', async () => {
  const skipped: SkippedEntry[] = [];
  const started = Date.now();
  const files = await collectFiles([shared], { onSkipped: (entry) => skipped.push(entry) });
  assert.ok(Date.now() - started < 10_000, 'the walk ends');
  assert.equal(files.length, 300, 'the 300 regular files, nothing more');
  assert.ok(
    files.every((f) => /^shared\/(sub\/)?f\d{3}\.txt$/.test(f.name)),
    files.map((f) => f.name).join(' '),
  );
  assert.ok(!files.some((f) => f.path.startsWith(secret)), 'nothing under the linked secret folder');
  assert.deepEqual(skipped.map((s) => [s.name, s.reason, s.target]).sort(), [
    ['shared/dangling', 'symlink', join(work, 'nowhere')],
    ['shared/key.txt', 'symlink', join(secret, 'id_ed25519')],
    ['shared/notes', 'symlink', secret],
    ['shared/sub/self', 'symlink', '.'],
    ['shared/sub/up', 'symlink', '..'],
    ['shared/sub/upup', 'symlink', '../..'],
    ['shared/up', 'symlink', '..'],
  ]);
  assert.equal(skipped.find((s) => s.name === 'shared/notes')?.path, join(shared, 'notes'));
});

test('a symbolic link given on the command line is followed (it was asked for by name); links inside it are not', async () => {
  const link = join(work, 'shared-link');
  await symlink(shared, link);
  const skipped: SkippedEntry[] = [];
  const files = await collectFiles([link, join(shared, 'key.txt')], { onSkipped: (entry) => skipped.push(entry) });
  assert.equal(files.length, 301);
  assert.ok(files.some((f) => f.name === 'shared-link/sub/f001.txt'));
  assert.deepEqual(
    files.filter((f) => f.name === 'key.txt').map((f) => f.size),
    ['PRIVATE KEY'.length],
    'the file link named on the command line is taken',
  );
  assert.ok(skipped.some((s) => s.name === 'shared-link/notes'));
});

test('dreamlake upload says what it skipped, as a line on stderr or a JSON event on stdout', async () => {
  // A server that refuses every token: the run stops at its first request, after the walk.
  const refusing = createServer((_req, res) => {
    res.statusCode = 401;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ error: { code: 'unauthorized', message: 'no' } }));
  });
  refusing.listen(0, '127.0.0.1');
  await once(refusing, 'listening');
  const { port } = refusing.address() as AddressInfo;
  after(() => refusing.close());
  const env = {
    DREAMLAKE_HOME: join(work, 'cli-home'),
    DREAMLAKE_SERVER: `http://127.0.0.1:${port}`,
    DREAMLAKE_TOKEN: 't',
    NO_COLOR: '1',
  };
  const plain = fakeIo(env);
  assert.equal(await run(['upload', shared, '--to', 'ann/runs'], plain.io), 1);
  assert.ok(
    plain.stderr().includes(`skipped shared/notes: a symbolic link (to ${secret}), not followed`),
    plain.stderr(),
  );
  assert.match(plain.stderr(), /skipped shared\/sub\/up: a symbolic link \(to \.\.\), not followed/);

  const json = fakeIo(env);
  assert.equal(await run(['upload', shared, '--to', 'ann/runs', '--json'], json.io), 1);
  const events = json
    .stdout()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(events.length, 7);
  assert.deepEqual(
    events.find((e) => e.name === 'shared/notes'),
    { event: 'skipped', reason: 'symlink', name: 'shared/notes', path: join(shared, 'notes'), target: secret },
  );
});

test('a name the space would refuse (a bidirectional override, a zero-width space) stops the run before anything is sent', async () => {
  const dir = join(work, 'names');
  await mkdir(dir);
  await writeFile(join(dir, 'invoice\u202Efdp.exe'), 'x');
  await writeFile(join(dir, 'fine.txt'), 'y');
  await assert.rejects(collectFiles([dir]), (error: Error) => {
    assert.match(error.message, /names\/invoice\\u\{202E\}fdp\.exe/, 'the character is shown escaped');
    assert.match(error.message, /bidirectional control characters \(U\+202E\)/);
    assert.ok(!error.message.includes('\u202E'), 'the message does not reorder the terminal line');
    return true;
  });
  const env = {
    DREAMLAKE_HOME: join(work, 'cli-home'),
    DREAMLAKE_SERVER: 'http://127.0.0.1:9',
    DREAMLAKE_TOKEN: 't',
    NO_COLOR: '1',
  };
  const f = fakeIo(env);
  assert.equal(await run(['upload', dir, '--to', 'ann/runs'], f.io), 1);
  assert.match(f.stderr(), /U\+202E/);
  assert.doesNotMatch(f.stderr(), /ECONNREFUSED|fetch failed|network/i, 'refused before any request');
});
