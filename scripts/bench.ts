/**
 * `npm run bench`: measures speed and memory and prints one table, each figure beside the raw
 * limit measured in the same run on the same machine.
 *
 *   npm run bench                 # everything (about 2 GiB through BSS, 1 GiB through the CLI)
 *   npm run bench -- --quick      # smaller sizes, for a first look
 */
import { runPresignBench, type BenchRow } from './bench-presign.ts';
import { runBssMemoryBench } from '../packages/bss/bench/memory.ts';
import { runUploadBench } from '../packages/cli/bench/upload.ts';
import { Services, backends } from '../packages/cli/test/e2e/harness.ts';

const quick = process.argv.includes('--quick');
const MiB = 1024 * 1024;
const rows: BenchRow[] = [];
const log = (line: string) => process.stderr.write(`${line}\n`);

log('presign verify…');
rows.push(...runPresignBench());

const bssBytes = (quick ? 256 : 2048) * MiB;
log(`BSS memory, ${bssBytes / MiB} MiB upload…`);
const bss = await runBssMemoryBench({ totalBytes: bssBytes });
rows.push({
  measure: `BSS RSS during a ${bssBytes / MiB} MiB upload (${bss.parts} parts of ${bss.partBytes / MiB} MiB, ${bss.concurrency} at a time)`,
  result: `baseline ${bss.rssBaselineMiB} MiB, peak ${bss.rssPeakMiB} MiB, high-water ${bss.rssHighWaterMiB} MiB`,
  rawLimit: '-',
  note: 'flat: the peak does not grow with the upload size',
});
rows.push({
  measure: `BSS upload + complete (SHA-256 verified), ${bssBytes / MiB} MiB`,
  result: `${bss.throughputMiBps} MiB/s (${bss.uploadSeconds} s + ${bss.completeSeconds} s)`,
  rawLimit: `${bss.rawWriteMiBps} MiB/s plain stream write of the same bytes`,
});

const cliMiB = quick ? 256 : 1024;
log(`CLI upload, ${cliMiB} MiB…`);
const services = await Services.start({ backend: backends()[0]! });
try {
  const up = await runUploadBench({ serverUrl: services.serverUrl, sizeMiB: cliMiB });
  rows.push({
    measure: `dreamlake upload ${cliMiB} MiB end to end (hash, ${up.cli.partsTotal} parts, ${up.concurrency} in flight, verify, register)`,
    result: `${up.cli.mibPerSec} MiB/s, CLI peak RSS ${up.cli.peakRssMiB} MiB`,
    rawLimit: `${up.raw.readSha256MiBPerSec} MiB/s read+SHA-256; ${up.raw.loopbackPutMiBPerSec} MiB/s raw loopback PUT`,
    note: `hash ${up.cli.phases.hashSeconds} s, parts ${up.cli.phases.partsSeconds} s, complete+register ${up.cli.phases.finishSeconds} s; the file is read twice (hash, send) and BSS re-reads it to verify`,
  });
} finally {
  await services.close();
}

console.log('| measure | result | raw limit (same run) | note |');
console.log('|---|---|---|---|');
for (const row of rows) console.log(`| ${row.measure} | ${row.result} | ${row.rawLimit} | ${row.note ?? ''} |`);
