/**
 * BSS's periodic sweep, as `startBss` runs it: with SWEEP_INTERVAL_SECONDS=1 an upload last
 * active before STALE_UPLOAD_HOURS is removed by a tick of the running service, while an upload
 * active within that window, seen by the same passes, stays.
 */
import assert from 'node:assert/strict';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startBss } from '../src/start.ts';
import { sha256, tempDir, testConfig, uploadPaths } from './helpers.ts';

/** Every file and folder under `dir`, depth first. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await tree(path)));
    out.push(path);
  }
  return out;
}

test('the running service sweeps an upload idle past STALE_UPLOAD_HOURS on its interval and keeps a fresh one', async (t) => {
  const temp = await tempDir('bss-periodic-sweep-');
  const config = testConfig(temp.dir, { SWEEP_INTERVAL_SECONDS: '1', STALE_UPLOAD_HOURS: '24', PORT: '0' });
  const bss = await startBss(config);
  t.after(async () => {
    await bss.close();
    await temp.remove();
  });
  const open = async (project: string) => {
    const hash = sha256(Buffer.from(project));
    const paths = uploadPaths('files', { owner: 'sam', project, hash });
    const res = await fetch(`${bss.url}${paths.init}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contentType: 'application/octet-stream' }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { uploadId, key } = (await res.json()) as { uploadId: string; key: string };
    return { dir: join(temp.dir, 'bss', 'uploads', 'sam', project), uploadId, key, paths };
  };
  const stale = await open('stale');
  const fresh = await open('fresh');
  // The stale upload was last touched two days ago.
  const old = new Date(Date.now() - 48 * 3600_000);
  for (const path of [...(await tree(stale.dir)), stale.dir]) await utimes(path, old, old);

  // Waits for the service's own tick (the interval is the gate): bounded, then it fails.
  const gone = async (dir: string) => (await readdir(dir).catch(() => null)) === null;
  const deadline = Date.now() + 60_000;
  while (!(await gone(stale.dir))) {
    assert.ok(Date.now() < deadline, 'no sweep removed the stale upload within 60 s of 1 s ticks');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(await gone(fresh.dir), false, 'the fresh upload was swept');
  assert.ok((await tree(fresh.dir)).length > 0);
});
