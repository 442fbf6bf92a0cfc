import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cliEnv, runCli, Services, tempDir, uniqueName } from './harness.ts';

const PASSWORD = 'a long enough password';

let services: Services;
let work: string;
before(async () => {
  services = await Services.start({ backend: { name: 'fs', env: { STORAGE: 'fs' } } });
  work = await tempDir('dreamlake-read-token-');
});
after(async () => {
  await services?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test('`dreamlake download NS/SPACE` works with a read-only access token', async () => {
  const user = uniqueName('reader');
  const env = cliEnv(join(work, 'home'));
  const signup = await runCli(
    ['signup', '--server', services.serverUrl, '--username', user, '--password-stdin'],
    env,
    `${PASSWORD}\n`,
  );
  assert.equal(signup.code, 0, signup.stderr);
  const source = join(work, 'source');
  await mkdir(join(source, 'run'), { recursive: true });
  await writeFile(join(source, 'run', 'a.txt'), 'first\n');
  await writeFile(join(source, 'run', 'b.txt'), 'second\n');
  const up = await runCli(['upload', join(source, 'run'), '--to', `${user}/data`], env);
  assert.equal(up.code, 0, up.stderr);

  const jwt = JSON.parse(await readFile(join(work, 'home', 'config.json'), 'utf8')).token as string;
  const minted = await fetch(`${services.serverUrl}/auth/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'reader', scopes: ['read'], password: PASSWORD }),
  });
  assert.equal(minted.status, 201, await minted.clone().text());
  const pat = ((await minted.json()) as { token: string }).token;

  const machine = cliEnv(join(work, 'machine'), { DREAMLAKE_SERVER: services.serverUrl, DREAMLAKE_TOKEN: pat });
  const out = join(work, 'out');
  const down = await runCli(['download', `${user}/data`, '-o', out], machine);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(await readFile(join(out, 'run', 'a.txt'), 'utf8'), 'first\n');
  assert.equal(await readFile(join(out, 'run', 'b.txt'), 'utf8'), 'second\n');
  // Still read-only.
  const upload = await runCli(['upload', join(source, 'run'), '--to', `${user}/more`], machine);
  assert.equal(upload.code, 1);
  assert.match(upload.stderr, /forbidden/);
});
