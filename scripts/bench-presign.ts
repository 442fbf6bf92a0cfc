import { createHmac } from 'node:crypto';
import { presign, verify } from '@dreamlake/presign';

export interface BenchRow {
  measure: string;
  result: string;
  rawLimit: string;
  note?: string;
}

function opsPerSecond(fn: () => void, seconds = 1): number {
  for (let i = 0; i < 2000; i += 1) fn();
  let count = 0;
  const started = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() - started < budget) {
    for (let i = 0; i < 500; i += 1) fn();
    count += 500;
  }
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** Verify cost against its floor: one raw HMAC-SHA256 over the same canonical string. */
export function runPresignBench(): BenchRow[] {
  const secrets = ['bench-secret-0123456789abcdef0123456789abcdef'];
  const params = { owner: 'alice', project: 'robotics', hash: 'a'.repeat(64) };
  const now = 1_800_000_000;
  const { query } = presign({ action: 'upload-parts', params, secrets, now, ttlSeconds: 3600 });
  const canonical = `upload-parts:hash=${params.hash}&owner=alice&project=robotics:${query.exp}`;
  const signed = ['owner', 'project', 'hash'];
  const verifyRate = opsPerSecond(() => verify({ action: 'upload-parts', signed, query, secrets, now }));
  const hmacRate = opsPerSecond(() =>
    createHmac('sha256', secrets[0] as string)
      .update(canonical)
      .digest('hex'),
  );
  const fmt = (n: number) => `${Math.round(n).toLocaleString('en-US')} /s`;
  return [
    {
      measure: 'presign verify (one core)',
      result: fmt(verifyRate),
      rawLimit: `${fmt(hmacRate)} raw HMAC-SHA256`,
      note: `${((verifyRate / hmacRate) * 100).toFixed(0)}% of raw`,
    },
  ];
}
