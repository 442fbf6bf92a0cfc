/**
 * The S3 backend against the AWS SDK's own uploader: one generated file uploaded by the
 * `dreamlake` bin through BSS on the S3 backend (hash, grant, parts straight to S3, BSS reading
 * the object back to verify its SHA-256, register), and by `@aws-sdk/lib-storage`'s `Upload`
 * (8 MiB parts, 4 at a time, no verification) to the same bucket, in the same run. A second row
 * adds to each of those uploads one read of the object back, hashed as BSS's complete hashes it
 * (its ranged reads, its defaults): the cost of checking what BSS checks, which no upload that
 * S3 only lets BSS read once it is complete can avoid. The S3 server
 * is the single-node Ceph RGW of `scripts/s3-server.sh`: the one named by DREAMLAKE_TEST_S3_ENV
 * (its `export` lines), or one started here on ports of its own and stopped at the end.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { partCount } from '@dreamlake/protocol';
import { choosePartSize } from '@dreamlake/protocol/client';
import { resolveOptions } from '../packages/bss/src/storage/s3/config.ts';
import { headObject, sha256OfObject } from '../packages/bss/src/storage/s3/verify.ts';
import { readEnvFile } from '../support/env-file.ts';
import { runCliUpload } from './bench-cli.ts';
import type { BenchRow } from './bench-presign.ts';
import { BenchServices, ROOT, removeTemp, tempDir } from './bench-services.ts';

const MiB = 1024 * 1024;
const run = promisify(execFile);
// The SDK's notice that its 2027 releases want Node 22 says nothing about this run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3BenchOptions {
  sizeMiB: number;
}

/** The settings of a running RGW, and how to stop it when this run started it. */
async function s3Server(work: string): Promise<{ env: Record<string, string>; stop(): Promise<void> }> {
  const parse = (text: string) =>
    Object.fromEntries([...text.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
  const named = process.env.DREAMLAKE_TEST_S3_ENV;
  if (named) return { env: readEnvFile(named), stop: async () => {} };
  const dir = join(work, 's3');
  const script = join(ROOT, 'scripts/s3-server.sh');
  const env = { ...process.env, S3_PORT: '7495', CEPH_MON_PORT: '3315' };
  const { stdout } = await run('bash', [script, 'start', dir], { env, maxBuffer: 1 << 20 });
  return { env: parse(stdout), stop: () => run('bash', [script, 'stop', dir], { env }).then(() => {}) };
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  for (let written = 0; written < bytes; written += MiB) {
    if (!out.write(randomBytes(Math.min(MiB, bytes - written)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const rate = (bytes: number, seconds: number) => Math.round((bytes / MiB / seconds) * 10) / 10;

export async function runS3Bench(options: S3BenchOptions): Promise<BenchRow[]> {
  const bytes = options.sizeMiB * MiB;
  const work = await tempDir('dreamlake-bench-s3-');
  const s3 = await s3Server(work);
  let services: BenchServices | undefined;
  try {
    const file = join(work, 'upload.bin');
    await writeRandomFile(file, bytes);
    const client = new S3Client({
      endpoint: s3.env.S3_ENDPOINT,
      region: s3.env.S3_REGION ?? 'us-east-1',
      forcePathStyle: true,
      credentials: {
        accessKeyId: s3.env.AWS_ACCESS_KEY_ID ?? '',
        secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY ?? '',
      },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const bucket = s3.env.S3_BUCKET ?? 'dreamlake-test';

    // The floor: lib-storage's Upload, three times, each followed by one read of the object back
    // hashed as BSS's complete reads it (ranges of verifyChunkSize, verifyConcurrency at once).
    const floorSeconds: number[] = [];
    const readSeconds: number[] = [];
    const { verifyChunkSize: chunkSize, verifyConcurrency: concurrency } = resolveOptions();
    for (let i = 0; i < 3; i += 1) {
      const key = `bench/lib-storage-${randomBytes(6).toString('hex')}`;
      const started = performance.now();
      await new Upload({
        client,
        params: { Bucket: bucket, Key: key, Body: createReadStream(file, { highWaterMark: MiB }) },
        partSize: 8 * MiB,
        queueSize: 4,
      }).done();
      const uploaded = performance.now();
      floorSeconds.push((uploaded - started) / 1000);
      const object = await headObject(client, bucket, key);
      if (object?.size !== bytes) throw new Error(`lib-storage left ${object?.size} bytes at ${key}, not ${bytes}`);
      await sha256OfObject(client, bucket, object, { chunkSize, concurrency });
      readSeconds.push((performance.now() - uploaded) / 1000);
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    }

    // The server and BSS on S3 (SQLite for the server), and the CLI three times, a new user each
    // time so that every run uploads (and the hash cache of a new home hashes again).
    services = await BenchServices.start({
      bssEnv: { ...s3.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const cli: { seconds: number; peakRssMiB: number }[] = [];
    for (let i = 0; i < 3; i += 1) {
      const { username, token } = await services.signup('s3bench');
      const home = join(work, `home-${i}`);
      cli.push(
        await runCliUpload({ paths: [file], to: `${username}/bench`, serverUrl: services.serverUrl, token, home }),
      );
    }
    const floor = median(floorSeconds);
    const checked = median(floorSeconds.map((s, i) => s + (readSeconds[i] as number)));
    const ours = median(cli.map((c) => c.seconds));
    const ratio = floor / ours;
    // The CLI's parts: the shared part plan.
    const partSize = choosePartSize(bytes);
    const parts = `${partCount(bytes, partSize)} parts of ${partSize / MiB} MiB`;
    return [
      {
        measure: `dreamlake upload ${options.sizeMiB} MiB, S3 backend (hash, ${parts} straight to S3, BSS reads the object back and checks its SHA-256, register)`,
        result: `${rate(bytes, ours)} MiB/s (${ours.toFixed(1)} s), CLI peak RSS ${Math.max(...cli.map((c) => c.peakRssMiB)).toFixed(0)} MiB`,
        rawLimit: `${rate(bytes, floor)} MiB/s (${floor.toFixed(1)} s): @aws-sdk/lib-storage Upload, 8 MiB parts, 4 at a time, no verification`,
        note: `${ratio.toFixed(2)}× lib-storage; medians of 3 runs each (ours ${cli.map((c) => c.seconds.toFixed(1)).join(', ')} s; lib-storage ${floorSeconds.map((s) => s.toFixed(1)).join(', ')} s); RGW single node, objects in memory`,
      },
      {
        measure: `@aws-sdk/lib-storage Upload of ${options.sizeMiB} MiB plus one verified read of the object (ranges of ${chunkSize / MiB} MiB, ${concurrency} at once, hashed in order, as BSS's complete reads it)`,
        result: `${rate(bytes, checked)} MiB/s (${checked.toFixed(1)} s)`,
        rawLimit: `${rate(bytes, floor)} MiB/s (${floor.toFixed(1)} s): the same uploads without the read`,
        note: `the read alone ${readSeconds.map((s) => s.toFixed(1)).join(', ')} s (${rate(bytes, median(readSeconds))} MiB/s); dreamlake upload is ${(checked / ours).toFixed(2)}× this; ${(floor / checked).toFixed(2)}× lib-storage is the most an upload verified after it is complete can reach here`,
      },
    ];
  } finally {
    await services?.close();
    await s3.stop().catch(() => {});
    await removeTemp(work);
  }
}
