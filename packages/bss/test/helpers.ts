import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { presign } from '@dreamlake/presign';
import { loadBssConfig, type BssConfig } from '../src/config.ts';

export const SECRET = 'bss-test-secret-0123456789abcdef0123456789';

export async function tempDir(prefix = 'bss-test-'): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function testConfig(dataDir: string, env: Record<string, string> = {}): BssConfig {
  return loadBssConfig({ PRESIGN_SECRETS: SECRET, DREAMLAKE_DATA_DIR: dataDir, LOG_LEVEL: 'silent', SWEEP_INTERVAL_SECONDS: '0', ...env });
}

/** PUTs bytes over real HTTP, as a client does with a part URL. */
export async function httpPut(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; etag?: string }> {
  const res = await fetch(url, { method: 'PUT', body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), headers: { 'content-type': 'application/octet-stream', ...headers } });
  await res.arrayBuffer();
  const etag = res.headers.get('etag');
  return { status: res.status, ...(etag !== null ? { etag } : {}) };
}

/** A signed query string for one of BSS's actions. */
export function signedQuery(action: string, params: Record<string, string>, opts: { now?: number; ttl?: number; secret?: string } = {}): string {
  const { query } = presign({
    action,
    params,
    secrets: [opts.secret ?? SECRET],
    now: opts.now ?? Math.floor(Date.now() / 1000),
    ttlSeconds: opts.ttl ?? 600,
  });
  return new URLSearchParams(query).toString();
}
