/** Shared by the browser tests: the services started, a user signed up, a space chosen. */
import type { Page } from 'playwright-core';
import { Services } from '../../cli/test/e2e/harness.ts';

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
