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

/** The runs go on (a fresh seed each, up to this many) until every way of publishing was taken. */
const MAX_RUNS = 4;

/** The ways a body is published, counted by their 2xx answers; S3 alone stages single-shot bodies. */
const WAYS = {
  multipart: 'no multipart upload was completed',
  put: 'no body PUT to BSS was published',
  posted: 'no body sent as a simple POST was published',
  bundled: 'no body sent with others in one request was published',
  staged: 'no staged body was published',
} as const;

async function holds(backend: Backend, t: { diagnostic(message: string): void }) {
  const ways = (Object.keys(WAYS) as (keyof typeof WAYS)[]).filter((w) => backend === 's3' || w !== 'staged');
  const published: Record<keyof typeof WAYS, number> = { multipart: 0, put: 0, posted: 0, bundled: 0, staged: 0 };
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
    const answers = result.stats.answers;
    published.multipart += completedMultipart(answers);
    published.posted += answers['single POST body 2xx'] ?? 0;
    published.bundled += answers['singles entry 2xx'] ?? 0;
    // On disk both forms of a single-shot body are counted as 'single PUT'; the POSTs apart.
    published.put +=
      backend === 'fs'
        ? (answers['single PUT 2xx'] ?? 0) - (answers['single POST body 2xx'] ?? 0)
        : (answers['single PUT to BSS 2xx'] ?? 0);
    published.staged += answers['single complete 2xx'] ?? 0;
    if (ways.every((w) => published[w] > 0) || run >= MAX_RUNS) break;
  }
  // Every way a body reaches a blob was taken, and each time the promise held.
  for (const way of ways) assert.ok(published[way] > 0, WAYS[way]);
}

/** Multipart completes answered 2xx, whichever key and ETags they named (`complete(…) 2xx`). */
function completedMultipart(answers: Record<string, number>): number {
  let n = 0;
  for (const [name, count] of Object.entries(answers)) {
    if (name.startsWith('complete(') && name.endsWith(' 2xx')) n += count;
  }
  return n;
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
