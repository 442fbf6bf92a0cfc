/**
 * Uploads through the real CLI, server and BSS while the S3 server under BSS fails: a proxy in
 * front of the real S3 server answers 503 SlowDown, 500, resets or stalls a chosen share of each
 * kind of request (BSS's own calls, and the clients' PUTs through presigned URLs, which go to S3
 * directly). With one request in ten of every kind failing, everything uploads, every blob's bytes
 * hash to its name, and BSS rides the faults out itself (it answers no 503). With S3 failing past
 * every retry, the client ends with an error naming S3 and its operation, the index holds nothing
 * that is not a verified blob, and after BSS's sweep no multipart upload or staged object is left.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { mapLimit } from '@dreamlake/protocol';
import { createS3Storage } from '../../packages/bss/src/storage/s3/index.ts';
import {
  createTestBucket,
  readS3TestConfig,
  S3_SKIP_REASON,
  s3EnvVars,
  type TestBucket,
} from '../../packages/bss/test/storage-s3-env.ts';
import {
  type FaultRule,
  S3_REQUEST_KINDS,
  S3FaultProxy,
  type S3RequestKind,
} from '../../packages/bss/test/support/s3-fault-proxy.ts';
import { cliEnv, jsonLines, MIB, makeFile, runCli, Services, sha256File, tempDir, uniqueName } from './harness.ts';

const base = readS3TestConfig();

interface Listed {
  name: string;
  hash: string;
  size: number;
}

describe('uploads while S3 fails', { skip: base ? false : S3_SKIP_REASON }, () => {
  let bucket: TestBucket;
  let proxy: S3FaultProxy;
  let services: Services;
  let work: string;
  let env: Record<string, string>;
  const user = uniqueName('s3f');

  before(async () => {
    bucket = await createTestBucket(base!);
    proxy = await S3FaultProxy.start(base!.endpoint!);
    services = await Services.start({
      backend: {
        name: 's3',
        env: {
          ...s3EnvVars(bucket.config),
          S3_ENDPOINT: proxy.url,
          // A stalled request is given up on after 2 s of silence and sent again.
          S3_TIMEOUT_SECONDS: '2',
          SWEEP_INTERVAL_SECONDS: '0',
        },
      },
    });
    work = await tempDir('dreamlake-s3-faults-');
    env = cliEnv(join(work, 'home'));
    const signup = await runCli(
      ['signup', '--server', services.serverUrl, '--username', user, '--password-stdin'],
      env,
      'a long enough password\n',
    );
    assert.equal(signup.code, 0, signup.stderr);
  });
  after(async () => {
    await services?.close();
    await proxy?.close();
    await bucket?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function makeFolder(dir: string, count: number): Promise<Map<string, string>> {
    await mkdir(dir, { recursive: true });
    const hashes = new Map<string, string>();
    for (let i = 0; i < count; i += 1) {
      const data = randomBytes(1_000 + ((i * 7919) % 20_000));
      const name = `${String(i).padStart(4, '0')}.bin`;
      await writeFile(join(dir, name), data);
      hashes.set(name, createHash('sha256').update(data).digest('hex'));
    }
    return hashes;
  }

  async function listed(space: string): Promise<Listed[]> {
    const ls = await runCli(['ls', `${user}/${space}`, '--json'], env);
    if (ls.code !== 0 && /not.found|no such|unknown/i.test(ls.stderr)) return [];
    assert.equal(ls.code, 0, ls.stderr);
    return JSON.parse(ls.stdout) as Listed[];
  }

  /** Each listed file's blob read straight from S3 (not through the proxy): its bytes hash to its name. */
  async function assertBlobsVerified(space: string, files: readonly Listed[]): Promise<void> {
    const blobKeys = new Set(await bucket.keys('blobs/'));
    await mapLimit(files, 16, async (file) => {
      const key = [...blobKeys].find((k) => k.endsWith(`/${space}/${file.hash}`));
      assert.ok(key, `no blob in the bucket for ${file.name} (${file.hash})`);
      const object = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.config.bucket, Key: key }));
      const hash = createHash('sha256');
      for await (const chunk of object.Body as AsyncIterable<Buffer>) hash.update(chunk);
      assert.equal(hash.digest('hex'), file.hash, `the blob of ${file.name} does not hash to its name`);
    });
  }

  /** BSS's 503 answers so far, from its /metrics. */
  async function bss503s(): Promise<number> {
    const text = await (await fetch(`${services.bssUrl}/metrics`)).text();
    let total = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('dreamlake_http_requests_total{') && line.includes('status="503"')) {
        total += Number(line.split(' ').pop());
      }
    }
    return total;
  }

  function faultReport(): string {
    const counts = proxy.counts();
    return S3_REQUEST_KINDS.map((kind) => {
      const { requests, faults } = counts[kind];
      const injected = Object.entries(faults)
        .filter(([, n]) => n > 0)
        .map(([f, n]) => `${f} ${n}`)
        .join(', ');
      return `${kind}: ${requests} requests${injected ? ` (${injected})` : ''}`;
    }).join('; ');
  }

  test('one request in ten of every kind failing: 1,000 files and a 256 MiB file upload, every blob checked', {
    timeout: 600_000,
  }, async () => {
    const folder = join(work, 'frames');
    const hashes = await makeFolder(folder, 1_000);
    const big = join(work, 'big.bin');
    await makeFile(big, 256 * MIB, 27);
    const bigHash = await sha256File(big);

    const rules: FaultRule[] = [
      // A client's PUT waits minutes for an answer before giving up: it meets the other faults.
      { kinds: ['part', 'put'], share: 0.1, faults: ['slowdown', 'internal', 'reset'], presigned: true },
      { kinds: S3_REQUEST_KINDS, share: 0.1, faults: ['slowdown', 'internal', 'reset', 'stall'], presigned: false },
    ];
    proxy.inject(...rules);
    const before = proxy.totalFaults();
    const up = await runCli(['upload', folder, big, '--to', `${user}/faults`, '--json', '--concurrency', '16'], env);
    proxy.inject();
    const report = faultReport();
    console.log(`faults injected: ${report}`);
    assert.equal(up.code, 0, `${up.stderr}\n${report}\n${services.logs()}`);
    const results = jsonLines<{ name?: string; hash?: string }>(up.stdout).filter((l) => l.hash);
    assert.equal(results.length, 1_001);

    const files = await listed('faults');
    assert.equal(files.length, 1_001);
    for (const file of files) {
      const name = file.name.split('/').pop()!;
      assert.equal(file.hash, name === 'big.bin' ? bigHash : hashes.get(name), file.name);
    }
    await assertBlobsVerified('faults', files);

    const after = proxy.totalFaults();
    for (const fault of ['slowdown', 'internal', 'reset', 'stall'] as const) {
      assert.ok(after[fault] > before[fault], `no ${fault} was injected: ${report}`);
    }
    const counts = proxy.counts();
    for (const kind of ['part', 'put', 'get', 'head', 'copy', 'create', 'complete', 'delete'] as S3RequestKind[]) {
      const injected = Object.values(counts[kind].faults).reduce((a, b) => a + b, 0);
      assert.ok(injected > 0, `no fault was injected into ${kind}: ${report}`);
    }
    // BSS retried its own calls: no client was answered 503 for S3's faults.
    assert.equal(await bss503s(), 0, services.logs());
  });

  test('S3 failing past every retry: an error naming S3, nothing half-published, and the sweep leaves nothing', {
    timeout: 300_000,
  }, async () => {
    const folder = join(work, 'down');
    await makeFolder(folder, 40);
    const clip = join(work, 'clip.bin');
    await makeFile(clip, 24 * MIB, 31);
    // Every call that completes and publishes an upload fails, however often BSS tries it; the
    // uploads still open (HEAD, CreateMultipartUpload and listings answer) and the clients' PUTs
    // reach S3, so parts and staged objects pile up for the sweep.
    proxy.inject({
      kinds: ['complete', 'get', 'put', 'copy', 'delete', 'abort'],
      share: 1,
      faults: ['slowdown', 'internal', 'reset'],
      presigned: false,
    });
    // The small files (single-shot) and the large one (multipart) in runs of their own, at once:
    // a run stops at its first failed file.
    const runs = await Promise.all([
      runCli(['upload', folder, '--to', `${user}/down`, '--json'], env),
      runCli(['upload', clip, '--to', `${user}/down`, '--json'], env),
    ]);
    proxy.inject();
    console.log(`faults injected: ${faultReport()}`);
    for (const up of runs) {
      assert.notEqual(up.code, 0, up.stdout);
      // What the user reads last names S3, the operation and what S3 answered.
      const last = up.stderr.trim().split('\n').pop() ?? '';
      assert.match(
        last,
        /storage_unavailable: S3 [A-Za-z]+ failed after \d+ attempts \((SlowDown, HTTP 503|InternalError, HTTP 500|ECONNRESET|TimeoutError)\)/,
        up.stderr,
      );
    }

    // The index holds only verified blobs (none here: no file could be verified).
    const files = await listed('down');
    await assertBlobsVerified('down', files);
    for (const key of await bucket.keys('blobs/')) {
      if (!key.includes('/down/')) continue;
      const object = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.config.bucket, Key: key }));
      const hash = createHash('sha256');
      for await (const chunk of object.Body as AsyncIterable<Buffer>) hash.update(chunk);
      assert.ok(key.endsWith(`/${hash.digest('hex')}`), `${key} holds other bytes than its name says`);
    }

    // What the failed run left is BSS's sweep's to remove.
    const multipart = async (prefix: string) =>
      (await bucket.client.send(new ListMultipartUploadsCommand({ Bucket: bucket.config.bucket, Prefix: prefix })))
        .Uploads ?? [];
    assert.ok((await multipart('uploads/')).length > 0, 'the failed run left no multipart upload to sweep');
    const storage = await createS3Storage(bucket.config);
    try {
      assert.ok((await storage.sweep(new Date())) > 0);
    } finally {
      await storage.close();
    }
    assert.deepEqual(await multipart('uploads/'), []);
    assert.deepEqual(await multipart('blobs/'), []);
    assert.deepEqual(await bucket.keys('uploads/'), []);

    // Once S3 answers again, the same upload finishes.
    const again = await runCli(['upload', folder, clip, '--to', `${user}/down`, '--json'], env);
    assert.equal(again.code, 0, again.stderr);
    const done = await listed('down');
    assert.equal(done.length, 41);
    await assertBlobsVerified('down', done);
  });
});
