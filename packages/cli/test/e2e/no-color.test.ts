import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MIB, makeFile, Services, signupToken, tempDir, uniqueName } from '../../../../test/e2e/harness.ts';
import { run } from '../../src/bin.ts';
import { fakeIo } from '../io.ts';

// An upload on a terminal paints its progress bars; NO_COLOR in the environment turns that off.
// biome-ignore lint/suspicious/noControlCharactersInRegex: colour codes are what this matches
const COLOUR = /\x1b\[\d+m/;

let services: Services;
let work: string;
let token: string;
let user: string;

before(async () => {
  services = await Services.start({ backend: { name: 'fs', env: { STORAGE: 'fs' } } });
  work = await tempDir('dreamlake-no-color-');
  user = uniqueName('colour');
  token = await signupToken(services.serverUrl, user);
});
after(async () => {
  await services?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

async function uploadOnTerminal(name: string, extra: Record<string, string>): Promise<string> {
  const path = join(work, name);
  await makeFile(path, 12 * MIB, name.length);
  const env = { DREAMLAKE_HOME: join(work, 'home'), DREAMLAKE_TOKEN: token, ...extra };
  const { io, stdout, stderr } = fakeIo(env, { tty: true });
  const code = await run(['upload', path, '--to', `${user}/colours`, '--server', services.serverUrl], io);
  assert.equal(code, 0, stderr() + services.logs());
  return stdout();
}

test('NO_COLOR set: the live progress on a terminal has no colour codes', async () => {
  const shown = await uploadOnTerminal('plain.bin', { NO_COLOR: '1' });
  assert.match(shown, /plain\.bin/);
  assert.doesNotMatch(shown, COLOUR);
});

test('NO_COLOR unset: the same upload paints its bar (so the test above can fail)', async () => {
  const shown = await uploadOnTerminal('painted.bin', {});
  assert.match(shown, COLOUR);
});
