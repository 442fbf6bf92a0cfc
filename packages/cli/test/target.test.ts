import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run } from '../src/bin.ts';
import { UsageError } from '../src/errors.ts';
import { parseFileRef, parseSnapshot, parseSpace, parseSpaceAt, parseSpacePath } from '../src/target.ts';
import { fakeIo } from './io.ts';

const BAD_VERSIONS = ['', 'x', '0', '-1', '1.5', '01', '1e3', ' 1', '9007199254740993', '@2', '3@4'];

function refused(parse: () => unknown, pattern: RegExp): void {
  assert.throws(parse, (error: unknown) => {
    assert.ok(error instanceof UsageError, `a usage error, not ${String(error)}`);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, pattern);
    return true;
  });
}

test('NS/SPACE@N names a snapshot; without @ the head', () => {
  assert.deepEqual(parseSpaceAt('ann/robotics'), { namespace: 'ann', space: 'robotics' });
  assert.deepEqual(parseSpaceAt('ann/robotics@1'), { namespace: 'ann', space: 'robotics', version: 1 });
  assert.deepEqual(parseSpaceAt('ann/v1.2@120'), { namespace: 'ann', space: 'v1.2', version: 120 });
  assert.deepEqual(parseSnapshot('ann/robotics@7'), { namespace: 'ann', space: 'robotics', version: 7 });
});

test('NS/SPACE@N/PATH: a file or folder of a snapshot; the path keeps its slashes and any @', () => {
  assert.deepEqual(parseSpacePath('ann/robotics@3/runs/a@b.csv'), {
    namespace: 'ann',
    space: 'robotics',
    version: 3,
    path: 'runs/a@b.csv',
  });
  assert.deepEqual(parseSpacePath('ann/robotics@3/runs/'), {
    namespace: 'ann',
    space: 'robotics',
    version: 3,
    path: 'runs/',
  });
  assert.deepEqual(parseSpacePath('ann/robotics/runs/'), { namespace: 'ann', space: 'robotics', path: 'runs/' });
  assert.deepEqual(parseSpacePath('ann/robotics'), { namespace: 'ann', space: 'robotics', path: '' });
});

test('every malformed version after @ is a usage error (exit 2) that says what a version is', () => {
  for (const bad of BAD_VERSIONS) {
    for (const parse of [parseSpaceAt, parseSpacePath, parseSnapshot]) {
      refused(() => parse(`ann/robotics@${bad}`), /after "@" is not a version: write a whole number from 1/);
    }
    refused(() => parseSpacePath(`ann/robotics@${bad}/runs/a.csv`), /after "@" is not a version/);
  }
});

test('a snapshot is required where one is restored; refused where things are written', () => {
  refused(() => parseSnapshot('ann/robotics'), /names no snapshot: write NAMESPACE\/SPACE@VERSION/);
  refused(() => parseSpace('ann/robotics@2'), /head, not one of its snapshots: leave out "@2"/);
  refused(() => parseFileRef('ann/robotics@2/a.csv'), /head, not one of its snapshots/);
  assert.deepEqual(parseFileRef('ann/robotics/a/b.csv'), { namespace: 'ann', space: 'robotics', name: 'a/b.csv' });
});

test('a bad namespace or space is still named as before', () => {
  refused(() => parseSpaceAt('Ann/robotics@2'), /namespace "Ann" must match/);
  refused(() => parseSpaceAt('ann/@2'), /space "" must match/);
  refused(() => parseSpacePath('ann'), /"ann" is not NAMESPACE\/SPACE/);
});

test('each command refuses a malformed @VERSION before it reads any setting: one line, exit 2', async () => {
  const env = { DREAMLAKE_HOME: '/nonexistent/dreamlake-home', NO_COLOR: '1' };
  const cases: string[][] = [];
  for (const bad of ['', 'x', '0', '-1', '1.5']) {
    cases.push(
      ['ls', `ann/robotics@${bad}`],
      ['ls', `ann/robotics@${bad}/runs/`],
      ['download', `ann/robotics@${bad}/runs/a.csv`, '-o', '/nonexistent'],
      ['diff', `ann/robotics@${bad}`, 'ann/robotics@2'],
      ['diff', 'ann/robotics@1', `ann/robotics@${bad}`],
      ['restore', `ann/robotics@${bad}`],
      ['verify', `ann/robotics@${bad}`, '/nonexistent'],
    );
  }
  for (const args of cases) {
    const f = fakeIo(env);
    assert.equal(await run(args, f.io), 2, args.join(' '));
    assert.match(
      f.stderr(),
      /^dreamlake: "ann\/robotics@[^"]*" *: .* after "@" is not a version: write a whole number from 1 \(`dreamlake log` lists them\)\n$/,
      args.join(' '),
    );
    assert.equal(f.stdout(), '');
  }
  // Where a command writes to head or lists it all, any @ is refused.
  for (const args of [
    ['upload', '/nonexistent', '--to', 'ann/robotics@2'],
    ['rm', 'ann/robotics@2/a.csv'],
    ['rm', '-r', 'ann/robotics@2/runs/'],
    ['log', 'ann/robotics@2'],
    ['restore', 'ann/robotics'],
  ]) {
    const f = fakeIo(env);
    assert.equal(await run(args, f.io), 2, args.join(' '));
    assert.match(f.stderr(), /^dreamlake: "ann\/robotics(@2)?[^"]*":? .*\n$/, args.join(' '));
  }
});
