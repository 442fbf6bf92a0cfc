/**
 * The web page against the CLI on a folder of many small files (10,000 × 20 KiB by default): the
 * same folder uploaded by the `dreamlake` bin and by the page in headless Chromium (the folder
 * picked as a user would, hashing, batch grants, single-shot PUTs, one snapshot), in the same
 * run, to the same server and BSS (disk backend, SQLite, loopback).
 *
 *   node --import tsx scripts/bench-web-files.ts [files] [bytes]
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildPage, launchChromium } from '../support/browser.ts';
import { runCliUpload } from './bench-cli.ts';
import type { BenchRow } from './bench-presign.ts';
import { removeTemp, tempDir } from './bench-services.ts';
import { makeSmallFiles } from './bench-small-files.ts';
import { signup, startServices } from './bench-web.ts';

export interface WebFilesBenchOptions {
  count: number;
  bytes: number;
}

export async function runWebFilesBench(options: WebFilesBenchOptions): Promise<BenchRow[]> {
  buildPage();
  const dir = await tempDir('dreamlake-bench-web-files-');
  const services = await startServices(dir);
  const browser = await launchChromium();
  try {
    const folder = await makeSmallFiles(dir, 'frames', options.count, options.bytes);
    const suffix = randomBytes(3).toString('hex');

    const cliToken = await signup(services.serverUrl, `cli${suffix}`);
    const cli = await runCliUpload({
      paths: [folder.dir],
      to: `cli${suffix}/bench`,
      serverUrl: services.serverUrl,
      token: cliToken,
      home: `${dir}/home`,
      timeoutMs: 1_800_000,
    });

    const webToken = await signup(services.serverUrl, `web${suffix}`);
    const page = await browser.newPage();
    await page.addInitScript((token) => sessionStorage.setItem('dreamlake.token', token), webToken);
    await page.goto(`${services.serverUrl}/`);
    await page.waitForSelector('#app:not([hidden])');
    await page.fill('#space', 'bench');
    // BENCH_WEB_PROFILE=file.cpuprofile: a CPU profile of the page's thread from the pick to the version (DevTools opens it).
    const profileTo = process.env.BENCH_WEB_PROFILE;
    const cdp = profileTo ? await page.context().newCDPSession(page) : undefined;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    const started = performance.now();
    await page.setInputFiles('#drop input[webkitdirectory]', folder.dir);
    await page.waitForFunction(() => document.querySelector('#commit-status')?.textContent !== '', undefined, {
      timeout: 1_800_000,
      polling: 200,
    });
    const webSeconds = (performance.now() - started) / 1000;
    if (cdp && profileTo) await writeFile(profileTo, JSON.stringify((await cdp.send('Profiler.stop')).profile));
    const status = (await page.textContent('#commit-status')) ?? '';
    const summary = (await page.textContent('#queue-summary')) ?? '';
    if (!new RegExp(`${options.count.toLocaleString('en')} files: ${options.count} added`).test(status)) {
      throw new Error(`the page did not make one version of every file: ${status} (${summary})`);
    }
    const cliRate = options.count / cli.seconds;
    const webRate = options.count / webSeconds;
    const kib = Math.round(options.bytes / 1024);
    return [
      {
        measure: `web page upload of a folder of ${options.count.toLocaleString('en')} × ${kib} KiB in headless Chromium (hash in a worker, batch grants, single-shot PUTs, one snapshot)`,
        result: `${webRate.toFixed(0)} files/s (${webSeconds.toFixed(1)} s)`,
        rawLimit: `CLI, same folder, same run: ${cliRate.toFixed(0)} files/s (${cli.seconds.toFixed(1)} s)`,
        note: `page / CLI = ${(webRate / cliRate).toFixed(2)} (target ≥ 0.5); the page's time runs from picking the folder to the version made`,
      },
    ];
  } finally {
    await browser.close();
    await services.stop();
    await removeTemp(dir);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await runWebFilesBench({
    count: Number(process.argv[2] ?? 10_000),
    bytes: Number(process.argv[3] ?? 20 * 1024),
  });
  for (const row of rows) console.log(`${row.measure}\n  ${row.result}\n  ${row.rawLimit}\n  ${row.note}`);
}
