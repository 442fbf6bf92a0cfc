import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { httpPut, SECRET, sha256, signedQuery, tempDir } from './helpers.ts';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

test('main starts BSS from the environment, logs without signatures, and stops on SIGTERM', async (t) => {
  const temp = await tempDir();
  t.after(() => temp.remove());
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      PATH: process.env.PATH ?? '',
      PRESIGN_SECRETS: SECRET,
      BSS_PORT: '0',
      DREAMLAKE_DATA_DIR: temp.dir,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  let url: string | undefined;
  for (let i = 0; i < 200 && !url; i += 1) {
    await new Promise((r) => setTimeout(r, 50));
    url = /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
  }
  assert.ok(url, `BSS did not report ready: ${out}`);

  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  const hash = sha256(Buffer.from('hello'));
  const query = signedQuery('upload-init', { owner: 'erin', project: 'p', hash });
  const init = await fetch(`${url}/files/upload/multipart/init?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ contentType: 'text/plain' }),
  });
  const { uploadId, key } = (await init.json()) as { uploadId: string; key: string };
  const parts = await fetch(
    `${url}/files/upload/multipart/parts?${signedQuery('upload-parts', { owner: 'erin', project: 'p', hash })}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uploadId, key, partNumbers: [1] }),
    },
  );
  const partUrl = ((await parts.json()) as { parts: Record<string, string> }).parts['1'] as string;
  assert.ok(partUrl.startsWith(`${url}/upload/part?`), `part URLs point at the bound port: ${partUrl}`);
  assert.equal((await httpPut(partUrl, Buffer.from('hello'))).status, 200);

  const sig = new URLSearchParams(query).get('sig') as string;
  const partSig = new URL(partUrl).searchParams.get('sig') as string;
  await new Promise((r) => setTimeout(r, 100));
  assert.match(out, /\[REDACTED\]/, 'request URLs are logged, redacted');
  assert.ok(!out.includes(sig) && !out.includes(partSig), 'no signature reaches the log');
  assert.ok(!out.includes(SECRET), 'the secret never reaches the log');

  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
});

test('main refuses to start without secrets and says why in one line', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const [code] = await once(child, 'exit');
  assert.equal(code, 1);
  assert.match(err, /PRESIGN_SECRETS/);
  assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
});
