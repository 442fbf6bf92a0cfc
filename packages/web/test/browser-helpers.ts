/** Shared by the browser tests: the page built, Chromium, services, a scratch folder; a user signed up, a space chosen. */
import { rm } from 'node:fs/promises';
import { after, before } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { buildPage, launchChromium } from '../../../support/browser.ts';
import { Services, tempDir } from '../../../test/e2e/harness.ts';

/** The server and BSS on the disk backend; BSS's CORS open to the page's origin. */
export function startServices(): Promise<Services> {
  return Services.start({ backend: { name: 'fs', env: { STORAGE: 'fs', CORS_ORIGINS: '*' } } });
}

export interface BrowserRig<S> {
  browser: Browser;
  services: S;
  /** A scratch folder for the files the tests drop on the page. */
  dir: string;
}

/**
 * Hooks of the calling `describe`: before its tests, the page built, Chromium launched, a scratch
 * folder made and `start()`'s services up, one after another (so whatever started is closed by
 * the after hook when a later start fails); after them, all of it closed and removed.
 */
export function browserRig<S extends { close(): Promise<unknown> }>(
  scratchPrefix: string,
  start: () => Promise<S>,
): BrowserRig<S> {
  const rig: Partial<BrowserRig<S>> = {};
  before(async () => {
    buildPage();
    rig.browser = await launchChromium();
    rig.dir = await tempDir(scratchPrefix);
    rig.services = await start();
  });
  after(async () => {
    await rig.browser?.close();
    await rig.services?.close();
    if (rig.dir) await rm(rig.dir, { recursive: true, force: true });
  });
  return rig as BrowserRig<S>;
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
