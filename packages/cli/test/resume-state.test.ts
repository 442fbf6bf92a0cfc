import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadSettings, writeSavedConfig } from '../src/config.ts';
import { type ResumeState, ResumeStore, resumeDir } from '../src/upload/resume-state.ts';

const scope = { server: 'http://127.0.0.1:10233', namespace: 'alice', space: 'runs', hash: 'a'.repeat(64) };

function state(): ResumeState {
  return {
    ...scope,
    type: 'videos',
    partSize: 5 << 20,
    partsTotal: 3,
    uploadId: 'u1',
    key: 'k1',
    done: {},
    updatedAt: '',
  };
}

test('resume state is saved 0600 in a 0700 folder, read back, and removed', async () => {
  const home = await mkdtemp(join(tmpdir(), 'dreamlake-home-'));
  try {
    const store = new ResumeStore(home, scope);
    assert.equal(await store.load(), null);
    const s = state();
    await store.save(s);
    s.done['1'] = '"etag1"';
    await store.save(s);
    assert.equal((await stat(store.path)).mode & 0o777, 0o600);
    assert.equal((await stat(resumeDir(home))).mode & 0o777, 0o700);
    const loaded = await new ResumeStore(home, scope).load();
    assert.deepEqual(loaded?.done, { '1': '"etag1"' });
    assert.equal(loaded?.uploadId, 'u1');
    assert.deepEqual(
      await readdir(resumeDir(home)),
      [store.path.slice(resumeDir(home).length + 1)],
      'no temp files left',
    );
    await store.remove();
    assert.equal(await store.load(), null);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('each namespace, space, hash and server has its own state', () => {
  const home = '/h';
  const paths = new Set([
    new ResumeStore(home, scope).path,
    new ResumeStore(home, { ...scope, space: 'other' }).path,
    new ResumeStore(home, { ...scope, namespace: 'bob' }).path,
    new ResumeStore(home, { ...scope, hash: 'b'.repeat(64) }).path,
    new ResumeStore(home, { ...scope, server: 'http://other' }).path,
  ]);
  assert.equal(paths.size, 5);
});

test('a corrupt state file is ignored, not fatal', async () => {
  const home = await mkdtemp(join(tmpdir(), 'dreamlake-home-'));
  try {
    const store = new ResumeStore(home, scope);
    await store.save(state());
    await writeFile(store.path, '{ half');
    assert.equal(await store.load(), null);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('config is 0600; DREAMLAKE_SERVER and DREAMLAKE_TOKEN override it; a token is only sent to its server', async () => {
  const home = await mkdtemp(join(tmpdir(), 'dreamlake-home-'));
  try {
    await writeSavedConfig(home, { server: 'http://saved:1', token: 'saved-token', username: 'alice' });
    assert.equal((await stat(join(home, 'config.json'))).mode & 0o777, 0o600);
    const saved = await loadSettings({ DREAMLAKE_HOME: home });
    assert.equal(saved.server, 'http://saved:1');
    assert.equal(saved.token, 'saved-token');
    const env = await loadSettings({
      DREAMLAKE_HOME: home,
      DREAMLAKE_SERVER: 'http://env:2',
      DREAMLAKE_TOKEN: 'env-token',
    });
    assert.equal(env.server, 'http://env:2');
    assert.equal(env.token, 'env-token');
    const elsewhere = await loadSettings({ DREAMLAKE_HOME: home }, { server: 'http://other:3' });
    assert.equal(elsewhere.token, undefined);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
