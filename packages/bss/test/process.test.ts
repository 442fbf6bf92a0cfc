import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startProcess, startService, stopChild } from '../../../support/process.ts';
import { httpPut, SECRET, sha256, signedQuery, tempDir } from './helpers.ts';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

test('main starts BSS from the environment, logs without signatures, and stops on SIGTERM', async (t) => {
  const temp = await tempDir();
  t.after(() => temp.remove());
  const bss = await startService(main, {
    env: { PRESIGN_SECRETS: SECRET, BSS_PORT: '0', DREAMLAKE_DATA_DIR: temp.dir, LOG_LEVEL: 'info' },
    what: 'BSS',
  });
  t.after(() => stopChild(bss, 'SIGKILL'));
  const { url } = bss;
  const out = () => bss.output.join('');

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
  bss.child.kill('SIGTERM');
  const { code } = await bss.done;
  assert.equal(code, 0);
  // Read once it has stopped: every line it wrote is in.
  assert.match(out(), /\[REDACTED\]/, 'request URLs are logged, redacted');
  assert.ok(!out().includes(sig) && !out().includes(partSig), 'no signature reaches the log');
  assert.ok(!out().includes(SECRET), 'the secret never reaches the log');
});

test('main refuses to start without secrets and says why in one line', async () => {
  const { code, stderr } = await runToEnd(main, {});
  assert.equal(code, 1);
  assert.match(stderr, /PRESIGN_SECRETS/);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
});

async function runToEnd(script: string, env: Record<string, string>) {
  const proc = startProcess(script, { env });
  const { code } = await proc.done;
  return { code, stderr: proc.stderr.join('') };
}
