import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BROWSER_SKIP, waitForStates } from '../../../support/browser.ts';
import { MIB, makeFile, Services, sha256File, uniqueName } from '../../../test/e2e/harness.ts';
import { browserRig, chooseSpace, signUp } from './browser-helpers.ts';

// Long enough for every other step on a loaded machine, short enough to wait out once.
const TTL_SECONDS = 12;

describe('the web uploader renews expired URLs', { skip: BROWSER_SKIP }, () => {
  const rig = browserRig('dreamlake-web-expiry-', () =>
    Services.start({
      backend: { name: 'fs', env: { STORAGE: 'fs', CORS_ORIGINS: '*' } },
      presignTtlSeconds: TTL_SECONDS,
    }),
  );

  test('a part URL that expires before its PUT leaves is refused by BSS, and the page asks for new URLs and finishes', async () => {
    const path = join(rig.dir, 'slow.mp4');
    await makeFile(path, 18 * MIB, 3);
    const hash = await sha256File(path);
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    await signUp(page, rig.services.serverUrl, uniqueName('expiry'));
    await chooseSpace(page, 'slow');

    // Hold the first part PUT until its signed URL has run out, then let it go to BSS; the
    // others are not intercepted at all. It goes without its 5 MiB: BSS refuses the URL before it
    // reads a body, and a body still being written when the refusal closes the connection would
    // fail the relay (EPIPE) instead of bringing the refusal back to the page.
    const refusals: string[] = [];
    await page.route(
      '**/upload/part?*',
      async (route) => {
        const exp = Number(new URL(route.request().url()).searchParams.get('exp'));
        await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 1500));
        const response = await route.fetch({ postData: '' });
        if (response.status() === 403)
          refusals.push(((await response.json()) as { error: { code: string } }).error.code);
        await route.fulfill({ response });
      },
      { times: 1 },
    );
    await page.setInputFiles('#drop input[type=file]:not([webkitdirectory])', path);
    await waitForStates(page, ['slow.mp4'], ['done', 'failed']);
    assert.equal(await page.getAttribute('#queue tr[data-name="slow.mp4"]', 'data-state'), 'done');
    assert.deepEqual(refusals, ['expired_signature'], 'BSS refused the late PUT as expired');
    await page.waitForFunction(() => document.querySelector('#files tr[data-name="slow.mp4"]') !== null);
    assert.equal(await page.textContent('#files tr[data-name="slow.mp4"] .hash'), hash);
    await context.close();
  });
});
