import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import type { ReadinessChecks } from '@dreamlake/service';
import type { BssConfig } from '../config.ts';
import { createS3Client } from '../storage/s3/client.ts';

export interface Readiness {
  check(): Promise<ReadinessChecks>;
  close(): void;
}

/** How long a check may take before it counts as failed: a balancer probes again soon. */
const CHECK_TIMEOUT_MS = 5000;

/**
 * How long a probe's answer stands for every /readyz that asks meanwhile (from when the probe
 * began): balancers, monitors and a busy client may ask many times a second, and each probe is a
 * disk write or a request to the bucket. A storage that breaks shows within this long (and the
 * probe's own time).
 */
export const READINESS_REUSED_MS = 1000;

export interface ReadinessOptions {
  /** The probe to ask instead of the backend's own (tests). */
  probe?: Readiness;
  /** How long an answer stands; READINESS_REUSED_MS unless given. */
  reuseMs?: number;
}

/**
 * `probe`, asked at most once per `reuseMs`: its answer (ok or failed) stands for that long from
 * when it began, and every check made while a probe runs waits for that probe instead of starting
 * one. A probe that throws is not kept: the next check asks again.
 */
function reusedReadiness(probe: Readiness, reuseMs: number): Readiness {
  let last: { began: number; checks: ReadinessChecks } | undefined;
  let running: Promise<ReadinessChecks> | undefined;
  return {
    check() {
      if (running) return running;
      const now = Date.now();
      if (last && now - last.began < reuseMs) return Promise.resolve(last.checks);
      const probed = probe.check().then(
        (checks) => {
          last = { began: now, checks };
          running = undefined;
          return checks;
        },
        (error: unknown) => {
          running = undefined;
          throw error;
        },
      );
      running = probed;
      return probed;
    },
    close: () => probe.close(),
  };
}

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

/** The readiness check of the configured backend, its answers reused for a moment (see READINESS_REUSED_MS). */
export function createReadiness(config: BssConfig, options: ReadinessOptions = {}): Readiness {
  const probe =
    options.probe ??
    (config.storage === 's3' && config.s3 ? bucketReadiness(config.s3) : diskReadiness(config.dataDir));
  return reusedReadiness(probe, options.reuseMs ?? READINESS_REUSED_MS);
}
