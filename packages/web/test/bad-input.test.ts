import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BROWSER_SKIP, queueStates, waitForStates } from '../../../support/browser.ts';
import { uniqueName } from '../../../test/e2e/harness.ts';
import { browserRig, chooseSpace, signUp, startServices } from './browser-helpers.ts';
import { indexHashes, pageToken, rowStates } from './folders.ts';

const sha256 = (bytes: string | Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A folder of `count` small files and their names in the space. */
async function notes(parent: string, name: string, count: number): Promise<string[]> {
  await mkdir(join(parent, name), { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < count; i += 1) {
    await writeFile(join(parent, name, `n${String(i).padStart(3, '0')}.txt`), `note ${i} of ${name}\n`);
    names.push(`${name}/n${String(i).padStart(3, '0')}.txt`);
  }
  return names;
}

describe('the web uploader with bad input: each file gets a row with a clear state, none stalls the queue', {
  skip: BROWSER_SKIP,
}, () => {
  const rig = browserRig('dreamlake-web-bad-', startServices);

  test('a zero-byte file among 50 others is uploaded and indexed with the SHA-256 of nothing', async () => {
    const names = await notes(rig.dir, 'withempty', 50);
    await writeFile(join(rig.dir, 'withempty', 'empty.bin'), '');
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    const user = uniqueName('empty');
    await signUp(page, rig.services.serverUrl, user);
    await chooseSpace(page, 'empty');
    await page.setInputFiles('#drop input[webkitdirectory]', join(rig.dir, 'withempty'));
    await waitForStates(page, [...names, 'withempty/empty.bin'], ['done']);
    const index = await indexHashes(rig.services.serverUrl, await pageToken(page), user, 'empty');
    assert.equal(index['withempty/empty.bin'], sha256(''));
    assert.equal(Object.keys(index).length, 51);
    await context.close();
  });

  test('files deleted or changed between the drop and their read fail with what happened; the other 60 upload', async () => {
    const names = await notes(rig.dir, 'moving', 60);
    const gone = join(rig.dir, 'moving', 'gone.bin');
    const changed = join(rig.dir, 'moving', 'changed.bin');
    await writeFile(gone, 'deleted after the drop\n');
    await writeFile(changed, 'changed after the drop\n');
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    await signUp(page, rig.services.serverUrl, uniqueName('moving'));
    // No space chosen yet: the drop waits in the Dashboard, and the files change on disk meanwhile.
    await page.setInputFiles('#drop input[webkitdirectory]', join(rig.dir, 'moving'));
    await page.waitForFunction(() => /Choose a space first/.test(document.querySelector('#notice')?.textContent ?? ''));
    await rm(gone);
    // Chromium refuses to read a file changed since it was picked (NotReadableError), as it does a file it may not read.
    await appendFile(changed, 'more bytes\n');
    await chooseSpace(page, 'moving');
    await waitForStates(page, [...names, 'moving/gone.bin', 'moving/changed.bin'], ['done', 'failed']);
    const states = await queueStates(page);
    assert.match(states['moving/gone.bin'] ?? '', /^failed: the file is gone: it was moved or deleted after the drop$/);
    assert.match(states['moving/changed.bin'] ?? '', /^failed: the browser cannot read the file/);
    assert.deepEqual(
      names.filter((n) => states[n] !== 'uploaded, waiting for the rest of the drop' && states[n] !== 'done'),
      [],
    );
    await waitForStates(page, names, ['done']);
    await context.close();
  });

  test('a folder with no file says so, and the next drop uploads', async () => {
    await mkdir(join(rig.dir, 'hollow', 'sub', 'deeper'), { recursive: true });
    const names = await notes(rig.dir, 'after-hollow', 20);
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    await signUp(page, rig.services.serverUrl, uniqueName('hollow'));
    await chooseSpace(page, 'hollow');
    await page.setInputFiles('#drop input[webkitdirectory]', join(rig.dir, 'hollow'));
    await page.waitForFunction(() =>
      /That folder holds no files: nothing to upload/.test(document.querySelector('#notice')?.textContent ?? ''),
    );
    await page.setInputFiles('#drop input[webkitdirectory]', join(rig.dir, 'after-hollow'));
    await waitForStates(page, names, ['done']);
    await context.close();
  });

  test('two files of the same name in one drop: the later one is kept, the other says why it was not uploaded', async () => {
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    const user = uniqueName('twice');
    await signUp(page, rig.services.serverUrl, user);
    await chooseSpace(page, 'twice');
    const others = Array.from({ length: 30 }, (_, i) => ({
      name: `other${i}.txt`,
      mimeType: 'text/plain',
      buffer: Buffer.from(`other ${i}\n`),
    }));
    await page.setInputFiles('#drop input[type=file]:not([webkitdirectory])', [
      { name: 'same.txt', mimeType: 'text/plain', buffer: Buffer.from('the first same.txt\n') },
      ...others,
      { name: 'same.txt', mimeType: 'text/plain', buffer: Buffer.from('the second same.txt, kept\n') },
    ]);
    await waitForStates(
      page,
      others.map((o) => o.name),
      ['done'],
    );
    const same = (await rowStates(page)).filter(([name]) => name === 'same.txt').map(([, state]) => state);
    assert.deepEqual(same.sort(), ['done', 'duplicate']);
    assert.match(
      (await page.textContent('#queue tr[data-state="duplicate"] .state')) ?? '',
      /not uploaded: a later file of this drop has the same name, and that one is kept/,
    );
    const index = await indexHashes(rig.services.serverUrl, await pageToken(page), user, 'twice');
    assert.equal(index['same.txt'], sha256('the second same.txt, kept\n'));
    assert.equal(Object.keys(index).length, 31);
    await context.close();
  });
});
