import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BROWSER_SKIP, queueStates, waitForStates } from '../../../support/browser.ts';
import { MIB, makeFile, uniqueName } from '../../cli/test/e2e/harness.ts';
import { browserRig, chooseSpace, signUp } from './browser-helpers.ts';
import { startServicesWithEnv } from './services-with-env.ts';

describe('the web uploader in a namespace with a quota', { skip: BROWSER_SKIP }, () => {
  const rig = browserRig('dreamlake-web-quota-', () =>
    startServicesWithEnv({ serverEnv: { NAMESPACE_QUOTA_BYTES: String(MIB) } }),
  );

  test("a file over the quota shows the server's message; the others of the folder still upload", async () => {
    const folder = join(rig.dir, 'day1');
    await mkdir(folder, { recursive: true });
    await makeFile(join(folder, 'big.mp4'), 2 * MIB, 19);
    await writeFile(join(folder, 'log.txt'), 'small enough\n');
    await writeFile(join(folder, 'meta.json'), '{"camera":"front"}\n');
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    await signUp(page, rig.services.serverUrl, uniqueName('quota'));
    await chooseSpace(page, 'day1');
    await page.setInputFiles('#drop input[webkitdirectory]', folder);
    const names = ['day1/big.mp4', 'day1/log.txt', 'day1/meta.json'];
    await waitForStates(page, names, ['done', 'failed']);
    const states = await queueStates(page);
    assert.equal(states['day1/log.txt'], 'done');
    assert.equal(states['day1/meta.json'], 'done');
    assert.match(states['day1/big.mp4'] ?? '', /^failed: .*over its quota.*\(too_large\)$/);
    await page.waitForFunction(() => document.querySelectorAll('#files tbody tr[data-name]').length === 2);
    await context.close();
  });
});
