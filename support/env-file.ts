import { readFileSync } from 'node:fs';

/**
 * The variables a shell env file sets (`K=V` or `export K=V` lines, one pair of quotes removed),
 * as `scripts/s3-server.sh` writes them for the tests, the benchmarks and the soak.
 */
export function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m?.[1]) env[m[1]] = (m[2] ?? '').trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}
