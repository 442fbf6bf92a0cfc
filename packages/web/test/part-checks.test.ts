import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { CRC32_HEADER, crc32Base64, planParts } from '@dreamlake/protocol';
import { choosePartSize } from '@dreamlake/protocol/client';
import { BROWSER_SKIP, queueStates, waitForStates } from '../../../support/browser.ts';
import { MIB, makeFile, sha256File, uniqueName } from '../../../test/e2e/harness.ts';
import { browserRig, chooseSpace, signUp, startServices } from './browser-helpers.ts';

describe('the page checks its parts as the CLI does', { skip: BROWSER_SKIP }, () => {
  const rig = browserRig('dreamlake-web-checks-', startServices);

  test("every part PUT carries the part's CRC-32, the one its URL was signed for", async (t) => {
    const path = join(rig.dir, 'drive.mp4');
    const size = 60 * MIB + 4321;
    await makeFile(path, size, 11);
    const bytes = await readFile(path);
    const parts = planParts(size, choosePartSize(size));
    const expected = new Map(parts.map((p) => [p.partNumber, crc32Base64(crc32(bytes.subarray(p.start, p.end)))]));
    assert.ok(parts.length >= 12, `${parts.length} parts`);

    const context = await rig.browser.newContext();
    const page = await context.newPage();
    const seen = new Map<number, { header: string | undefined; signed: string | null }>();
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (r.method() !== 'PUT' || url.pathname !== '/upload/part') return;
      seen.set(Number(url.searchParams.get('partNumber')), {
        header: r.headers()[CRC32_HEADER],
        signed: url.searchParams.get('checksumCrc32'),
      });
    });
    await signUp(page, rig.services.serverUrl, uniqueName('checks'));
    await chooseSpace(page, 'checks');
    await page.setInputFiles('#drop input[type=file]:not([webkitdirectory])', path);
    try {
      await waitForStates(page, ['drive.mp4'], ['done']);
    } catch (error) {
      t.diagnostic(JSON.stringify(await queueStates(page)));
      t.diagnostic(rig.services.logs());
      throw error;
    }
    assert.deepEqual(
      [...seen.keys()].sort((a, b) => a - b),
      parts.map((p) => p.partNumber),
    );
    for (const [n, { header, signed }] of seen) {
      assert.equal(header, expected.get(n), `part ${n} carries its CRC-32 in ${CRC32_HEADER}`);
      assert.equal(signed, expected.get(n), `part ${n}'s URL is bound to the same CRC-32`);
    }
    await page.waitForFunction(() => document.querySelector('#files tr[data-name="drive.mp4"]') !== null);
    assert.equal(await page.textContent('#files tr[data-name="drive.mp4"] .hash'), await sha256File(path));
    await context.close();
  });
});
