/**
 * The web page against the CLI on a folder of many small files (10,000 × 20 KiB by default): the
 * same folder uploaded by the `dreamlake` bin and by the page in headless Chromium (the folder
 * picked as a user would, hashing, batch grants, single-shot PUTs, one snapshot), in the same
 * run, to the same server and BSS (disk backend, SQLite, loopback).
 *
 * With several rounds, the CLI and the page take turns (CLI first in odd rounds, the page first in
 * even ones), each into a space of its own, so a shared machine's load weighs on both alike; each
 * round's ratio is reported with the load average.
 *
 *   node --import tsx scripts/bench-web-files.ts [files] [bytes] [rounds]
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { buildPage, launchChromium } from '../support/browser.ts';
import { runCliUpload } from './bench-cli.ts';
import type { BenchRow } from './bench-presign.ts';
import { removeTemp, tempDir } from './bench-services.ts';
import { makeSmallFiles } from './bench-small-files.ts';
import { signup, startServices } from './bench-web.ts';

export interface WebFilesBenchOptions {
  count: number;
  bytes: number;
  /** CLI and page turns (default 2: each goes first once). */
  rounds?: number;
}

export async function runWebFilesBench(options: WebFilesBenchOptions): Promise<BenchRow[]> {
  buildPage();
  const dir = await tempDir('dreamlake-bench-web-files-');
  const services = await startServices(dir);
  const browser = await launchChromium();
  try {
    const folder = await makeSmallFiles(dir, 'frames', options.count, options.bytes);
    const kib = Math.round(options.bytes / 1024);
    const rows: BenchRow[] = [];
    const rounds = options.rounds ?? 2;
    for (let round = 1; round <= rounds; round += 1) {
      const load = loadavg()[0]?.toFixed(1);
      const cliFirst = round % 2 === 1;
      let cliSeconds = 0;
      let cliCpu = 0;
      let webSeconds = 0;
      let page: PageCost = { taskSeconds: 0, scriptSeconds: 0, styleAndLayoutSeconds: 0 };
      let cliServices = { bss: 0, server: 0, requests: '' };
      let webServices = { bss: 0, server: 0, requests: '' };
      /** The services' CPU seconds during `run`, and the requests they answered. */
      const servicesDuring = async (run: () => Promise<void>) => {
        const before = await services.cpuSeconds();
        const asked = await requestCounts(services.serverUrl, services.bssUrl);
        await run();
        const after = await services.cpuSeconds();
        const requests = (await requestCounts(services.serverUrl, services.bssUrl)).since(asked);
        return { bss: after.bss - before.bss, server: after.server - before.server, requests };
      };
      const cli = async () => {
        cliServices = await servicesDuring(async () => {
          ({ seconds: cliSeconds, cpuSeconds: cliCpu } = await cliUpload(
            services.serverUrl,
            folder.dir,
            `${dir}/home`,
          ));
        });
      };
      const web = async () => {
        const profileTo = process.env.BENCH_WEB_PROFILE;
        webServices = await servicesDuring(async () => {
          ({ seconds: webSeconds, cost: page } = await pageUpload(
            browser,
            services.serverUrl,
            folder.dir,
            options.count,
            round === 1 ? profileTo : undefined,
          ));
        });
      };
      if (cliFirst) {
        await cli();
        await web();
      } else {
        await web();
        await cli();
      }
      const cliRate = options.count / cliSeconds;
      const webRate = options.count / webSeconds;
      const of =
        rounds > 1 ? ` (round ${round} of ${rounds}, ${cliFirst ? 'CLI' : 'page'} first, load average ${load})` : '';
      rows.push({
        measure: `web page upload of a folder of ${options.count.toLocaleString('en')} × ${kib} KiB in headless Chromium (hash in a worker, batch grants, bundled single-shot POSTs, one snapshot)${of}`,
        result: `${webRate.toFixed(0)} files/s (${webSeconds.toFixed(1)} s)`,
        rawLimit: `CLI, same folder, same run: ${cliRate.toFixed(0)} files/s (${cliSeconds.toFixed(1)} s)`,
        note:
          `page / CLI = ${(webRate / cliRate).toFixed(2)} (target ≥ 0.5); the page's time runs from picking the folder to the version made. ` +
          `CPU s: page's thread busy ${page.taskSeconds.toFixed(1)} (script ${page.scriptSeconds.toFixed(1)}, style and layout ${page.styleAndLayoutSeconds.toFixed(1)}), ` +
          `BSS ${webServices.bss.toFixed(1)}, server ${webServices.server.toFixed(1)}; ` +
          `CLI ${cliCpu.toFixed(1)}, BSS ${cliServices.bss.toFixed(1)}, server ${cliServices.server.toFixed(1)}. ` +
          `Requests: page ${webServices.requests}; CLI ${cliServices.requests}`,
      });
    }
    return rows;
  } finally {
    await browser.close();
    await services.stop();
    await removeTemp(dir);
  }
}

/** Requests each service has answered so far, by method and route (its `/metrics`). */
interface RequestCounts {
  counts: Map<string, number>;
  /** The requests since `earlier`, most first: "server POST /uploads/batch 12, BSS POST /upload/singles 100, …". */
  since(earlier: RequestCounts): string;
}

async function requestCounts(serverUrl: string, bssUrl: string): Promise<RequestCounts> {
  const read = async (url: string, who: string) => {
    const counts = new Map<string, number>();
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (!line.startsWith('dreamlake_http_requests_total{')) continue;
      const labels = line.slice(line.indexOf('{'), line.indexOf('}') + 1);
      const method = /method="([^"]*)"/.exec(labels)?.[1] ?? '?';
      const route = /route="([^"]*)"/.exec(labels)?.[1] ?? '?';
      if (route === '/metrics' || route === '/healthz') continue;
      const key = `${who} ${method} ${route}`;
      counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
    }
    return counts;
  };
  const counts = new Map([...(await read(serverUrl, 'server')), ...(await read(bssUrl, 'BSS'))]);
  return {
    counts,
    since(earlier) {
      const before = earlier.counts;
      return [...counts]
        .map(([key, n]) => [key, n - (before.get(key) ?? 0)] as const)
        .filter(([, n]) => n > 0)
        .sort((a, b) => b[1] - a[1])
        .map(([key, n]) => `${key} ${n}`)
        .join(', ');
    },
  };
}

/** What the page's thread spent (Chromium's Performance domain): busy, in script, in style and layout. */
interface PageCost {
  taskSeconds: number;
  scriptSeconds: number;
  styleAndLayoutSeconds: number;
}

/** The CLI uploads the folder into a space of a new user: its seconds and CPU seconds. */
async function cliUpload(
  serverUrl: string,
  folder: string,
  home: string,
): Promise<{ seconds: number; cpuSeconds: number }> {
  const user = `cli${randomBytes(3).toString('hex')}`;
  const token = await signup(serverUrl, user);
  const cli = await runCliUpload({
    paths: [folder],
    to: `${user}/bench`,
    serverUrl,
    token,
    home,
    timeoutMs: 1_800_000,
  });
  return { seconds: cli.seconds, cpuSeconds: cli.cpuSeconds };
}

/**
 * The page uploads the folder into a space of a new user (picked as a user would: the folder
 * input): its seconds from the pick to the version made. `profileTo`: a CPU profile of the page's
 * thread over that time (DevTools opens it).
 */
async function pageUpload(
  browser: Browser,
  serverUrl: string,
  folder: string,
  count: number,
  profileTo: string | undefined,
): Promise<{ seconds: number; cost: PageCost }> {
  const token = await signup(serverUrl, `web${randomBytes(3).toString('hex')}`);
  const page = await browser.newPage();
  try {
    await page.addInitScript((t) => sessionStorage.setItem('dreamlake.token', t), token);
    await page.goto(`${serverUrl}/`);
    await page.waitForSelector('#app:not([hidden])');
    await page.fill('#space', 'bench');
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
    const metrics = async () =>
      Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    if (profileTo) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    const before = await metrics();
    const started = performance.now();
    await page.setInputFiles('#drop input[webkitdirectory]', folder);
    await page.waitForFunction(() => document.querySelector('#commit-status')?.textContent !== '', undefined, {
      timeout: 1_800_000,
      polling: 200,
    });
    const seconds = (performance.now() - started) / 1000;
    const after = await metrics();
    const spent = (...names: string[]) => names.reduce((sum, n) => sum + (after[n] ?? 0) - (before[n] ?? 0), 0);
    const cost = {
      taskSeconds: spent('TaskDuration'),
      scriptSeconds: spent('ScriptDuration'),
      styleAndLayoutSeconds: spent('RecalcStyleDuration', 'LayoutDuration'),
    };
    if (profileTo) await writeFile(profileTo, JSON.stringify((await cdp.send('Profiler.stop')).profile));
    const status = (await page.textContent('#commit-status')) ?? '';
    const summary = (await page.textContent('#queue-summary')) ?? '';
    if (!new RegExp(`${count.toLocaleString('en')} files: ${count} added`).test(status)) {
      throw new Error(`the page did not make one version of every file: ${status} (${summary})`);
    }
    return { seconds, cost };
  } finally {
    await page.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await runWebFilesBench({
    count: Number(process.argv[2] ?? 10_000),
    bytes: Number(process.argv[3] ?? 20 * 1024),
    rounds: Number(process.argv[4] ?? 2),
  });
  for (const row of rows) console.log(`${row.measure}\n  ${row.result}\n  ${row.rawLimit}\n  ${row.note}`);
}
