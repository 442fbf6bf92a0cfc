import { TooLargeError } from '@dreamlake/presign';
import type { ServerContext } from '../context.ts';
import { namespaceUsage } from '../db/files.ts';
import type { Namespace } from '../db/namespaces.ts';

/**
 * Refuses when the namespace's indexed bytes plus `incoming` would pass its quota; with the size
 * unknown (null), refuses once the namespace is full.
 */
export async function checkQuota(ctx: ServerContext, namespace: Namespace, incoming: number | null): Promise<void> {
  const quota = ctx.config.namespaceQuotaBytes;
  if (quota === null || (incoming !== null && incoming <= 0)) return;
  const used = await namespaceUsage(ctx.db, namespace.id);
  if (incoming === null ? used >= quota : used + incoming > quota) {
    throw new TooLargeError(`namespace "${namespace.name}" is over its quota`, { quotaBytes: quota, usedBytes: used });
  }
}
