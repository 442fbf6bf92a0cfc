/**
 * Memory benchmark: uploads a large file (default 2 GiB, in 64 MiB parts, 4 at a time) through a
 * BSS child process on the disk backend, samples the child's resident memory while it receives,
 * assembles and verifies it, and compares the time with the raw limit (writing the same bytes
 * to disk with a plain stream).
 *
 *   npx tsx packages/bss/bench/memory.ts [totalMiB] [partMiB] [concurrency]
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { presign } from '@dreamlake/presign';
import { mapLimit, multipartPath, UPLOAD_STEPS, type UploadStep, type UploadStepName } from '@dreamlake/protocol';
import { type Service, startService, stopChild } from '../../../support/process.ts';

const MiB = 1024 * 1024;

export interface BssMemoryBenchOptions {
  totalBytes?: number;
  partBytes?: number;
  concurrency?: number;
  /** Where the child keeps its data (a fresh temporary folder by default; removed afterwards). */
  workDir?: string;
  log?: (line: string) => void;
}

export interface BssMemoryBenchResult {
  totalBytes: number;
  partBytes: number;
  parts: number;
  concurrency: number;
  /** Resident memory of the BSS process, MiB. */
  rssBaselineMiB: number;
  rssPeakMiB: number;
  rssFinalMiB: number;
  /** The kernel's own high-water mark of the BSS process (VmHWM), MiB. */
  rssHighWaterMiB: number;
  uploadSeconds: number;
  completeSeconds: number;
  /** Upload plus complete (assembly and SHA-256 verification). */
  totalSeconds: number;
  throughputMiBps: number;
  /** Writing the same bytes to one file with a plain stream, in this run. */
  rawWriteSeconds: number;
  rawWriteMiBps: number;
}

/** The file's bytes, generated on the fly: a random 1 MiB block with each MiB's index stamped in. */
function makeSource(totalBytes: number) {
  const block = randomBytes(MiB);
  const chunk = (index: number, length: number) => {
    const buf = Buffer.from(block.subarray(0, length));
    buf.writeUInt32BE(index, 0);
    return buf;
  };
  async function* range(start: number, end: number) {
    for (let at = start; at < end; at += MiB) yield chunk(at / MiB, Math.min(MiB, end - at));
  }
  return { range, all: () => range(0, totalBytes) };
}

function readKiB(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : 0;
}

async function memoryOf(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return { rss: readKiB(status, 'VmRSS') / 1024, hwm: readKiB(status, 'VmHWM') / 1024 };
}

function startChild(dataDir: string, secret: string): Promise<Service> {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  return startService(main, {
    env: {
      PRESIGN_SECRETS: secret,
      BSS_PORT: '0',
      DREAMLAKE_DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      SWEEP_INTERVAL_SECONDS: '0',
    },
    what: 'BSS',
    // A run of gigabytes logs a line per request: keep only the last few for an error message.
    keep: 200,
  });
}

// biome-ignore lint/suspicious/noExplicitAny: a bench reads whatever JSON the service answers
async function postJson(url: string, body: unknown): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${url.split('?')[0]}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function putStream(url: string, length: number, body: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(String(res.headers.etag))
          : reject(new Error(`part PUT answered ${res.statusCode}`)),
      );
    });
    body.on('error', reject);
    body.pipe(req);
  });
}

export async function runBssMemoryBench(options: BssMemoryBenchOptions = {}): Promise<BssMemoryBenchResult> {
  const totalBytes = options.totalBytes ?? 2 * 1024 * MiB;
  const partBytes = options.partBytes ?? 64 * MiB;
  const concurrency = options.concurrency ?? 4;
  const log = options.log ?? (() => undefined);
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'bss-bench-')));
  const secret = randomBytes(32).toString('hex');
  const source = makeSource(totalBytes);
  const parts = Math.ceil(totalBytes / partBytes);

  log(`hashing ${totalBytes / MiB} MiB of generated data`);
  const sha = createHash('sha256');
  for await (const chunk of source.all()) sha.update(chunk);
  const hash = sha.digest('hex');

  const bss = await startChild(join(workDir, 'data'), secret);
  const { url } = bss;
  const pid = bss.child.pid as number;
  try {
    await new Promise((r) => setTimeout(r, 500));
    const baseline = await memoryOf(pid);
    let peak = baseline.rss;
    const sampler = setInterval(() => {
      memoryOf(pid).then(
        (m) => (peak = Math.max(peak, m.rss)),
        () => undefined,
      );
    }, 50);

    const scope = { owner: 'bench', project: 'memory', hash };
    const signed = (step: UploadStepName) => {
      const { action } = UPLOAD_STEPS.find((s) => s.step === step) as UploadStep;
      const { query } = presign({
        action,
        params: scope,
        secrets: [secret],
        now: Math.floor(Date.now() / 1000),
        ttlSeconds: 3600,
      });
      return `${url}/${multipartPath('videos', step)}?${new URLSearchParams(query)}`;
    };
    const started = Date.now();
    const { uploadId, key } = await postJson(signed('init'), {
      contentType: 'video/mp4',
      size: totalBytes,
    });
    const numbers = Array.from({ length: parts }, (_, i) => i + 1);
    const urls: Record<string, string> = (await postJson(signed('parts'), { uploadId, key, partNumbers: numbers }))
      .parts;
    const etags: { partNumber: number; etag: string }[] = [];
    await mapLimit(numbers, concurrency, async (n) => {
      const start = (n - 1) * partBytes;
      const end = Math.min(totalBytes, start + partBytes);
      const etag = await putStream(urls[String(n)] as string, end - start, Readable.from(source.range(start, end)));
      etags.push({ partNumber: n, etag });
      log(`part ${n}/${parts} sent (BSS RSS peak so far ${peak.toFixed(1)} MiB)`);
    });
    const uploaded = Date.now();
    etags.sort((a, b) => a.partNumber - b.partNumber);
    const done = await postJson(signed('complete'), { uploadId, key, parts: etags });
    const completed = Date.now();
    if (done.hash !== hash || done.size !== totalBytes) throw new Error(`complete answered ${JSON.stringify(done)}`);
    clearInterval(sampler);
    const final = await memoryOf(pid);
    peak = Math.max(peak, final.rss);

    await rm(join(workDir, 'data'), { recursive: true, force: true });
    log('writing the same bytes with a plain stream');
    const rawFile = join(workDir, 'raw.bin');
    const rawStart = Date.now();
    await pipeline(Readable.from(source.all()), createWriteStream(rawFile));
    const rawWriteSeconds = (Date.now() - rawStart) / 1000;
    await rm(rawFile, { force: true });

    const totalSeconds = (completed - started) / 1000;
    return {
      totalBytes,
      partBytes,
      parts,
      concurrency,
      rssBaselineMiB: round(baseline.rss),
      rssPeakMiB: round(peak),
      rssFinalMiB: round(final.rss),
      rssHighWaterMiB: round(final.hwm),
      uploadSeconds: round((uploaded - started) / 1000),
      completeSeconds: round((completed - uploaded) / 1000),
      totalSeconds: round(totalSeconds),
      throughputMiBps: round(totalBytes / MiB / totalSeconds),
      rawWriteSeconds: round(rawWriteSeconds),
      rawWriteMiBps: round(totalBytes / MiB / rawWriteSeconds),
    };
  } finally {
    await stopChild(bss);
    if (!options.workDir) await rm(workDir, { recursive: true, force: true });
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [total, part, parallel] = process.argv.slice(2).map(Number);
  const result = await runBssMemoryBench({
    ...(total ? { totalBytes: total * MiB } : {}),
    ...(part ? { partBytes: part * MiB } : {}),
    ...(parallel ? { concurrency: parallel } : {}),
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify(result, null, 2));
}
