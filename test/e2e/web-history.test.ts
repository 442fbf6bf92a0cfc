import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { SnapshotView } from '@dreamlake/protocol';
import type { Page } from 'playwright-core';
import { createTestDatabase, ENGINES } from '../../packages/server/test/helpers/engines.ts';
import { browserRig, chooseSpace, signUp } from '../../packages/web/test/browser-helpers.ts';
import { BROWSER_SKIP, queueStates, waitForStates } from '../../support/browser.ts';
import { ROOT, Services, sha256File, uniqueName } from './harness.ts';

// axe-core is the web package's development dependency: resolved from there.
const require = createRequire(join(ROOT, 'packages/web/package.json'));
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}

/** axe-core's violations inside `selector` (every rule axe runs by default, best practices too). */
async function axeViolations(page: Page, selector: string): Promise<AxeViolation[]> {
  await page.evaluate(AXE);
  return page.evaluate(async (include) => {
    const axe = (globalThis as unknown as { axe: { run(c: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run({ include: [include] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
  }, selector);
}

/** The server's API as the page's user, with the token the page holds. */
async function apiAs(page: Page, serverUrl: string) {
  const token = await page.evaluate(() => sessionStorage.getItem('dreamlake.token'));
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${serverUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The history panel's rows: version, author, message and counts, as the user reads them. */
function historyRows(page: Page) {
  return page.$$eval('#snapshots tbody tr[data-version]', (rows) =>
    rows.map((r) => ({
      version: Number((r as HTMLElement).dataset.version),
      author: r.querySelector('.author')?.textContent,
      message: r.querySelector('.message')?.textContent,
      added: r.querySelector('.added')?.textContent,
      changed: r.querySelector('.changed')?.textContent,
      removed: r.querySelector('.removed')?.textContent,
    })),
  );
}

/** The server (on SQLite, or on a scratch PostgreSQL database) and BSS on the disk backend, open to the page. */
async function startOn(engine: (typeof ENGINES)[number]) {
  const database = engine === 'postgres' ? await createTestDatabase('postgres') : undefined;
  let services: Services;
  try {
    services = await Services.start({
      backend: { name: 'fs', env: { STORAGE: 'fs', CORS_ORIGINS: '*' } },
      ...(database ? { databaseUrl: database.url } : {}),
    });
  } catch (error) {
    await database?.drop();
    throw error;
  }
  return {
    serverUrl: services.serverUrl,
    logs: () => services.logs(),
    async close() {
      await services.close();
      await database?.drop();
    },
  };
}

for (const engine of ENGINES)
  describe(`versioned spaces in the web page (${engine})`, { skip: BROWSER_SKIP }, () => {
    const rig = browserRig('dreamlake-web-history-', () => startOn(engine));

    test('a folder of 300 files lands as one snapshot; the history lists it, and a file of the version before downloads with its old bytes', async (t) => {
      const before = join(rig.dir, 'before', 'data');
      const after = join(rig.dir, 'after', 'data');
      await mkdir(before, { recursive: true });
      await mkdir(join(after, 'frames'), { recursive: true });
      const oldNotes = 'notes of the first run\n';
      await writeFile(join(before, 'notes.txt'), oldNotes);
      const expected: Record<string, string> = {};
      await writeFile(join(after, 'notes.txt'), 'notes of the second run, which changed\n');
      expected['data/notes.txt'] = await sha256File(join(after, 'notes.txt'));
      for (let i = 0; i < 299; i++) {
        const name = `frames/${String(i).padStart(3, '0')}.csv`;
        await writeFile(join(after, name), `frame,${i}\n`.repeat(1 + (i % 50) * 40));
        expected[`data/${name}`] = await sha256File(join(after, name));
      }

      const context = await rig.browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 1000 } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));

      const writes: string[] = [];
      page.on('request', (r) => {
        const path = new URL(r.url()).pathname;
        if (r.method() === 'POST' && /\/spaces\/[^/]+\/(files|files\/batch|commits|drafts.*)$/.test(path)) {
          writes.push(path.slice(path.indexOf('/spaces/')));
        }
      });
      const user = uniqueName('history');
      await signUp(page, rig.services.serverUrl, user);
      await chooseSpace(page, 'runs');

      // The first run: one file, version 1.
      await page.setInputFiles('#drop input[webkitdirectory]', before);
      await waitForStates(page, ['data/notes.txt'], ['done']);
      await page.waitForFunction(() => document.querySelector<HTMLElement>('#commit-status')?.dataset.version === '1');
      assert.deepEqual(writes, ['/spaces/runs/commits']);

      // The second run: 300 files with a message, one of them a new version of notes.txt.
      writes.length = 0;
      await page.fill('#commit-message', 'second run: 300 files');
      await page.click('#drop .uppy-DashboardContent-addMore'); // the Dashboard's "Add more"
      await page.setInputFiles('#drop input[webkitdirectory]', after);
      try {
        await waitForStates(page, Object.keys(expected), ['done'], 240_000);
      } catch (error) {
        const states = Object.entries(await queueStates(page));
        const counted: Record<string, number> = {};
        for (const [, s] of states) counted[s] = (counted[s] ?? 0) + 1;
        t.diagnostic(JSON.stringify(counted));
        t.diagnostic(JSON.stringify(states.filter(([, s]) => !/^(done|uploaded)/.test(s)).slice(0, 20)));
        t.diagnostic(errors.join('\n'));
        t.diagnostic(rig.services.logs());
        throw error;
      }
      assert.deepEqual(writes, ['/spaces/runs/commits'], 'the 300 names went to the server in one commit');
      await page.waitForFunction(() => document.querySelector<HTMLElement>('#commit-status')?.dataset.version === '2');
      assert.match(
        (await page.textContent('#commit-status')) ?? '',
        /^Version 2 of .*\/runs made from 300 files: 299 added, 1 changed, 0 removed\.$/,
      );
      assert.equal(await page.inputValue('#commit-message'), '', 'the message went with its snapshot');

      // The server holds exactly one new snapshot, with all 300 names and their SHA-256.
      const api = await apiAs(page, rig.services.serverUrl);
      const base = `/namespaces/${user}/spaces/runs`;
      const { snapshots } = await api<{ snapshots: SnapshotView[] }>('GET', `${base}/snapshots`);
      assert.deepEqual(
        snapshots.map((s) => [s.version, s.files, s.counts, s.message]),
        [
          [2, 300, { added: 299, changed: 1, removed: 0 }, 'second run: 300 files'],
          [1, 1, { added: 1, changed: 0, removed: 0 }, ''],
        ],
      );
      const { files } = await api<{ files: Array<{ name: string; hash: string }> }>(
        'GET',
        `${base}/files?version=2&limit=1000`,
      );
      assert.deepEqual(Object.fromEntries(files.map((f) => [f.name, f.hash])), expected);

      // The page's list of the space's files shows the same 300.
      await page.waitForFunction(() => document.querySelectorAll('#files tbody tr[data-name]').length === 300);
      const listed = await page.$$eval('#files tbody tr[data-name]', (rows) =>
        rows.map((r) => [(r as HTMLElement).dataset.name, r.querySelector('.hash')?.textContent]),
      );
      assert.deepEqual(Object.fromEntries(listed), expected);

      // The history panel: newest first, with author, message and counts.
      await page.waitForFunction(() => document.querySelectorAll('#snapshots tbody tr[data-version]').length === 2);
      assert.deepEqual(await historyRows(page), [
        { version: 2, author: user, message: 'second run: 300 files', added: '299', changed: '1', removed: '0' },
        { version: 1, author: user, message: 'no message', added: '1', changed: '0', removed: '0' },
      ]);

      // From the keyboard: pick version 1, and the focus lands on its files.
      await page.focus('#snapshots button[aria-label="Show files of version 1"]');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelectorAll('#version-files tbody tr[data-name]').length === 1);
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'version-title');
      assert.equal(
        await page.getAttribute('#snapshots button[aria-label="Show files of version 1"]', 'aria-pressed'),
        'true',
      );
      assert.equal(await page.textContent('#version-files tr[data-name="data/notes.txt"] .hash'), sha256(oldNotes));

      // Its download gives the bytes notes.txt had at version 1.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.click('#version-files tr[data-name="data/notes.txt"] button.download'),
      ]);
      const saved = join(rig.dir, 'notes-v1.txt');
      await download.saveAs(saved);
      assert.equal(await sha256File(saved), sha256(oldNotes));

      // Version 2 lists all 300.
      await page.click('#snapshots button[aria-label="Show files of version 2"]');
      await page.waitForFunction(() => document.querySelectorAll('#version-files tbody tr[data-name]').length === 300);
      assert.equal(await page.textContent('#version-count'), '300 of 300 files listed.');

      assert.deepEqual(await axeViolations(page, '#history'), []);
      assert.deepEqual(errors, []);
      await context.close();
    });

    test('the history goes back a page at a time, newest first', async () => {
      const context = await rig.browser.newContext();
      const page = await context.newPage();
      const user = uniqueName('pages');
      await signUp(page, rig.services.serverUrl, user);
      await chooseSpace(page, 'log');
      const api = await apiAs(page, rig.services.serverUrl);
      const base = `/namespaces/${user}/spaces/log`;
      // 45 snapshots: each commit names one more file (a blob the first run stored).
      const path = join(rig.dir, 'one.txt');
      await writeFile(path, 'the same bytes under many names\n');
      await page.setInputFiles('#drop input[type=file]:not([webkitdirectory])', path);
      await waitForStates(page, ['one.txt'], ['done']);
      // The page shows the history again shortly after its commit: wait for that, or it could
      // come back to the newest page while the test pages through the older ones.
      await page.waitForFunction(
        () => document.querySelector('#snapshots tbody tr[data-version]')?.getAttribute('data-version') === '1',
      );
      const hash = await sha256File(path);
      for (let i = 2; i <= 45; i++) {
        await api('POST', `${base}/commits`, {
          message: `copy ${i}`,
          puts: [{ name: `copies/${i}.txt`, hash, type: 'text-tracks', contentType: 'text/plain' }],
        });
      }
      // The history this click loads (a load the upload started may still be on its way: its
      // answer is dropped, and paging must not begin before the click's own answer is shown).
      const asked = page.waitForRequest((r) => r.url().includes(`${base}/snapshots`));
      await page.click('#show-files');
      await (await asked).response();
      const versions = async (): Promise<number[]> => (await historyRows(page)).map((r) => r.version);
      const range = (from: number, to: number): number[] => Array.from({ length: from - to + 1 }, (_, i) => from - i);
      await page.waitForFunction(
        () => document.querySelector('#snapshots tbody tr[data-version]')?.getAttribute('data-version') === '45',
      );
      assert.deepEqual(await versions(), range(45, 26));
      assert.equal(await page.isDisabled('#history-newer'), true);

      await page.focus('#history-older');
      await page.keyboard.press('Enter');
      await page.waitForFunction(
        () => document.querySelector('#snapshots tbody tr[data-version]')?.getAttribute('data-version') === '25',
      );
      assert.deepEqual(await versions(), range(25, 6));
      await page.keyboard.press('Enter');
      await page.waitForFunction(
        () => document.querySelector('#snapshots tbody tr[data-version]')?.getAttribute('data-version') === '5',
      );
      assert.deepEqual(await versions(), range(5, 1));
      assert.equal(await page.isDisabled('#history-older'), true);
      assert.equal(
        await page.evaluate(() => document.activeElement?.id),
        'history-newer',
        'the focus stays on a button',
      );
      assert.equal(await page.textContent('#history-range'), 'Versions 5 down to 1.');

      await page.keyboard.press('Enter');
      await page.waitForFunction(
        () => document.querySelector('#snapshots tbody tr[data-version]')?.getAttribute('data-version') === '25',
      );
      assert.deepEqual(await axeViolations(page, '#history'), []);
      await context.close();
    });
  });
