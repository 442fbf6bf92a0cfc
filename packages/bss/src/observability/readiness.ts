import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import type { BssConfig } from '../config.ts';
import { createS3Client } from '../storage/s3/client.ts';

/** Each check by name: ok, or failed. */
export type ReadinessChecks = Record<string, 'ok' | 'failed'>;

export interface Readiness {
  check(): Promise<ReadinessChecks>;
  close(): void;
}

/** How long a check may take before it counts as failed: a balancer probes again soon. */
const CHECK_TIMEOUT_MS = 5000;

/** The disk backend is ready when its folder takes a file: one is written and removed. */
function diskReadiness(dataDir: string): Readiness {
  const dir = join(dataDir, 'bss', 'probe');
  return {
    async check() {
      const path = join(dir, `ready-${randomUUID()}`);
      try {
        await mkdir(dir, { recursive: true });
        await writeFile(path, 'ready');
        return { storage: 'ok' };
      } catch {
        return { storage: 'failed' };
      } finally {
        await rm(path, { force: true }).catch(() => {});
      }
    },
    close() {},
  };
}

/** The S3 backend is ready when the bucket answers HEAD with these credentials. */
function bucketReadiness(s3: NonNullable<BssConfig['s3']>): Readiness {
  const client = createS3Client(s3);
  return {
    async check() {
      try {
        await client.send(new HeadBucketCommand({ Bucket: s3.bucket }), {
          abortSignal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
        });
        return { bucket: 'ok' };
      } catch {
        return { bucket: 'failed' };
      }
    },
    close: () => client.destroy(),
  };
}

/** The readiness check of the configured backend. */
export function createReadiness(config: BssConfig): Readiness {
  if (config.storage === 's3' && config.s3) return bucketReadiness(config.s3);
  return diskReadiness(config.dataDir);
}
