import { TooLargeError } from '@dreamlake/presign';
import type { ServerContext } from '../context.ts';
import { namesPerHash, namespaceUsage } from '../db/files.ts';
import type { Namespace } from '../db/namespaces.ts';

/**
 * Refuses when the bytes the namespace stores (each blob once) plus `incoming` would pass its
 * quota. A full namespace takes no new file, not even an empty one: with the size unknown (null)
 * or zero, it refuses once the namespace is full. A negative `incoming` (a name pointed at a
 * smaller blob) refuses only when the namespace would still be over its quota afterwards.
 */
export async function checkQuota(ctx: ServerContext, namespace: Namespace, incoming: number | null): Promise<void> {
  const quota = ctx.config.namespaceQuotaBytes;
  if (quota === null) return;
  const used = await namespaceUsage(ctx.db, namespace.id);
  const over = incoming === null || incoming === 0 ? used >= quota : used + incoming > quota;
  if (over) {
    throw new TooLargeError(`namespace "${namespace.name}" is over its quota`, { quotaBytes: quota, usedBytes: used });
  }
}

/** A name about to point at a blob, and the blob it pointed at before, if any. */
export interface IndexChange {
  hash: string;
  size: number;
  previous?: { hash: string; size: number } | undefined;
}

/**
 * How many bytes the namespace's stored blobs grow by when these names of one space point at
 * their blobs: a blob the space already holds under another name adds nothing, and a blob that
 * loses its last name frees its size. `spaceId` is undefined for a space not created yet.
 */
export async function storedBytesDelta(
  ctx: ServerContext,
  spaceId: string | undefined,
  changes: readonly IndexChange[],
): Promise<number> {
  const incoming = new Map(changes.map((c) => [c.hash, c.size]));
  const leaving = new Map<string, { size: number; names: number }>();
  for (const { previous } of changes) {
    if (!previous) continue;
    const entry = leaving.get(previous.hash) ?? { size: previous.size, names: 0 };
    entry.names += 1;
    leaving.set(previous.hash, entry);
  }
  if (spaceId === undefined) return [...incoming.values()].reduce((sum, size) => sum + size, 0);
  const names = await namesPerHash(ctx.db, spaceId, [...incoming.keys(), ...leaving.keys()]);
  let delta = 0;
  for (const [hash, size] of incoming) if (!names.has(hash)) delta += size;
  for (const [hash, { size, names: renamed }] of leaving) {
    if (incoming.has(hash)) continue;
    if ((names.get(hash) ?? 0) - renamed <= 0) delta -= size;
  }
  return delta;
}
