import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BROWSER_SKIP, queueStates, waitForStates } from '../../../support/browser.ts';
import { MIB, makeFile, ROOT, sha256File, uniqueName } from '../../../test/e2e/harness.ts';
import { browserRig, chooseSpace, signUp, startServices } from './browser-helpers.ts';

describe('the web uploader in Chromium', { skip: BROWSER_SKIP }, () => {
  const rig = browserRig('dreamlake-web-', startServices);

  test('sign up, upload a folder of three files (one multipart), see them listed, download one with its SHA-256', async (t) => {
    const folder = join(rig.dir, 'run42');
    await mkdir(join(folder, 'cams'), { recursive: true });
    await makeFile(join(folder, 'cams/front.mp4'), 20 * MIB + 12345, 1);
    await writeFile(join(folder, 'labels.jsonl'), '{"t":0,"label":"start"}\n{"t":1,"label":"stop"}\n');
    await makeFile(join(folder, 'track.csv'), 300_000, 2);
    const expected: Record<string, string> = {
      'run42/cams/front.mp4': await sha256File(join(folder, 'cams/front.mp4')),
      'run42/labels.jsonl': await sha256File(join(folder, 'labels.jsonl')),
      'run42/track.csv': await sha256File(join(folder, 'track.csv')),
    };

    const context = await rig.browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 1100 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('response', (r) => {
      // Listing a space before its first file is a 404 the page shows as an empty list.
      const listing = r.request().method() === 'GET' && /\/spaces\/recordings\/files$/.test(new URL(r.url()).pathname);
      if (r.status() >= 400 && !listing) errors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    });
    let multipartPuts = 0;
    page.on('request', (r) => {
      if (r.method() === 'PUT' && new URL(r.url()).pathname === '/upload/part') multipartPuts += 1;
    });
    const user = uniqueName('web');
    await signUp(page, rig.services.serverUrl, user);
    await chooseSpace(page, 'recordings');
    await page.setInputFiles('#drop input[webkitdirectory]', folder);
    try {
      await waitForStates(page, Object.keys(expected), ['done']);
    } catch (error) {
      t.diagnostic(JSON.stringify(await queueStates(page)));
      t.diagnostic(errors.join('\n'));
      t.diagnostic(rig.services.logs());
      throw error;
    }
    assert.ok(multipartPuts >= 3, `the 20 MiB file went as parts of 5 MiB (${multipartPuts} part PUTs)`);

    await page.waitForFunction(() => document.querySelectorAll('#files tbody tr[data-name]').length === 3);
    const listed = await page.$$eval('#files tbody tr[data-name]', (rows) =>
      rows.map((r) => ({
        name: (r as HTMLElement).dataset.name,
        hash: r.querySelector('.hash')?.textContent,
        type: r.querySelector('.type')?.textContent,
      })),
    );
    assert.deepEqual(Object.fromEntries(listed.map((f) => [f.name, f.hash])), expected);
    assert.match(listed.find((f) => f.name === 'run42/cams/front.mp4')?.type ?? '', /^videos \(video\/mp4\)$/);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('#files tr[data-name="run42/cams/front.mp4"] button.download'),
    ]);
    const saved = join(rig.dir, 'front-copy.mp4');
    await download.saveAs(saved);
    assert.equal(await sha256File(saved), expected['run42/cams/front.mp4']);
    assert.deepEqual(errors, []);

    // DREAMLAKE_WEB_SCREENSHOT=docs/web-uploader.png refreshes the README's picture.
    const shot = process.env.DREAMLAKE_WEB_SCREENSHOT;
    await page.screenshot({ path: shot ? join(ROOT, shot) : join(rig.dir, 'page.png'), fullPage: true });
    await context.close();
  });

  test('a file the server refuses shows its message and the others still upload; a tampered grant is refused visibly', async () => {
    const folder = join(rig.dir, 'mixed');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'good.txt'), 'fine\n');
    await writeFile(join(folder, 'tampered.txt'), 'this grant is altered on its way to the page\n');
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    // Alter the signature of every URL granted for tampered.txt, as a proxy or a bug might.
    await page.route('**/uploads/batch', async (route) => {
      const body = JSON.parse(route.request().postData() ?? '{}') as { files: Array<{ filename: string }> };
      const response = await route.fetch();
      const answer = (await response.json()) as { files: Array<Record<string, unknown>> };
      // One batch may ask for both files' grants: only tampered.txt's entry is altered.
      answer.files.forEach((entry, i) => {
        if (body.files[i]?.filename !== 'mixed/tampered.txt') return;
        for (const [k, v] of Object.entries(entry)) {
          if (typeof v === 'string' && k.endsWith('Url')) {
            const url = new URL(v);
            url.searchParams.set('sig', '0'.repeat(64));
            entry[k] = url.toString();
          }
        }
      });
      await route.fulfill({ response, json: answer });
    });
    await signUp(page, rig.services.serverUrl, uniqueName('tamper'));
    await chooseSpace(page, 'mixed');
    await page.setInputFiles('#drop input[webkitdirectory]', folder);
    await waitForStates(page, ['mixed/good.txt', 'mixed/tampered.txt'], ['done', 'failed']);
    const states = await queueStates(page);
    assert.equal(states['mixed/good.txt'], 'done');
    assert.match(states['mixed/tampered.txt'] ?? '', /^failed: .*\(bad_signature\)$/);
    await page.waitForFunction(() => document.querySelectorAll('#files tbody tr[data-name]').length === 1);
    assert.equal(await page.textContent('#files tbody tr[data-name] .name'), 'mixed/good.txt');

    // Once grants arrive intact again, the Dashboard's retry button sends the failed file.
    await page.unrouteAll({ behavior: 'wait' });
    await page.click('#drop button[aria-label="Retry upload"]');
    await waitForStates(page, ['mixed/tampered.txt'], ['done']);
    await page.waitForFunction(() => document.querySelectorAll('#files tbody tr[data-name]').length === 2);
    await context.close();
  });

  test("a file whose name the server refuses shows the server's message; the rest of the folder uploads", async () => {
    const folder = join(rig.dir, 'deep');
    const long = ['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(240));
    await mkdir(join(folder, ...long), { recursive: true });
    await writeFile(join(folder, ...long, 'far.txt'), 'too deep for a name\n');
    await writeFile(join(folder, 'near.txt'), 'fine\n');
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    await signUp(page, rig.services.serverUrl, uniqueName('names'));
    await chooseSpace(page, 'names');
    await page.setInputFiles('#drop input[webkitdirectory]', folder);
    const far = ['deep', ...long, 'far.txt'].join('/');
    await waitForStates(page, ['deep/near.txt', far], ['done', 'failed']);
    const states = await queueStates(page);
    assert.equal(states['deep/near.txt'], 'done');
    assert.match(states[far] ?? '', /^failed: .*1 to 1024 bytes.*\(invalid_request\)$/);
    await context.close();
  });

  test('a 401 during an upload sends the user back to the login form, and the queue goes on after logging in', async () => {
    const path = join(rig.dir, 'notes.txt');
    await writeFile(path, 'written while the session ran out\n');
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    const user = uniqueName('expired');
    await signUp(page, rig.services.serverUrl, user);
    await chooseSpace(page, 'later');
    let refused = 0;
    await page.route('**/uploads/batch', async (route) => {
      if (refused > 0) return route.fallback();
      refused += 1;
      await route.fulfill({
        status: 401,
        json: { error: { code: 'unauthorized', message: 'the token has expired' } },
      });
    });
    await page.setInputFiles('#drop input[type=file]:not([webkitdirectory])', path);
    await page.waitForSelector('#login:not([hidden])');
    assert.match((await page.textContent('#notice')) ?? '', /log in again/);
    // The queue view draws its rows a moment after a change: wait for the row rather than read it once.
    await waitForStates(page, ['notes.txt'], ['granting'], 10_000);
    assert.equal((await queueStates(page))['notes.txt'], 'asking for a grant', 'the file waits in the queue');
    await page.fill('#username', user);
    await page.fill('#password', 'correct horse battery staple');
    await page.click('#login-button');
    await waitForStates(page, ['notes.txt'], ['done']);
    assert.equal(refused, 1);
    await page.waitForFunction(() => document.querySelector('#files tr[data-name="notes.txt"]') !== null);
    await context.close();
  });

  test('pause stops the transfer, resume finishes it', async () => {
    const path = join(rig.dir, 'paused.mp4');
    await makeFile(path, 24 * MIB, 11);
    const hash = await sha256File(path);
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    await signUp(page, rig.services.serverUrl, uniqueName('pause'));
    await chooseSpace(page, 'pause');
    // Part PUTs wait at a gate until the test opens it.
    let open = false;
    let held = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route('**/upload/part?*', async (route) => {
      if (!open) {
        held += 1;
        await gate;
      }
      await route.continue().catch(() => undefined); // a paused part's request is gone
    });
    await page.setInputFiles('#drop input[type=file]:not([webkitdirectory])', path);
    await page.waitForFunction(() => document.querySelector('#drop button[aria-label="Pause upload"]') !== null);
    for (let i = 0; i < 600 && held === 0; i++) await new Promise((r) => setTimeout(r, 50));
    await page.click('#drop button[aria-label="Pause upload"]');
    await waitForStates(page, ['paused.mp4'], ['paused']);
    open = true;
    release();
    await page.click('#drop button[aria-label="Resume upload"]');
    await waitForStates(page, ['paused.mp4'], ['done']);
    await page.waitForFunction(() => document.querySelector('#files tr[data-name="paused.mp4"]') !== null);
    assert.equal(await page.textContent('#files tr[data-name="paused.mp4"] .hash'), hash);
    await context.close();
  });

  test('cancel takes a file out mid-upload and tells BSS to drop its parts', async () => {
    const path = join(rig.dir, 'unwanted.mp4');
    await makeFile(path, 24 * MIB, 13);
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    await signUp(page, rig.services.serverUrl, uniqueName('cancel'));
    await chooseSpace(page, 'cancel');
    // Every part PUT is held (never let through: the upload is cancelled first) until the test is
    // done with it; the first one to arrive says a part is on its way.
    let held = 0;
    let partArrived = (): void => {};
    const arrived = new Promise<void>((resolve) => {
      partArrived = resolve;
    });
    let letGo = (): void => {};
    const finished = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    await page.route('**/upload/part?*', async (route) => {
      held += 1;
      partArrived();
      await finished;
      await route.abort().catch(() => undefined);
    });
    const aborted = page.waitForRequest(
      (r) => r.method() === 'POST' && /\/upload\/multipart\/abort$/.test(new URL(r.url()).pathname),
    );
    const firstPart = page.waitForRequest((r) => /\/upload\/part$/.test(new URL(r.url()).pathname));
    try {
      await page.setInputFiles('#drop input[type=file]:not([webkitdirectory])', path);
      // Sent (within Playwright's wait), then held by the route.
      await firstPart;
      await arrived;
      assert.ok(held > 0, 'a part was on its way');
      await page.click('#drop button[aria-label="Remove file"]');
      const abort = await aborted;
      assert.equal((await abort.response())?.status(), 200);
      assert.equal(await page.getAttribute('#queue tr[data-name="unwanted.mp4"]', 'data-state'), 'cancelled');
      await page.click('#show-files');
      await page.waitForFunction(() => document.querySelector('#files tbody td')?.textContent === 'No files yet.');
    } finally {
      letGo();
      await page.unrouteAll({ behavior: 'ignoreErrors' });
      await context.close();
    }
  });

  test('a reload in the middle of a multipart upload resumes it, sending only the missing parts', async (t) => {
    const path = join(rig.dir, 'long.mp4');
    await makeFile(path, 40 * MIB, 7); // 8 parts of 5 MiB
    const hash = await sha256File(path);
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    await signUp(page, rig.services.serverUrl, uniqueName('resume'));
    await chooseSpace(page, 'resume');

    // Let two parts through, then fail every other part PUT as a lost network would.
    let through = 0;
    let stored = 0;
    await page.route('**/upload/part?*', async (route) => {
      if (through >= 2) return route.abort('internetdisconnected');
      through += 1;
      const response = await route.fetch();
      stored += 1;
      await route.fulfill({ response });
    });
    await page.setInputFiles('#drop input[type=file]:not([webkitdirectory])', path);
    for (let i = 0; i < 600 && stored < 2; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(stored, 2, 'two parts reached BSS before the reload');
    // The lost parts show as "paused, retrying" while the page keeps trying.
    await page.waitForFunction(() =>
      /^paused, retrying/.test(document.querySelector('#queue tr[data-name="long.mp4"] .state')?.textContent ?? ''),
    );

    await page.unrouteAll({ behavior: 'ignoreErrors' });
    await page.reload();
    await page.waitForSelector('#app:not([hidden])'); // still logged in: the token is in sessionStorage
    const afterReload: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'PUT' && new URL(r.url()).pathname === '/upload/part') afterReload.push(r.url());
    });
    await chooseSpace(page, 'resume');
    await page.setInputFiles('#drop input[type=file]:not([webkitdirectory])', path);
    try {
      await waitForStates(page, ['long.mp4'], ['done']);
    } catch (error) {
      t.diagnostic(JSON.stringify(await queueStates(page)));
      throw error;
    }
    assert.equal(afterReload.length, 6, 'only the six missing parts were sent after the reload');
    const progress = await page.textContent('#queue tr[data-name="long.mp4"] .progress');
    assert.match(progress ?? '', /6 of 8 parts sent/);
    await page.waitForFunction(() => document.querySelector('#files tr[data-name="long.mp4"]') !== null);
    assert.equal(await page.textContent('#files tr[data-name="long.mp4"] .hash'), hash);
    await context.close();
  });
});
