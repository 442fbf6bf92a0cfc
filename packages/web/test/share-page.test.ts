/**
 * A share link's page in Chromium, opened by someone with no account: the files it names with
 * their sizes and SHA-256, the version and manifestHash it pins, a download button that brings
 * the right bytes, and no axe-core violation.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { BROWSER_SKIP } from '../../../support/browser.ts';
import { runCli, signedUpUser } from '../../../test/e2e/harness.ts';
import { browserRig, startServices } from './browser-helpers.ts';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}

/** axe-core's violations on the whole page (every rule axe runs by default, best practices too). */
async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(c: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document);
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
  });
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('a share link’s page', { skip: BROWSER_SKIP }, () => {
  const rig = browserRig('dreamlake-share-page-', startServices);

  test('lists the files, their sizes and SHA-256, the version and manifestHash; a download button brings the right bytes; no axe violation', async () => {
    const { serverUrl } = rig.services;
    const { env, user, home } = await signedUpUser(serverUrl, join(rig.dir, 'home'), 'sp');
    const data = join(rig.dir, 'data');
    await mkdir(data, { recursive: true });
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 120; i += 1) {
      const name = `shot-${String(i).padStart(3, '0')}.bin`;
      const bytes = randomBytes(500 + i * 7);
      files.set(`data/${name}`, bytes);
      await writeFile(join(data, name), bytes);
    }
    const space = `${user}/shots`;
    assert.equal((await runCli(['upload', data, '--to', space], env)).code, 0);
    const made = await runCli(['share', `${space}@1`, '--json'], env);
    assert.equal(made.code, 0, made.stderr);
    const link = JSON.parse(made.stdout) as { url: string };

    // Head moves on: the page still shows version 1.
    await writeFile(join(data, 'shot-000.bin'), 'changed\n');
    assert.equal((await runCli(['upload', data, '--to', space], env)).code, 0);

    const token = JSON.parse(await readFile(join(home, 'config.json'), 'utf8')).token as string;
    const snapshot = await fetch(`${serverUrl}/namespaces/${user}/spaces/shots/snapshots/1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const { manifestHash } = (await snapshot.json()).snapshot as { manifestHash: string };

    // A fresh browser context: no session, no token, only the link.
    const context = await rig.browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    const answer = await page.goto(link.url);
    assert.equal(answer?.status(), 200);
    assert.equal(await page.textContent('#version'), '1');
    assert.equal(await page.textContent('#manifest-hash'), manifestHash);
    const rows = await page.$$eval('tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('th, td')].map((c) => c.textContent?.trim() ?? '')),
    );
    assert.equal(rows.length, 120);
    for (const [name, size, hash, button] of rows) {
      const bytes = files.get(name as string);
      assert.ok(bytes, `${name} is one of the shared files`);
      assert.match(size as string, new RegExp(`\\(${bytes.length} bytes\\)|^${bytes.length} bytes$`));
      assert.equal(hash, sha256(bytes), `${name}: version 1's SHA-256`);
      assert.equal(button, 'Download');
    }

    const name = 'data/shot-000.bin';
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: `Download ${name}`, exact: true }).click(),
    ]);
    const saved = await download.path();
    assert.ok((await readFile(saved)).equals(files.get(name) as Buffer), 'the button brings version 1’s bytes');

    assert.deepEqual(await axeViolations(page), []);
    assert.deepEqual(cspErrors, [], 'nothing on the page is refused by its CSP');
    await context.close();
  });
});
