/** Shared by the browser tests: the page built, the services started, Chromium launched. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ROOT, Services } from '../../cli/test/e2e/harness.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const BROWSER_SKIP = existsSync(CHROMIUM)
  ? false
  : `Chromium is not installed at ${CHROMIUM} (Debian package chromium)`;

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Builds the page as `npm run build` does, so the server serves what the sources say. */
export function buildPage(): void {
  const result = spawnSync(process.execPath, [join(ROOT, 'packages/web/build.mjs')], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building the page failed: ${result.stderr}`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** The server and BSS on the disk backend; BSS's CORS open to the page's origin. */
export function startServices(): Promise<Services> {
  return Services.start({ backend: { name: 'fs', env: { STORAGE: 'fs', CORS_ORIGINS: '*' } } });
}

export async function signUp(page: Page, serverUrl: string, username: string): Promise<void> {
  await page.goto(`${serverUrl}/`);
  await page.fill('#username', username);
  await page.fill('#password', 'correct horse battery staple');
  await page.click('#signup-button');
  await page.waitForSelector('#app:not([hidden])');
}

export async function chooseSpace(page: Page, space: string): Promise<void> {
  await page.fill('#space', space);
  await page.click('#show-files');
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
