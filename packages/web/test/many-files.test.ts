import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BROWSER_SKIP } from '../../../support/browser.ts';
import { ROOT, uniqueName } from '../../../test/e2e/harness.ts';
import { browserRig, chooseSpace, signUp, startServices } from './browser-helpers.ts';
import { indexHashes, pageToken } from './folders.ts';

const FILES = 10_000;
/** The limit: after the drop is accepted, no task of the page's thread longer than this. */
const LONG_TASK_MS = 200;

/** About a minute on a 2-core machine: 10,000 files hashed, sent several to a request, one commit. */
describe('the web uploader with a folder of 10,000 files', { skip: BROWSER_SKIP }, () => {
  const rig = browserRig('dreamlake-web-many-', startServices);

  test('the page stays responsive (no long task over 200 ms after the drop is accepted), shows a summary, and the folder lands as one version', {
    timeout: 900_000,
  }, async (t) => {
    const folder = join(rig.dir, 'frames');
    const expected: Record<string, string> = {};
    for (let d = 0; d < 10; d += 1) {
      await mkdir(join(folder, `cam${d}`), { recursive: true });
      await Promise.all(
        Array.from({ length: FILES / 10 }, async (_, i) => {
          const bytes = randomBytes(512 + ((i * 37) % 3000));
          const rel = `cam${d}/f${String(i).padStart(4, '0')}.jpg`;
          await writeFile(join(folder, rel), bytes);
          expected[`frames/${rel}`] = createHash('sha256').update(bytes).digest('hex');
        }),
      );
    }
    const context = await rig.browser.newContext({ viewport: { width: 1200, height: 1000 } });
    const page = await context.newPage();
    // Long tasks of the page's thread, from its start; the test keeps those after the drop's mark.
    await page.addInitScript(() => {
      const seen: Array<{ start: number; duration: number }> = [];
      (globalThis as unknown as { longTasks: typeof seen }).longTasks = seen;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) seen.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    });
    const requests = { grants: 0, bundles: 0, singles: 0, parts: 0, commits: 0, drafts: 0 };
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (path === '/uploads/batch') requests.grants += 1;
      else if (r.method() === 'POST' && path === '/upload/singles') requests.bundles += 1;
      else if (r.method() === 'POST' && path.endsWith('/upload/single/body')) requests.singles += 1;
      else if (r.method() === 'PUT' && path.endsWith('/upload/part')) requests.parts += 1;
      else if (r.method() === 'POST' && /\/commits$/.test(path)) requests.commits += 1;
      else if (r.method() === 'POST' && /\/drafts\/[^/]+\/commit$/.test(path)) requests.drafts += 1;
    });
    const user = uniqueName('many');
    await signUp(page, rig.services.serverUrl, user);
    await chooseSpace(page, 'frames');
    await page.setInputFiles('#drop input[webkitdirectory]', folder);
    await page.waitForFunction(() => (document.querySelector('#commit-status')?.textContent ?? '') !== '', undefined, {
      timeout: 1_700_000,
      polling: 500,
    });
    const status = (await page.textContent('#commit-status')) ?? '';
    assert.match(status, /^Version 1 of .*frames made from 10,000 files: 10000 added, 0 changed, 0 removed\.$/);

    const { accepted, long } = await page.evaluate((limit) => {
      const mark = performance.getEntriesByName('dreamlake:drop-accepted')[0];
      const tasks = (globalThis as unknown as { longTasks: Array<{ start: number; duration: number }> }).longTasks;
      return {
        accepted: mark?.startTime ?? Number.NaN,
        long: tasks.filter((x) => x.start >= (mark?.startTime ?? 0) && x.duration > limit),
      };
    }, LONG_TASK_MS);
    t.diagnostic(
      `grants ${requests.grants}, bundles ${requests.bundles}, single-shot POSTs ${requests.singles}, part PUTs ${requests.parts}`,
    );
    assert.ok(Number.isFinite(accepted), 'the page marked the drop accepted');

    // The queue is summarised: counts, and rows only for what moves or failed (none now).
    assert.equal(await page.getAttribute('#queue-summary', 'data-total'), String(FILES));
    assert.equal(await page.getAttribute('#queue-summary', 'data-done'), String(FILES));
    assert.equal(await page.locator('#queue tbody tr').count(), 0);
    assert.ok(await page.locator('#drop.many').count(), "the Dashboard's own list is hidden");

    // Grants in windows (10,000 files in far fewer requests), small files several to a request, one snapshot.
    assert.ok(requests.grants < FILES, `${requests.grants} batch grants for ${FILES} files`);
    assert.ok(
      requests.bundles > 0 && requests.bundles < FILES / 5,
      `${requests.bundles} requests for ${FILES} small files`,
    );
    assert.equal(requests.singles, 0);
    assert.equal(requests.parts, 0);
    assert.equal(requests.commits + requests.drafts, 1, 'one commit made the version');
    const index = await indexHashes(rig.services.serverUrl, await pageToken(page), user, 'frames');
    assert.deepEqual(index, expected);

    // DREAMLAKE_WEB_SCREENSHOT=docs/web-uploader.png refreshes the README's picture with this drop.
    const shot = process.env.DREAMLAKE_WEB_SCREENSHOT;
    await page.screenshot({ path: shot ? join(ROOT, shot) : join(rig.dir, 'page.png') });
    assert.deepEqual(long, [], `no task over ${LONG_TASK_MS} ms after the drop was accepted`);
    await context.close();
  });
});
