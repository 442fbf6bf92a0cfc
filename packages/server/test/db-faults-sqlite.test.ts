/**
 * A SQLite database locked by another process (a writer holding its transaction): a write waits
 * out the busy timeout and is answered 503 `unavailable` saying the database is locked, reads go
 * on, the file stays whole, and writes resume once the lock is released.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import SqliteDatabase from 'better-sqlite3';
import { useHarness } from './helpers/harness.ts';

const FILES = 300;
const hashOf = (text: string) => createHash('sha256').update(text).digest('hex');

/** Holds a write transaction on `path` from another process until told to let go. */
async function lockFromAnotherProcess(path: string) {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.prepare('begin exclusive').run();
    db.prepare('create table locker_probe (x)').run();
    process.stdout.write('locked\\n');
    process.stdin.once('data', () => {
      db.prepare('rollback').run();
      db.close();
      process.exit(0);
    });`;
  const child = spawn(process.execPath, ['-e', script, path], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [first] = (await once(child.stdout, 'data')) as [Buffer];
  assert.equal(first.toString().trim(), 'locked');
  return {
    async release() {
      const exited = once(child, 'exit');
      child.stdin.write('release\n');
      const [code] = await exited;
      assert.equal(code, 0, 'the other process let go of its lock');
    },
    kill: () => child.kill('SIGKILL'),
  };
}

describe('a SQLite database locked by another process', () => {
  const h = useHarness('sqlite');

  const grant = (token: string, ns: string, from: number) =>
    h.call('POST', '/uploads/batch', token, {
      namespace: ns,
      space: 'robotics',
      files: Array.from({ length: FILES }, (_, i) => {
        const hash = hashOf(`file ${from + i}`);
        return {
          filename: `${from + i}.bin`,
          hash,
          contentType: 'application/octet-stream',
          type: 'files',
          size: 1000,
        };
      }),
    });

  test(`${FILES} grants: 503 unavailable while locked, reads go on, writes resume once released, no corruption`, {
    timeout: 60_000,
  }, async (t) => {
    const alice = await h.user('alice');
    assert.equal((await grant(alice.token, alice.name, 0)).statusCode, 200);

    const lock = await lockFromAnotherProcess(h.config.databaseUrl);
    t.after(() => lock.kill());

    const refused = await grant(alice.token, alice.name, FILES);
    assert.equal(refused.statusCode, 503, refused.body);
    assert.equal(refused.json().error.code, 'unavailable');
    assert.match(refused.json().error.message, /database is locked/);
    assert.equal(refused.headers['retry-after'], '2');
    const signup = await h.call('POST', '/auth/signup', undefined, {
      username: 'bob',
      password: 'correct horse battery',
    });
    assert.equal(signup.statusCode, 503, signup.body);

    const read = await h.call('GET', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token);
    assert.equal(read.statusCode, 200, `reads are served while another process writes: ${read.body}`);

    await lock.release();
    const granted = await grant(alice.token, alice.name, FILES);
    assert.equal(granted.statusCode, 200, granted.body);
    assert.equal(granted.json().files.length, FILES);
    assert.equal((await h.user('carol')).name.startsWith('carol'), true);

    const check = new SqliteDatabase(h.config.databaseUrl, { readonly: true });
    try {
      assert.deepEqual(check.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
      const locker = check.prepare("select count(*) as n from sqlite_master where name = 'locker_probe'").get() as {
        n: number;
      };
      assert.equal(locker.n, 0, "the other process's rolled back write left nothing");
    } finally {
      check.close();
    }
  });
});
