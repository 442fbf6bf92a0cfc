/**
 * `npm run bench`: measures speed and memory and prints tables, each figure beside the raw
 * limit (floor) measured in the same run on the same machine.
 *
 *   npm run bench                        # everything (2 GiB through BSS, 1 GiB and 100,000 files through the CLI)
 *   npm run bench -- --quick             # smaller sizes and shorter loads, for a first look
 *   npm run bench -- --only grants,files # some sections: presign, bss, large, s3, s3-files, downloads, grants, files,
 *                                        # many, web, web-files, versions, sync, versions-baseline (not in a full run:
 *                                        # builds the code before versioning)
 */

import { spawnSync } from 'node:child_process';
import { partCount } from '@dreamlake/protocol';
import { choosePartSize } from '@dreamlake/protocol/client';
import { runBssMemoryBench } from '../packages/bss/bench/memory.ts';
import { runUploadBench } from '../packages/cli/bench/upload.ts';
import { commandCost } from './bench-cli.ts';
import { runDownloadBench } from './bench-downloads.ts';
import { runGrantBench } from './bench-grants.ts';
import { waitForQuiet } from './bench-machine.ts';
import { runManyFilesBench, runSmallFilesBench } from './bench-many-files.ts';
import type { BenchRow } from './bench-presign.ts';
import { runPresignBench } from './bench-presign.ts';
import { runS3Bench } from './bench-s3.ts';
import { runS3FilesBench } from './bench-s3-files.ts';
import { BenchServices, CLI_BIN, cleanUpOnSignal } from './bench-services.ts';
import { runSyncBench } from './bench-sync.ts';
import { BASELINE_COMMIT, runBaselineBench, runVersionsBench } from './bench-versions.ts';
import { runWebBench } from './bench-web.ts';
import { runWebFilesBench } from './bench-web-files.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? new Set((args[onlyAt + 1] ?? '').split(',')) : undefined;
const MiB = 1024 * 1024;
const log = (line: string) => process.stderr.write(`${line}\n`);
/** The parts the CLI cuts a file into: the shared part plan (its last `--json` line is the snapshot, not the file). */
const partsOf = (sizeMiB: number) =>
  `${partCount(sizeMiB * MiB, choosePartSize(sizeMiB * MiB))} parts of ${choosePartSize(sizeMiB * MiB) / MiB} MiB`;

interface Section {
  key: string;
  title: string;
  /** Runs only when named by --only. */
  onlyWhenAsked?: boolean;
  run: () => Promise<BenchRow[]>;
}

const sections: Section[] = [
  { key: 'presign', title: 'Presign', run: async () => runPresignBench() },
  {
    key: 'bss',
    title: 'Large files: BSS',
    run: async () => {
      const bssBytes = (quick ? 256 : 2048) * MiB;
      const bss = await runBssMemoryBench({ totalBytes: bssBytes });
      return [
        {
          measure: `BSS RSS during a ${bssBytes / MiB} MiB upload (${bss.parts} parts of ${bss.partBytes / MiB} MiB, ${bss.concurrency} at a time)`,
          result: `baseline ${bss.rssBaselineMiB} MiB, peak ${bss.rssPeakMiB} MiB, high-water ${bss.rssHighWaterMiB} MiB`,
          rawLimit: '-',
          note: 'flat: the peak does not grow with the upload size',
        },
        {
          measure: `BSS upload + complete (SHA-256 verified), ${bssBytes / MiB} MiB`,
          result: `${bss.throughputMiBps} MiB/s (${bss.uploadSeconds} s + ${bss.completeSeconds} s)`,
          rawLimit: `${bss.rawWriteMiBps} MiB/s plain stream write of the same bytes`,
        },
      ];
    },
  },
  {
    key: 'large',
    title: 'Large files: CLI',
    run: async () => {
      const cliMiB = quick ? 256 : 1024;
      const services = await BenchServices.start();
      try {
        const rows: BenchRow[] = [];
        const up = await runUploadBench({ serverUrl: services.serverUrl, sizeMiB: cliMiB });
        const { raw } = up;
        rows.push({
          measure: `dreamlake upload ${cliMiB} MiB end to end (hash, ${partsOf(cliMiB)}, ${up.concurrency} in flight, verify, register)`,
          result: `${up.cli.mibPerSec} MiB/s, CLI peak RSS ${up.cli.peakRssMiB} MiB`,
          rawLimit: `${raw.floorMiBPerSec} MiB/s: read+SHA-256 (${raw.readSha256MiBPerSec} MiB/s), then a loopback PUT written to a file (${raw.loopbackPutMiBPerSec} MiB/s); ${raw.durableFloorMiBPerSec} MiB/s with that file flushed to disk (${raw.loopbackPutSyncedMiBPerSec} MiB/s)`,
          note: `${(up.cli.mibPerSec / raw.floorMiBPerSec).toFixed(2)}× the floor, ${(up.cli.mibPerSec / raw.durableFloorMiBPerSec).toFixed(2)}× the durable floor (BSS flushes every part to disk before complete answers, all at once); hash ${up.cli.phases.hashSeconds} s, parts ${up.cli.phases.partsSeconds} s, complete+register ${up.cli.phases.finishSeconds} s`,
        });
        // Peak RSS from a small to a large file: flat when the CLI streams.
        for (const sizeMiB of quick ? [256] : [256, 4096]) {
          if (sizeMiB === cliMiB) continue;
          const other = await runUploadBench({ serverUrl: services.serverUrl, sizeMiB, floors: false });
          rows.push({
            measure: `dreamlake upload ${sizeMiB} MiB: CLI peak RSS`,
            result: `${other.cli.peakRssMiB} MiB (${other.cli.mibPerSec} MiB/s)`,
            rawLimit: '-',
            note: partsOf(sizeMiB),
          });
        }
        const version = await commandCost([CLI_BIN, '--version']);
        const bare = await commandCost(['-e', '0']);
        rows.push({
          measure: '`dreamlake --version`: wall time, peak RSS',
          result: `${version.seconds.toFixed(3)} s, ${version.rssMiB.toFixed(0)} MiB`,
          rawLimit: `${bare.seconds.toFixed(3)} s, ${bare.rssMiB.toFixed(0)} MiB: \`node -e 0\``,
          note: 'medians of 5; the compiled CLI (dist)',
        });
        return rows;
      } finally {
        await services.close();
      }
    },
  },
  {
    key: 's3',
    title: 'Large files: S3 backend against lib-storage',
    run: () => runS3Bench({ sizeMiB: 256 }),
  },
  {
    key: 's3-files',
    title: 'Many files: 1,000 × 20 KiB to the S3 backend against rclone and aws-cli',
    run: () => runS3FilesBench({ count: 1000, bytes: 20 * 1024 }),
  },
  {
    key: 'downloads',
    title: 'Downloads',
    run: () => runDownloadBench({ largeMiB: quick ? 256 : 1024, files: 1000, bytesEach: 20_000 }),
  },
  {
    key: 'grants',
    title: 'Upload grants',
    run: async () => {
      const services = await BenchServices.start();
      try {
        return await runGrantBench({ services, durationMs: quick ? 3000 : 5000 });
      } finally {
        await services.close();
      }
    },
  },
  {
    key: 'files',
    title: 'Many files: 1,000 × 20 KiB',
    run: () => runSmallFilesBench({ count: 1000, bytes: 20 * 1024 }),
  },
  {
    key: 'many',
    title: `Many files: ${quick ? '10,000' : '100,000'} × 1 KiB`,
    run: () => runManyFilesBench({ count: quick ? 10_000 : 100_000, bytes: 1024 }),
  },
  {
    key: 'web',
    title: 'Web page against the CLI: 256 MiB',
    run: () => runWebBench({ sizeMiB: 256 }),
  },
  {
    key: 'web-files',
    title: `Web page against the CLI: ${quick ? '2,000' : '10,000'} × 20 KiB`,
    run: () => runWebFilesBench({ count: quick ? 2000 : 10_000, bytes: 20 * 1024 }),
  },
  {
    key: 'versions',
    title: 'Versioned spaces',
    run: () => runVersionsBench(quick ? { draftEntries: 10_000, largeSpace: 100_000 } : {}),
  },
  {
    key: 'sync',
    title: `Sync: ${quick ? '10,000' : '100,000'} × 1 KiB`,
    run: () => runSyncBench(quick ? { count: 10_000 } : {}),
  },
  {
    key: 'versions-baseline',
    title: `Many files: 1,000 × 20 KiB against ${BASELINE_COMMIT} (before versioning)`,
    onlyWhenAsked: true,
    run: () => runBaselineBench(),
  },
];

cleanUpOnSignal();
// The CLI and the services run their compiled dist/; the CLI would run its sources through tsx
// instead if they were newer than its build, and the services an older build: either would
// measure something else than this checkout's code. Build everything first.
log('building…');
const build = spawnSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) {
  log('npm run build failed: nothing measured');
  process.exit(1);
}
const printed: string[] = [];
for (const section of sections) {
  if (only ? !only.has(section.key) : section.onlyWhenAsked) continue;
  const busyBefore = await waitForQuiet(quick ? 20_000 : 120_000);
  log(`${section.title}… (cores ${(busyBefore * 100).toFixed(0)}% busy before it)`);
  const started = performance.now();
  let rows: BenchRow[];
  try {
    rows = await section.run();
  } catch (error) {
    process.exitCode = 1;
    log(`${section.title} failed: ${(error as Error).stack ?? String(error)}`);
    rows = [
      {
        measure: section.title,
        result: 'failed',
        rawLimit: '-',
        note: `\`${(error as Error).message.replace(/\s+/g, ' ').slice(0, 400)}\``,
      },
    ];
  }
  const seconds = (performance.now() - started) / 1000;
  const machine = `cores ${(busyBefore * 100).toFixed(0)}% busy just before the section; ${seconds.toFixed(0)} s`;
  log(`  (${machine})`);
  printed.push(
    `### ${section.title}`,
    '',
    `_${machine}_`,
    '',
    '| measure | result | raw limit (same run) | note |',
    '|---|---|---|---|',
  );
  for (const row of rows) printed.push(`| ${row.measure} | ${row.result} | ${row.rawLimit} | ${row.note ?? ''} |`);
  printed.push('');
}
console.log(printed.join('\n'));
