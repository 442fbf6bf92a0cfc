import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BROWSER_SKIP, queueStates, waitForStates } from '../../../support/browser.ts';
import { MIB, makeFile, uniqueName } from '../../../test/e2e/harness.ts';
import { browserRig, chooseSpace, signUp } from './browser-helpers.ts';
import { startServicesWithEnv } from './services-with-env.ts';

describe('the web uploader in a namespace with a quota', { skip: BROWSER_SKIP }, () => {
  const rig = browserRig('dreamlake-web-quota-', () =>
    startServicesWithEnv({ serverEnv: { NAMESPACE_QUOTA_BYTES: String(MIB) } }),
  );

  test("a file over the quota shows the server's message; the others of the folder still upload", async () => {
    const folder = join(rig.dir, 'day1');
    await mkdir(folder, { recursive: true });
    // Just over the quota, so that it is hashed as fast as the small files and asked for with them.
    await makeFile(join(folder, 'big.mp4'), MIB + 64 * 1024, 19);
    const small = Array.from({ length: 40 }, (_, i) => `label${String(i).padStart(3, '0')}.json`);
    for (const [i, name] of small.entries()) await writeFile(join(folder, name), `{"frame":${i}}\n`);
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    const batches: string[][] = [];
    page.on('request', (request) => {
      if (!request.url().endsWith('/uploads/batch')) return;
      const body = request.postDataJSON() as { files: Array<{ filename: string }> };
      batches.push(body.files.map((f) => f.filename));
    });
    await signUp(page, rig.services.serverUrl, uniqueName('quota'));
    await chooseSpace(page, 'day1');
    await page.setInputFiles('#drop input[webkitdirectory]', folder);
    const names = ['day1/big.mp4', ...small.map((name) => `day1/${name}`)];
    await waitForStates(page, names, ['done', 'failed']);
    const states = await queueStates(page);
    for (const name of small) assert.equal(states[`day1/${name}`], 'done', name);
    assert.match(states['day1/big.mp4'] ?? '', /^failed: .*over its quota.*\(too_large\)$/);
    await page.waitForFunction(
      (count) => document.querySelectorAll('#files tbody tr[data-name]').length === count,
      small.length,
    );
    const shared = batches.find((files) => files.includes('day1/big.mp4'));
    console.log(
      `grant batches: ${batches.map((b) => b.length).join(', ')}; big.mp4 asked with ${(shared?.length ?? 1) - 1} others`,
    );
    await context.close();
  });
});
