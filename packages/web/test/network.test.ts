import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BROWSER_SKIP, queueStates, waitForStates } from '../../../support/browser.ts';
import { MIB, makeFile, sha256File, uniqueName } from '../../../test/e2e/harness.ts';
import { browserRig, chooseSpace, signUp, startServices } from './browser-helpers.ts';

describe('the web uploader when the network goes away', { skip: BROWSER_SKIP }, () => {
  const rig = browserRig('dreamlake-web-network-', startServices);

  test('a lost network shows "paused, retrying" and a notice; when it is back the upload goes on by itself', async (t) => {
    const path = join(rig.dir, 'field.mp4');
    await makeFile(path, 24 * MIB, 17); // 3 parts of 8 MiB
    const hash = await sha256File(path);
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    await signUp(page, rig.services.serverUrl, uniqueName('offline'));
    await chooseSpace(page, 'field');

    // The first part PUTs wait until the network is gone, then fail as a pulled cable would; once
    // it is back they go through.
    let phase: 'hold' | 'down' | 'up' = 'hold';
    let held = 0;
    await page.route('**/upload/part?*', async (route) => {
      if (phase === 'hold') {
        held += 1;
        while (phase === 'hold') await new Promise((r) => setTimeout(r, 50));
      }
      if (phase === 'down') return route.abort('internetdisconnected');
      return route.continue();
    });
    await page.setInputFiles('#drop input[type=file]:not([webkitdirectory])', path);
    for (let i = 0; i < 600 && held === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(held > 0, 'a part was on its way');

    phase = 'down';
    await context.setOffline(true);
    await page.waitForFunction(() =>
      /^paused, retrying/.test(document.querySelector('#queue tr[data-name="field.mp4"] .state')?.textContent ?? ''),
    );
    assert.match((await page.textContent('#notice')) ?? '', /network is gone/);

    phase = 'up';
    await context.setOffline(false);
    try {
      await waitForStates(page, ['field.mp4'], ['done', 'failed'], 60_000);
    } catch (error) {
      t.diagnostic(JSON.stringify(await queueStates(page)));
      throw error;
    }
    assert.equal(await page.getAttribute('#queue tr[data-name="field.mp4"]', 'data-state'), 'done');
    assert.equal(await page.isHidden('#notice'), true, 'the notice is gone');
    await page.waitForFunction(() => document.querySelector('#files tr[data-name="field.mp4"]') !== null);
    assert.equal(await page.textContent('#files tr[data-name="field.mp4"] .hash'), hash);
    await context.close();
  });
});
