import { DreamLakeError } from '@dreamlake/presign';
import { presignGuard, registerErrorHandling } from '@dreamlake/service';
import Fastify, { type FastifyInstance } from 'fastify';

export interface FakeBss {
  url: string;
  /** Verified blobs by `owner/project/hash`. */
  blobs: Map<string, { size: number; contentType: string }>;
  put(owner: string, project: string, hash: string, size: number, contentType?: string): void;
  /** Every stat request that passed the signature check. */
  stats: string[];
  close(): Promise<void>;
}

/** A stand-in for BSS's `GET /blobs/stat`: checks the signature like BSS does and answers from a map. */
export async function startFakeBss(secrets: readonly string[], clockSeconds: () => number): Promise<FakeBss> {
  const app: FastifyInstance = Fastify();
  registerErrorHandling(app);
  const blobs = new Map<string, { size: number; contentType: string }>();
  const stats: string[] = [];
  app.get(
    '/blobs/stat',
    { onRequest: presignGuard({ action: 'stat', signed: ['owner', 'project', 'hash'], secrets, clock: clockSeconds }) },
    async (request) => {
      const { owner, project, hash } = request.presign!.params as { owner: string; project: string; hash: string };
      const key = `${owner}/${project}/${hash}`;
      stats.push(key);
      const blob = blobs.get(key);
      if (!blob) throw new DreamLakeError('not_found', 'no verified blob');
      return { owner, project, hash, ...blob };
    },
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    blobs,
    stats,
    put(owner, project, hash, size, contentType = 'application/octet-stream') {
      blobs.set(`${owner}/${project}/${hash}`, { size, contentType });
    },
    close: () => app.close(),
  };
}
