import { DreamLakeError, presignUrl } from '@dreamlake/presign';
import { ACTIONS, blobPath } from '@dreamlake/protocol';
import { z } from 'zod';
import type { ServerConfig } from './config.ts';
import { type BlobRef, blobUrl } from './signing.ts';

export interface BlobStat {
  size: number;
  contentType: string;
}

/** What the server asks of BSS. */
export interface BssClient {
  /** The verified blob's size and type, or null when BSS holds no verified blob for it. */
  stat(blob: BlobRef): Promise<BlobStat | null>;
  /**
   * Asks BSS to delete a verified blob no index entry points at: `deleted`, `absent` (BSS holds
   * no such blob) or `recent` (published within BSS's grace period, so kept).
   */
  deleteBlob(blob: BlobRef): Promise<'deleted' | 'absent' | 'recent'>;
}

const statAnswer = z.object({
  size: z.number().int().nonnegative(),
  contentType: z.string().min(1).optional(),
});

/** Asks BSS over HTTP with a `stat` URL the server signs itself. */
export function createBssClient(
  config: Pick<ServerConfig, 'bssInternalUrl' | 'presignSecrets' | 'presignTtlSeconds'>,
  clock: () => number = Date.now,
  timeoutMs = 10_000,
): BssClient {
  /** 503 `storage_unavailable`, keeping the failure it wraps (if any) as its cause. */
  const unavailable = (why: string, cause?: unknown) =>
    new DreamLakeError('storage_unavailable', `blob storage could not be asked: ${why}`, undefined, { cause });
  return {
    async stat(blob) {
      const { url } = blobUrl(config, config.bssInternalUrl, 'stat', blob, clock());
      let response: Response;
      try {
        response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        throw unavailable(error instanceof Error ? error.name : 'network error', error);
      }
      if (response.status === 404) {
        await response.body?.cancel();
        return null;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw unavailable(`status ${response.status}`);
      }
      const parsed = statAnswer.safeParse(await response.json().catch(() => undefined));
      if (!parsed.success) throw unavailable('unexpected answer');
      return { size: parsed.data.size, contentType: parsed.data.contentType ?? 'application/octet-stream' };
    },

    async deleteBlob(blob) {
      const { url } = presignUrl(config.bssInternalUrl, blobPath('delete'), {
        action: ACTIONS.delete,
        params: { owner: blob.owner, project: blob.project, hash: blob.hash },
        secrets: config.presignSecrets,
        now: Math.floor(clock() / 1000),
        ttlSeconds: Math.min(config.presignTtlSeconds, 300),
      });
      let response: Response;
      try {
        response = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        throw unavailable(error instanceof Error ? error.name : 'network error', error);
      }
      await response.body?.cancel();
      if (response.ok) return 'deleted';
      if (response.status === 404) return 'absent';
      if (response.status === 409) return 'recent';
      throw unavailable(`status ${response.status}`);
    },
  };
}
