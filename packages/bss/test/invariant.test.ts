/**
 * The promise, checked by a model-based property over real HTTP on both backends:
 *
 *   A blob is published only when its bytes hash to the signed SHA-256, its size is the signed
 *   size, and nothing outside a signed scope changed.
 *
 * Random interleavings of multipart and single-shot uploads (right and forged bodies, PUT or
 * sent as a browser's simple POST, alone or several in one request, re-sends,
 * stale and foreign ETags and keys, re-PUTs while a complete runs, aborts, sweeps, restarts,
 * completes from two instances at once; on S3 small single-shot bodies PUT to BSS itself through
 * one instance and staged in the bucket through the other); after every step every stored blob is read back and
 * checked (invariant/). This is the short form, a bounded time per backend; `npm run fuzz` is the
 * long one. A failure prints the seed and path that replay it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { publishingWithoutVerifying } from './invariant/broken-storage.ts';
import type { Backend } from './invariant/harness.ts';
import { describeStats, replayCommand, runInvariant } from './invariant/run.ts';
import { readS3TestConfig, S3_SKIP_REASON } from './storage-s3-env.ts';

/** Seconds of runs per backend (INVARIANT_SECONDS overrides); INVARIANT_SEED replays a seed. */
const SECONDS = Number(process.env.INVARIANT_SECONDS ?? 25);
const SEED = process.env.INVARIANT_SEED ? Number(process.env.INVARIANT_SEED) : undefined;

/** On S3 the runs go on (a fresh seed each, up to this many) until every way of publishing a single-shot body was taken. */
const MAX_S3_RUNS = 4;

async function holds(backend: Backend, t: { diagnostic(message: string): void }) {
  const published = { put: 0, staged: 0, posted: 0, bundled: 0 };
  for (let run = 1; ; run++) {
    const result = await runInvariant({
      backend,
      numRuns: 10_000,
      timeLimitMs: SECONDS * 1000,
      ...(SEED !== undefined && run === 1 ? { seed: SEED } : {}),
    });
    t.diagnostic(`seed ${result.seed}: ${describeStats(result.stats)}`);
    if (result.failed) {
      assert.fail(`${result.report}\n\nreplay: ${replayCommand(backend, result)}`);
    }
    assert.ok(result.stats.steps > 0, 'the runs made no step');
    published.posted += result.stats.answers['single POST body 2xx'] ?? 0;
    published.bundled += result.stats.answers['singles entry 2xx'] ?? 0;
    if (backend === 'fs') {
      assert.ok(published.posted > 0, 'no body sent as a simple POST was published');
      assert.ok(published.bundled > 0, 'no body sent with others in one request was published');
      return;
    }
    published.put += result.stats.answers['single PUT to BSS 2xx'] ?? 0;
    published.staged += result.stats.answers['single complete 2xx'] ?? 0;
    if (Object.values(published).every((n) => n > 0) || run >= MAX_S3_RUNS) break;
  }
  // Every way a single-shot body reaches a blob on S3 was taken: PUT to BSS, and staged then completed.
  assert.ok(published.put > 0, 'no body PUT to BSS was published');
  assert.ok(published.staged > 0, 'no staged body was published');
  assert.ok(published.posted > 0, 'no body sent as a simple POST was published');
  assert.ok(published.bundled > 0, 'no body sent with others in one request was published');
}

describe('the publish promise under random interleavings', () => {
  test('disk backend', async (t) => {
    await holds('fs', t);
  });

  test('S3 backend', { skip: readS3TestConfig() ? false : S3_SKIP_REASON }, async (t) => {
    await holds('s3', t);
  });

  for (const [backend, what, seconds] of [
    ['fs', 'a disk backend that publishes single-shot bodies unverified', 60],
    ['s3', 'an S3 backend that publishes the bodies PUT to BSS unverified', 90],
  ] as const) {
    const skip = backend === 's3' && !readS3TestConfig() ? S3_SKIP_REASON : false;
    test(`${what} is caught`, { skip }, async (t) => {
      const result = await runInvariant({
        backend,
        numRuns: 200,
        timeLimitMs: seconds * 1000,
        seed: SEED ?? 1,
        multipart: false,
        wrap: publishingWithoutVerifying,
      });
      t.diagnostic(`seed ${result.seed}: ${describeStats(result.stats)}`);
      assert.ok(result.failed, 'the broken storage went unnoticed');
      assert.match(result.report ?? '', /PromiseBroken/);
      assert.match(result.report ?? '', /holds bytes whose SHA-256 is|the signed size is/);
    });
  }
});
