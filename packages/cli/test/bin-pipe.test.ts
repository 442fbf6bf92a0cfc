import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/dreamlake.js', import.meta.url));

/** Runs the command with its stdout a pipe whose reader has already gone (`dreamlake … | head -0`). */
function runIntoClosedPipe(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, DREAMLAKE_HOME: '/nonexistent/dreamlake-home', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('a reader that stops early (`dreamlake --help | head -1`) ends the command quietly, as a closed pipe ends ls or cat', async () => {
  for (const args of [['--help'], ['upload', '--help'], ['sync', '--help'], ['download', '--help'], ['--version']]) {
    const { code, stderr } = await runIntoClosedPipe(args);
    assert.equal(stderr, '', `${args.join(' ')}: nothing on stderr, no stack trace`);
    assert.equal(code, 141, `${args.join(' ')}: the status of a command ended by a closed pipe (128 + SIGPIPE)`);
  }
});
