import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Route } from 'playwright-core';
import { BROWSER_SKIP, queueStates, waitForStates } from '../../../support/browser.ts';
import { uniqueName } from '../../../test/e2e/harness.ts';
import { browserRig, chooseSpace, signUp, startServices } from './browser-helpers.ts';
import { bssRequests, gate, indexHashes, mixedFolder, pageToken, quickWatchdog } from './folders.ts';

describe('the web queue: every file finishes or fails with a reason', { skip: BROWSER_SKIP }, () => {
  const rig = browserRig('dreamlake-web-queue-', startServices);

  test('a folder of 224 files from 1 KB to 30 MiB, dropped three times into fresh spaces: every row done, every SHA-256 in the index', async (t) => {
    for (const run of [1, 2, 3]) {
      const before = await bssRequests(rig.services.bssUrl);
      // A fresh page each run: once it holds files, the Dashboard shows them instead of its inputs.
      const context = await rig.browser.newContext();
      const page = await context.newPage();
      const user = uniqueName('frames');
      await signUp(page, rig.services.serverUrl, user);
      // New bytes each run, so that every run sends every file (nothing is already stored).
      const expected = await mixedFolder(rig.dir, `take${run}`, { small: 210, medium: 12, large: 2 }, run);
      const names = Object.keys(expected);
      await chooseSpace(page, `frames-${run}`);
      await page.setInputFiles('#drop input[webkitdirectory]', join(rig.dir, `take${run}`));
      try {
        await waitForStates(page, names, ['done', 'failed'], 600_000);
      } catch (error) {
        const states = await queueStates(page);
        t.diagnostic(`run ${run}: ${JSON.stringify(Object.entries(states).filter(([, s]) => s !== 'done'))}`);
        t.diagnostic(`summary: ${await page.textContent('#queue-summary')}`);
        throw error;
      }
      const states = await queueStates(page);
      assert.deepEqual(
        names.filter((n) => !/^done$/.test(states[n] ?? '')).map((n) => `${n}: ${states[n]}`),
        [],
        `run ${run}: every row is done`,
      );
      const index = await indexHashes(rig.services.serverUrl, await pageToken(page), user, `frames-${run}`);
      assert.deepEqual(index, expected, `run ${run}: the index holds every file with its SHA-256`);
      await context.close();
      // The 210 small files went several to a request, as simple POSTs: no CORS preflight each.
      const after = await bssRequests(rig.services.bssUrl);
      const bundles = after.bundles - before.bundles;
      const preflights = after.preflights - before.preflights;
      t.diagnostic(`run ${run}: small files in ${bundles} requests, ${preflights} preflights at BSS`);
      assert.ok(bundles > 0 && bundles <= 105, `run ${run}: the 210 small files took ${bundles} requests`);
      assert.ok(preflights < 100, `run ${run}: ${preflights} preflights for ${names.length} files`);
    }
  });

  /** One kind of request the page makes, held by a route that answers only once the test opens its gate. */
  const stalls: Array<{ what: string; url: string; method?: string }> = [
    { what: 'hashing', url: '**/assets/hash-worker.js' },
    { what: 'asking for a grant', url: '**/uploads/batch' },
    { what: 'uploading', url: '**/upload/singles', method: 'POST' },
    { what: 'committing', url: '**/commits' },
  ];
  for (const stall of stalls) {
    test(`requests held while ${stall.what}: each row fails with the watchdog's reason, and Retry finishes them once the requests go through`, async () => {
      const folder = join(rig.dir, `stalled-${stall.what.replace(/ /g, '-')}`);
      await mkdir(folder, { recursive: true });
      const names: string[] = [];
      for (let i = 0; i < 20; i += 1) {
        await writeFile(join(folder, `note${i}.txt`), `note ${i} of a drop held ${stall.what}\n`.repeat(i + 1));
        names.push(`${folder.slice(rig.dir.length + 1)}/note${i}.txt`);
      }
      const context = await rig.browser.newContext();
      const page = await context.newPage();
      await quickWatchdog(page, 4);
      const held = gate();
      let holding = 0;
      const hold = async (route: Route): Promise<void> => {
        if (stall.method && route.request().method() !== stall.method) return route.fallback();
        holding += 1;
        await held.wait;
        // The page gave up on it meanwhile: its request is gone.
        await route.continue().catch(() => undefined);
      };
      await page.route(stall.url, hold);
      await signUp(page, rig.services.serverUrl, uniqueName('stall'));
      await chooseSpace(page, 'stalled');
      await page.setInputFiles('#drop input[webkitdirectory]', folder);
      await waitForStates(page, names, ['failed']);
      const states = await queueStates(page);
      for (const name of names) {
        assert.match(states[name] ?? '', new RegExp(`stalled: nothing happened for 4 s while ${stall.what}`), name);
      }
      assert.ok(holding > 0, 'the route held the requests');
      assert.match((await page.textContent('#retry-all')) ?? '', /Retry the 20 failed files/);
      assert.equal(await page.locator('#queue button.retry').count(), 20, 'each failed row has its Retry button');

      await page.unroute(stall.url, hold);
      held.open();
      await page.click('#retry-all');
      // After a held commit the blobs are at BSS already: the retry commits them without sending them again.
      await waitForStates(page, names, stall.what === 'committing' ? ['done', 'stored'] : ['done']);
      assert.equal(await page.locator('#queue button.retry').count(), 0);
      await context.close();
    });
  }
});
