import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { run } from '../src/bin.ts';
import { fakeIo } from './io.ts';

const env = { DREAMLAKE_HOME: '/nonexistent/dreamlake-home', NO_COLOR: '1' };

test('--version and -V print the package version and exit 0', async () => {
  const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  for (const flag of ['--version', '-V']) {
    const f = fakeIo(env);
    assert.equal(await run([flag], f.io), 0, flag);
    assert.equal(f.stdout(), `${version}\n`);
    assert.equal(f.stderr(), '');
  }
});

test("commander's usage errors read like the CLI's own: one `dreamlake: ` line, exit 2", async () => {
  const cases: Array<[string[], RegExp]> = [
    [['ls'], /^dreamlake: missing required argument 'namespace\/space\[@N\]\[\/prefix\]'\n$/],
    [['upload', 'x.bin'], /^dreamlake: required option '--to <namespace\/space>' not specified\n$/],
    [['ls', 'alice/runs', '--bogus'], /^dreamlake: unknown option '--bogus'\n$/],
    [['frobnicate'], /^dreamlake: unknown command 'frobnicate'\n$/],
    [['ls', 'alice'], /^dreamlake: "alice" is not NAMESPACE\/SPACE\n$/],
  ];
  for (const [args, expected] of cases) {
    const f = fakeIo(env);
    assert.equal(await run(args, f.io), 2, args.join(' '));
    assert.match(f.stderr(), expected);
    assert.equal(f.stdout(), '');
  }
});
