import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildServerApp, type DB, openDatabase, runAdminCommand } from '../src/index.ts';
import { createTestDatabase, forEachEngine, type TestDatabase } from './helpers/engines.ts';
import { testConfig } from './helpers/harness.ts';
import { runScript } from './helpers/spawn.ts';

async function admin(databaseUrl: string, args: string[], stdin: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAdminCommand(args, {
    env: { DATABASE_URL: databaseUrl, SCRYPT_LOG_N: '10' },
    readPassword: async () => stdin,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function canLogin(databaseUrl: string, username: string, password: string): Promise<number> {
  const config = testConfig({ databaseUrl, allowSignup: false });
  let db: DB | undefined;
  try {
    db = await openDatabase(config);
    const app = await buildServerApp({ config, db });
    const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { username, password } });
    await app.close();
    return res.statusCode;
  } finally {
    await db?.destroy();
  }
}

forEachEngine((engine) => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase(engine);
  });
  after(() => database?.drop());

  test('the admin command adds a user who can then log in, and changes passwords', async () => {
    const added = await admin(database.url, ['add-user', 'shelly', '--password-stdin'], 'first password\n');
    assert.equal(added.code, 0, added.err);
    assert.equal(added.out, 'created user shelly with personal namespace shelly');
    assert.equal(await canLogin(database.url, 'shelly', 'first password'), 200);

    const again = await admin(database.url, ['add-user', 'shelly', '--password-stdin'], 'first password\n');
    assert.equal(again.code, 1);
    assert.match(again.err, /taken/);

    const changed = await admin(database.url, ['set-password', 'shelly', '--password-stdin'], 'second password\r\n');
    assert.equal(changed.code, 0, changed.err);
    assert.equal(changed.out, 'password changed for shelly');
    assert.equal(await canLogin(database.url, 'shelly', 'first password'), 401);
    assert.equal(await canLogin(database.url, 'shelly', 'second password'), 200);

    assert.equal(
      (await admin(database.url, ['set-password', 'nobody', '--password-stdin'], 'second password')).code,
      1,
    );
    assert.equal((await admin(database.url, ['add-user', 'shorty', '--password-stdin'], 'short')).code, 1);
  });
});

test('usage errors exit 2 before touching any database, each one line prefixed dreamlake-admin:', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['add-user', 'Bad Name', '--password-stdin'], /invalid name "Bad Name"/],
    [['add-user', 'noflag'], /pass --password-stdin/],
    [['remove-user', 'x', '--password-stdin'], /unknown command "remove-user"/],
    [['add-user', '--bogus'], /Unknown option '--bogus'/],
    [[], /missing command/],
  ];
  for (const [args, expected] of cases) {
    const result = await admin('/nonexistent/dir/never.sqlite', args, 'whatever123');
    assert.equal(result.code, 2, args.join(' '));
    assert.equal(result.out, '');
    assert.equal(result.err.split('\n').length, 1, result.err);
    assert.match(result.err, /^dreamlake-admin: .* \(run with --help for usage\)$/);
    assert.match(result.err, expected);
  }
});

test('--help and -h print the usage and exit 0', async () => {
  for (const flag of ['--help', '-h']) {
    const result = await admin('/nonexistent/dir/never.sqlite', [flag], '');
    assert.equal(result.code, 0, result.err);
    assert.equal(result.err, '');
    assert.match(result.out, /^usage: admin\.ts add-user NAME --password-stdin/);
    assert.match(result.out, /set-password NAME --password-stdin/);
  }
});

test('failures are one line prefixed dreamlake-admin: and exit 1', async () => {
  const short = await admin('/nonexistent/dir/never.sqlite', ['add-user', 'shorty', '--password-stdin'], 'short');
  assert.equal(short.code, 1);
  assert.equal(short.err, 'dreamlake-admin: the password must be at least 8 characters');
  // Port 1 on the loopback: nothing listens there, so the connection is refused at once.
  const unreachable = await admin(
    'postgres://nobody@127.0.0.1:1/none',
    ['add-user', 'nobody', '--password-stdin'],
    'long enough password',
  );
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.err, /^dreamlake-admin: [^\n]*ECONNREFUSED[^\n]*$/);
});

test('the admin script reads the password from stdin and prints one line', async () => {
  const database = await createTestDatabase('sqlite');
  try {
    const run = await runScript(
      'admin.ts',
      ['add-user', 'scripted', '--password-stdin'],
      { DATABASE_URL: database.url, SCRYPT_LOG_N: '10' },
      'piped password\n',
    ).done;
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'created user scripted with personal namespace scripted\n');
    assert.equal(await canLogin(database.url, 'scripted', 'piped password'), 200);
    const help = await runScript('admin.ts', ['--help'], {}).done;
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage: admin\.ts add-user NAME --password-stdin/);
    assert.equal(help.stderr, '');
  } finally {
    await database.drop();
  }
});
