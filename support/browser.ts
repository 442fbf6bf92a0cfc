/**
 * Headless Chromium for the web page, shared by its tests and by the benchmark: where the browser
 * is, how it is launched, how the page is built, and how a run waits for the queue's states.
 * Nothing here starts services, so scripts can use it without importing test code.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Debian's `chromium` package; `.ci/run` installs it when missing. */
export const CHROMIUM = '/usr/bin/chromium';

/** A reason to skip the browser tests, or false when Chromium is there. */
export const BROWSER_SKIP = existsSync(CHROMIUM)
  ? false
  : `Chromium is not installed at ${CHROMIUM} (Debian package chromium)`;

// No sandbox: CI and the developers' machines run as root, where Chromium refuses to start with one.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The newest modification time of the files under `path` (a file or a folder). */
function newest(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(info.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/**
 * Builds the page as `npm run build` does, so the server serves what the sources say, unless the
 * build is newer than every source (`npm test` builds it first). Test files run in parallel, and
 * a build empties `dist/` first: one test's build must not pull the page from under another's.
 */
export function buildPage(): void {
  const web = join(ROOT, 'packages/web');
  const built = join(web, 'dist/index.html');
  const sources = ['src', 'static', 'build.mjs', 'uppy-add-files-patch.mjs'].map((name) => join(web, name));
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newest))) return;
  const result = spawnSync(process.execPath, [join(ROOT, 'packages/web/build.mjs')], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building the page failed: ${result.stderr}`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** The state of each row of the queue, by file name. */
export function queueStates(page: Page): Promise<Record<string, string>> {
  return page.$$eval('#queue tbody tr', (rows) =>
    Object.fromEntries(
      rows.map((r) => [(r as HTMLElement).dataset.name ?? '', r.querySelector('.state')?.textContent ?? '']),
    ),
  );
}

/** Waits until every named file's row is in one of `states` (data-state), up to `timeoutMs`. */
export async function waitForStates(page: Page, names: string[], states: string[], timeoutMs = 120_000): Promise<void> {
  await page.waitForFunction(
    ([wanted, ok]) =>
      (wanted as string[]).every((name) => {
        const row = [...document.querySelectorAll<HTMLElement>('#queue tbody tr')].find((r) => r.dataset.name === name);
        return row !== undefined && (ok as string[]).includes(row.dataset.state ?? '');
      }),
    [names, states],
    { timeout: timeoutMs, polling: 100 },
  );
}
