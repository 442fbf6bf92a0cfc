import { presignGuard } from '@dreamlake/presign/http';
import type { BssContext } from './context.ts';

export const SCOPE_PARAMS = ['owner', 'project', 'hash'] as const;
export const SINGLE_PARAMS = ['owner', 'project', 'hash', 'size'] as const;
export const PART_PARAMS = ['owner', 'project', 'hash', 'uploadId', 'partNumber', 'maxLength', 'contentMd5'] as const;

/** The guard of the five upload endpoints: unsigned requests pass only with the rollout switch off. */
export function uploadGuard(ctx: BssContext, action: string) {
  return presignGuard({
    action,
    signed: SCOPE_PARAMS,
    secrets: ctx.config.secrets,
    clock: ctx.clock,
    allowUnsigned: () => !ctx.config.requirePresignedUploads,
  });
}

/** A guard that always wants a signature (downloads, stat, part PUTs, Lambda triggers). */
export function signedGuard(ctx: BssContext, action: Parameters<typeof presignGuard>[0]['action'], signed: readonly string[] = SCOPE_PARAMS) {
  return presignGuard({ action, signed, secrets: ctx.config.secrets, clock: ctx.clock });
}
