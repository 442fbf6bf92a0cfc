/** Folders for the page's tests: mixed sizes written with their SHA-256, and the space's index read back. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ServerApi, transport } from '@dreamlake/protocol/client';
import type { Page } from 'playwright-core';
import { MIB, makeFile, sha256File } from '../../../test/e2e/harness.ts';

/** A small deterministic generator, so a failing run can be made again. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/**
 * A folder as a camera run leaves it: `large` files of 30 MiB, `medium` ones from 100 KB to
 * 12 MiB (some above the 8 MiB single-shot limit), and `small` ones from 1 KB to 40 KB, in a few
 * subfolders. Answers each file's name in the space (the folder's name first) and SHA-256.
 */
export async function mixedFolder(
  parent: string,
  name: string,
  counts: { small: number; medium: number; large: number },
  seed: number,
): Promise<Record<string, string>> {
  const next = random(seed);
  const root = join(parent, name);
  const expected: Record<string, string> = {};
  for (const sub of ['frames', 'lidar', 'video']) await mkdir(join(root, sub), { recursive: true });
  for (let i = 0; i < counts.small; i += 1) {
    const rel = `frames/frame${String(i).padStart(4, '0')}.png`;
    const bytes = randomBytes(1000 + Math.floor(next() * 40_000));
    await writeFile(join(root, rel), bytes);
    expected[`${name}/${rel}`] = createHash('sha256').update(bytes).digest('hex');
  }
  for (let i = 0; i < counts.medium; i += 1) {
    const rel = `lidar/sweep${i}.bin`;
    await makeFile(join(root, rel), 100_000 + Math.floor(next() * 12 * MIB), seed * 1000 + i);
    expected[`${name}/${rel}`] = await sha256File(join(root, rel));
  }
  for (let i = 0; i < counts.large; i += 1) {
    const rel = `video/cam${i}.mp4`;
    await makeFile(join(root, rel), 30 * MIB, seed * 1000 + 500 + i);
    expected[`${name}/${rel}`] = await sha256File(join(root, rel));
  }
  return expected;
}

/** The page's session token (the tests read the index with it, as the page's user). */
export function pageToken(page: Page): Promise<string> {
  return page.evaluate(() => sessionStorage.getItem('dreamlake.token') ?? '');
}

/** The space's index as the server answers it: each name's SHA-256. */
export async function indexHashes(
  serverUrl: string,
  token: string,
  namespace: string,
  space: string,
): Promise<Record<string, string>> {
  const api = new ServerApi(serverUrl, transport(), { token: () => token });
  const { files } = await api.listFiles(namespace, space);
  return Object.fromEntries(files.map((f) => [f.name, f.hash]));
}

/** Every queue row's state (data-state), by name; a name shown twice lists both. */
export function rowStates(page: Page): Promise<Array<[string, string]>> {
  return page.$$eval('#queue tbody tr', (rows) =>
    rows.map(
      (r) => [(r as HTMLElement).dataset.name ?? '', (r as HTMLElement).dataset.state ?? ''] as [string, string],
    ),
  );
}

/** Makes the page's watchdog quick (seconds without a sign of life before a file fails), before the page loads. */
export async function quickWatchdog(page: Page, seconds: number): Promise<void> {
  await page.addInitScript((s) => localStorage.setItem('dreamlake.idleSeconds', String(s)), seconds);
}

/** A gate the test opens: requests held at it wait until then. */
export function gate(): { wait: Promise<void>; open(): void } {
  let open: () => void = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** BSS's requests answered so far, from its `/metrics`: preflights, and requests of several small bodies. */
export async function bssRequests(bssUrl: string): Promise<{ preflights: number; bundles: number }> {
  const text = await (await fetch(`${bssUrl}/metrics`)).text();
  const sum = (match: (labels: string) => boolean) =>
    text
      .split('\n')
      .filter((line) => line.startsWith('dreamlake_http_requests_total{'))
      .filter((line) => match(line.slice(line.indexOf('{'), line.indexOf('}') + 1)))
      .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return {
    preflights: sum((labels) => labels.includes('method="OPTIONS"')),
    bundles: sum((labels) => labels.includes('method="POST"') && labels.includes('route="/upload/singles"')),
  };
}
