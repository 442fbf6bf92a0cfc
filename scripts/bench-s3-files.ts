/**
 * A folder of many small files to the S3 backend, beside the S3 tools a user would reach for, in
 * the same run against the same bucket of the single-node Ceph RGW named by DREAMLAKE_TEST_S3_ENV
 * (its `export` lines, as `scripts/s3-server.sh` writes them):
 *
 * - the `dreamlake` bin through the server and BSS on S3 (each file PUT straight to the store by a
 *   presigned URL, read back by BSS, its SHA-256 checked against the hash granted, the blob
 *   published; then one snapshot of the space);
 * - `rclone copy --transfers 16` (provider Ceph, path style), to a prefix of its own;
 * - `aws s3 cp --recursive` (max_concurrent_requests 16, path style), to a prefix of its own.
 *
 * Every round writes a new folder of random bytes (nothing of it is stored yet: BSS has nothing
 * to skip) that each tool uploads once, ours into a new space of a new user, each peer to a fresh
 * prefix; the order of the tools turns from round to round so that a disturbance of the machine
 * touches them alike. Each time is the whole command, start-up included. A peer whose program is
 * not installed gets a row saying so; without DREAMLAKE_TEST_S3_ENV the section says why it is
 * skipped.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { DeleteObjectCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mapLimit } from '@dreamlake/protocol';
import { readEnvFile } from '../support/env-file.ts';
import { type CliUploadResult, cliStartupSeconds, runCliUpload } from './bench-cli.ts';
import type { BenchRow } from './bench-presign.ts';
import { BenchServices, removeTemp, tempDir, track } from './bench-services.ts';
import { makeSmallFiles } from './bench-small-files.ts';

// The SDK's notice that its 2027 releases want Node 22 says nothing about this run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const log = (line: string) => process.stderr.write(`${line}\n`);
const kib = (bytes: number) => (bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`);
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const oneLine = (text: string) => text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim().slice(0, 400);

export interface S3FilesBenchOptions {
  count?: number;
  bytes?: number;
  /** Rounds: each tool uploads once per round; the medians are reported. */
  runs?: number;
  /** Parallel transfers of each peer. */
  peerConcurrency?: number;
}

/** The S3 server's settings the peers need. */
interface S3Target {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** One peer: how it is run against a fresh prefix of the bucket, and what the table says of it. */
interface Peer {
  name: string;
  program: string;
  /** The command line shown in the table. */
  shown: string;
  /** Its settings, said in the table. */
  settings: string;
  /** What it sends or asks that checks each file's bytes. */
  checks: string;
  /** Arguments and environment of one upload of `dir` to `prefix`. */
  command(dir: string, prefix: string): { args: string[]; env: Record<string, string> };
  /** Arguments of the command that prints its version. */
  versionArgs: string[];
}

/** The absolute path of an executable on PATH, or undefined. */
async function onPath(program: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, program);
    if (
      await access(path, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return path;
  }
  return undefined;
}

/**
 * The environment of a peer: PATH and a home of its own, and nothing else inherited (the
 * machine's AWS_CA_BUNDLE, for one, stops rclone's S3 client before it starts).
 */
function peerEnv(home: string, more: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...more };
}

function peers(target: S3Target, work: string, concurrency: number): Peer[] {
  const awsConfig = join(work, 'aws-config');
  return [
    {
      name: 'rclone',
      program: 'rclone',
      shown: `rclone copy --transfers ${concurrency}`,
      settings: 'provider Ceph, path style, configured by RCLONE_CONFIG_* variables',
      checks:
        'each PUT carries a Content-MD5 for the store to check as it receives it, then a HEAD of each object compares size and ETag',
      versionArgs: ['version'],
      command: (dir, prefix) => ({
        args: ['copy', dir, `bench:${target.bucket}/${prefix}`, '--transfers', String(concurrency)],
        env: peerEnv(work, {
          RCLONE_CONFIG: '/dev/null',
          RCLONE_CONFIG_BENCH_TYPE: 's3',
          RCLONE_CONFIG_BENCH_PROVIDER: 'Ceph',
          RCLONE_CONFIG_BENCH_ENDPOINT: target.endpoint,
          RCLONE_CONFIG_BENCH_REGION: target.region,
          RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
          RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: target.accessKeyId,
          RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: target.secretAccessKey,
        }),
      }),
    },
    {
      name: 'aws-cli',
      program: 'aws',
      shown: 'aws s3 cp --recursive --only-show-errors',
      settings: `max_concurrent_requests ${concurrency}, addressing_style path, --endpoint-url (a config file of its own)`,
      checks:
        'each PUT carries an x-amz-checksum-crc32 and (SigV4 over http) the SHA-256 of its signed payload, for the store to check as it receives it',
      versionArgs: ['--version'],
      command: (dir, prefix) => ({
        args: [
          's3',
          'cp',
          dir,
          `s3://${target.bucket}/${prefix}/`,
          '--recursive',
          '--only-show-errors',
          '--endpoint-url',
          target.endpoint,
        ],
        env: peerEnv(work, {
          AWS_CONFIG_FILE: awsConfig,
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          AWS_ACCESS_KEY_ID: target.accessKeyId,
          AWS_SECRET_ACCESS_KEY: target.secretAccessKey,
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_PAGER: '',
        }),
      }),
    },
  ];
}

/** Runs a command to its end: wall seconds, or an error with the end of its output. */
async function timed(program: string, args: readonly string[], env: Record<string, string>): Promise<number> {
  const started = performance.now();
  const child = track(spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let output = '';
  const keep = (c: Buffer) => {
    output = (output + c.toString()).slice(-2000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const timer = setTimeout(() => child.kill('SIGTERM'), 10 * 60_000);
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${program} exited with ${code ?? signal} after ${seconds.toFixed(1)} s: ${output}`);
  return seconds;
}

/** The first line a program prints about its version, and the median wall time of printing it (3 runs). */
async function versionOf(peer: Peer, path: string, env: Record<string, string>) {
  const times: number[] = [];
  let text = '';
  for (let i = 0; i < 3; i += 1) {
    const started = performance.now();
    text = execFileSync(path, peer.versionArgs, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    times.push((performance.now() - started) / 1000);
  }
  return { version: text.trim().split('\n')[0] ?? '', seconds: median(times) };
}

/** Keys under a prefix of the bucket. */
async function keysUnder(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Removes what a peer wrote (not timed): in batches, or one by one where the store refuses a batch. */
async function removeKeys(client: S3Client, bucket: string, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    try {
      await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
    } catch {
      await mapLimit(batch, 8, (Key) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key })));
    }
  }
}

interface Tally {
  seconds: number[];
  error?: string;
}

export async function runS3FilesBench(options: S3FilesBenchOptions = {}): Promise<BenchRow[]> {
  const count = options.count ?? 1000;
  const bytes = options.bytes ?? 20 * 1024;
  const runs = options.runs ?? 3;
  const concurrency = options.peerConcurrency ?? 16;
  const what = `${fmt(count)} × ${kib(bytes)}`;
  const envFile = process.env.DREAMLAKE_TEST_S3_ENV;
  if (!envFile) {
    return [
      {
        measure: `upload of ${what} to S3: dreamlake against rclone and aws-cli`,
        result: 'skipped',
        rawLimit: '-',
        note: 'DREAMLAKE_TEST_S3_ENV is not set: it names the env file of a running S3 server (scripts/s3-server.sh writes one)',
      },
    ];
  }
  const s3env = readEnvFile(envFile);
  const target: S3Target = {
    endpoint: s3env.S3_ENDPOINT ?? '',
    region: s3env.S3_REGION ?? 'us-east-1',
    bucket: s3env.S3_BUCKET ?? '',
    accessKeyId: s3env.AWS_ACCESS_KEY_ID ?? '',
    secretAccessKey: s3env.AWS_SECRET_ACCESS_KEY ?? '',
  };
  const missing = Object.entries(target)
    .filter(([, v]) => v === '')
    .map(([k]) => k);
  if (missing.length > 0) throw new Error(`${envFile} lacks ${missing.join(', ')}`);

  const work = await tempDir('dreamlake-bench-s3-files-');
  const client = new S3Client({
    endpoint: target.endpoint,
    region: target.region,
    forcePathStyle: true,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  let services: BenchServices | undefined;
  try {
    await writeFile(
      join(work, 'aws-config'),
      `[default]\nregion = ${target.region}\ns3 =\n  max_concurrent_requests = ${concurrency}\n  addressing_style = path\n`,
    );
    // The peers that are installed, their versions and their start-up times.
    const present: { peer: Peer; path: string; version: string; startup: number }[] = [];
    const absent: { peer: Peer; reason: string }[] = [];
    for (const peer of peers(target, work, concurrency)) {
      const path = await onPath(peer.program);
      if (!path) {
        absent.push({ peer, reason: `\`${peer.program}\` is not on PATH` });
        continue;
      }
      try {
        const { version, seconds } = await versionOf(peer, path, peer.command(work, 'x').env);
        present.push({ peer, path, version, startup: seconds });
      } catch (error) {
        absent.push({ peer, reason: `\`${peer.program}\` does not run: ${oneLine((error as Error).message)}` });
      }
    }

    services = await BenchServices.start({
      bssEnv: { ...s3env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const startup = await cliStartupSeconds();
    const ours: (CliUploadResult & { indexed: number })[] = [];
    let oursError: string | undefined;
    const tallies = new Map<string, Tally>(present.map(({ peer }) => [peer.name, { seconds: [] }]));
    const runId = Date.now().toString(36);

    for (let round = 0; round < runs; round += 1) {
      const files = await makeSmallFiles(work, `round${round}`, count, bytes);
      // Dirty pages of the new files go to disk before anything is timed.
      execFileSync('sync');
      const tools = ['dreamlake', ...present.map(({ peer }) => peer.name)];
      const order = tools.map((_, k) => tools[(k + round) % tools.length] as string);
      for (const tool of order) {
        if (tool === 'dreamlake') {
          if (oursError) continue;
          log(`  dreamlake upload, ${what} to BSS on S3 (round ${round + 1})…`);
          try {
            const user = await services.signup('s3files');
            const run = await runCliUpload({
              paths: [files.dir],
              to: `${user.username}/files`,
              serverUrl: services.serverUrl,
              token: user.token,
              home: join(work, `home${round}`),
              timeoutMs: 10 * 60_000,
            });
            const indexed = await services.indexedFiles(user.token, user.username, 'files');
            // A run that skipped anything measured less than a first upload.
            if (run.files !== count || run.skipped !== 0 || indexed !== count)
              throw new Error(
                `expected ${count} files sent and indexed, got ${run.files} files (${run.skipped} already stored), ${indexed} in the index`,
              );
            ours.push({ ...run, indexed });
          } catch (error) {
            oursError = oneLine((error as Error).message);
          }
          continue;
        }
        const entry = present.find(({ peer }) => peer.name === tool)!;
        const tally = tallies.get(tool)!;
        if (tally.error) continue;
        const prefix = `bench-peers/${runId}-${round}/${tool}`;
        log(`  ${entry.peer.shown}, ${what} (round ${round + 1})…`);
        try {
          const { args, env } = entry.peer.command(files.dir, prefix);
          const seconds = await timed(entry.path, args, env);
          const keys = await keysUnder(client, target.bucket, prefix);
          await removeKeys(client, target.bucket, keys);
          if (keys.length !== count) throw new Error(`${keys.length} objects under ${prefix}/, expected ${count}`);
          tally.seconds.push(seconds);
        } catch (error) {
          tally.error = oneLine((error as Error).message);
          await keysUnder(client, target.bucket, prefix)
            .then((keys) => removeKeys(client, target.bucket, keys))
            .catch(() => {});
        }
      }
      await removeTemp(files.dir);
    }

    // The rows: ours alone with its detail, then each peer beside ours.
    const oursSeconds = median(ours.map((r) => r.seconds));
    const oursRate = count / oursSeconds;
    const oursText = ours.length > 0 ? `${fmt(oursRate)} files/s (${fmt(oursSeconds, 1)} s)` : 'failed';
    const oursRuns = ours.map((r) => fmt(r.seconds, 1)).join(', ');
    const peerRates = present
      .filter(({ peer }) => (tallies.get(peer.name)?.seconds.length ?? 0) > 0)
      .map(({ peer }) => `${peer.name} ${fmt(count / median(tallies.get(peer.name)!.seconds))} files/s`);
    const rows: BenchRow[] = [];
    if (oursError) process.exitCode = 1;
    const mid = [...ours].sort((a, b) => a.seconds - b.seconds)[Math.floor(ours.length / 2)];
    rows.push({
      measure: `dreamlake upload of ${what} to BSS on S3 (a first upload each run: new files, new space)`,
      result: mid ? `${oursText}, CLI peak RSS ${Math.max(...ours.map((r) => r.peakRssMiB))} MiB` : 'failed',
      rawLimit: peerRates.length > 0 ? `${peerRates.join('; ')} (rows below)` : '-',
      note: [
        oursError ? `\`${oursError}\`` : '',
        ours.length > 0 ? `median of ${ours.length} runs (${oursRuns} s)` : '',
        mid ? `CLI CPU ${fmt(mid.cpuSeconds, 1)} s in the median run` : '',
        "each file (up to 1 MiB: BSS's maxSize) PUT to BSS, which hashes it as it arrives, refuses it unless it is the SHA-256 and size granted, and only then writes it to S3 in one PutObject carrying that SHA-256; one snapshot of the space at the end",
        ours.length > 0 ? `${count} files sent and ${count} in the index after every run, none already stored` : '',
        `the whole command, start-up included (\`dreamlake --version\` takes ${fmt(startup, 2)} s)`,
        `single-node Ceph RGW at ${target.endpoint}, bucket ${target.bucket}; server and BSS here (SQLite); one tool at a time, their order turning each round, all three on the same new folder of random bytes each round`,
      ]
        .filter(Boolean)
        .join('; '),
    });
    for (const { peer, reason } of absent) {
      rows.push({
        measure: `dreamlake against \`${peer.shown}\`, ${what}, same bucket`,
        result: oursText,
        rawLimit: 'skipped',
        note: reason,
      });
    }
    for (const { peer, version, startup: peerStartup } of present) {
      const tally = tallies.get(peer.name)!;
      const measured = tally.seconds.length > 0;
      const seconds = median(tally.seconds);
      const rate = count / seconds;
      if (tally.error) process.exitCode = 1;
      rows.push({
        measure: `dreamlake against \`${peer.shown}\`, ${what}, same bucket, a fresh prefix each run`,
        result: oursText,
        rawLimit: measured
          ? `${fmt(rate)} files/s (${fmt(seconds, 1)} s): ${version}, ${peer.settings}`
          : `failed: ${version}, ${peer.settings}`,
        note: [
          measured && ours.length > 0 ? `ours ${(oursRate / rate).toFixed(2)}× ${peer.name}'s rate` : '',
          tally.error ? `${peer.name}: \`${tally.error}\`` : '',
          measured
            ? `medians of ${runs} runs each (ours ${oursRuns} s; ${peer.name} ${tally.seconds.map((s) => fmt(s, 1)).join(', ')} s)`
            : '',
          `ours verifies each blob's SHA-256: BSS hashes the bytes it writes to the store and publishes them only if they are the hash the CLI computed before the upload; ${peer.name} verifies no SHA-256 of the stored object and reads no bytes back: ${peer.checks}`,
          `${peer.name}'s start-up (its version) takes ${fmt(peerStartup, 2)} s; objects checked by listing, ${count} under the prefix each run, then removed`,
        ]
          .filter(Boolean)
          .join('; '),
      });
    }
    return rows;
  } finally {
    client.destroy();
    await services?.close();
    await removeTemp(work);
  }
}
