import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { BROWSER_SKIP, queueStates, waitForStates } from '../../../support/browser.ts';
import { uniqueName } from '../../../test/e2e/harness.ts';
import { browserRig, startServices } from './browser-helpers.ts';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations inside `selector`. */
async function seriousViolations(page: Page, selector: string): Promise<Array<{ id: string; targets: string }>> {
  await page.evaluate(AXE);
  return page.evaluate(async (include) => {
    type Result = { violations: Array<{ id: string; impact: string | null; nodes: Array<{ target: unknown[] }> }> };
    const axe = (globalThis as unknown as { axe: { run(c: unknown): Promise<Result> } }).axe;
    const result = await axe.run({ include: [include] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, targets: JSON.stringify(v.nodes.map((n) => n.target)) }));
  }, selector);
}

describe('the web uploader by keyboard and screen reader', { skip: BROWSER_SKIP }, () => {
  const rig = browserRig('dreamlake-web-a11y-', startServices);

  test('sign up, choose a space, pick files, see a failure and retry it, all from the keyboard; axe finds nothing serious', async () => {
    const paths: string[] = [];
    for (let i = 0; i < 12; i += 1) {
      paths.push(join(rig.dir, `memo${i}.txt`));
      await writeFile(paths[i] as string, `memo ${i}\n`);
    }
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${rig.services.serverUrl}/`);
    await page.waitForSelector('#login:not([hidden])');
    assert.deepEqual(await seriousViolations(page, 'body'), [], 'the login form');

    // The form has the focus: user name, Tab, password, Tab past "Log in" to "Sign up", Enter.
    await page.waitForFunction(() => document.activeElement?.id === 'username');
    await page.keyboard.type(uniqueName('keys'));
    await page.keyboard.press('Tab');
    await page.keyboard.type('correct horse battery staple');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'signup-button');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#app:not([hidden])');

    await page.focus('#space');
    await page.keyboard.type('by-keyboard');
    await page.keyboard.press('Enter');

    // Grants are refused until the test lets them through: every file of the pick fails with the reason and a Retry button.
    await page.route('**/uploads/batch', (route) =>
      route.fulfill({ status: 403, json: { error: { code: 'forbidden', message: 'not now' } } }),
    );
    // "browse files", reached as a button and pressed with Enter.
    const browse = page.getByRole('button', { name: 'browse files' });
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), browse.press('Enter')]);
    await chooser.setFiles(paths);
    const names = paths.map((p) => p.slice(rig.dir.length + 1));
    await waitForStates(page, names, ['failed']);
    assert.match((await queueStates(page))['memo0.txt'] ?? '', /^failed: not now \(forbidden\)$/);
    assert.equal(
      await page.getAttribute('#queue tr[data-name="memo3.txt"] button.retry', 'aria-label'),
      'Retry memo3.txt',
    );
    assert.deepEqual(await seriousViolations(page, '#app'), [], 'the page with failed rows');

    await page.unroute('**/uploads/batch');
    await page.focus('#queue tr[data-name="memo3.txt"] button.retry');
    await page.keyboard.press('Enter');
    await waitForStates(page, ['memo3.txt'], ['done']);
    await page.focus('#retry-all');
    await page.keyboard.press('Space');
    await waitForStates(page, names, ['done']);
    assert.match((await page.textContent('#queue-summary')) ?? '', /^12 files, .* · 12 done$/);
    assert.deepEqual(await seriousViolations(page, '#app'), [], 'the page after the uploads');
    await context.close();
  });
});
