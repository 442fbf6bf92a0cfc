import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request as httpRequest } from 'node:http';
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
export function httpPut(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; etag?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length), ...headers },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      res.on('error', reject);
      res.on('end', () => {
        const etag = res.headers.etag;
        resolve({ status: res.statusCode ?? 0, ...(typeof etag === 'string' ? { etag } : {}) });
      });
    });
    req.end(body);
  });
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
