import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';

/**
 * A BSS that takes single-shot bodies by PUT (it answers the "how do you take bodies" POST with
 * `put`) and keeps the SHA-256 of each body by its URL.
 */
export async function singlePutBss(): Promise<{ url: string; stored: Map<string, string>; close: () => void }> {
  const stored = new Map<string, string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST') return res.end(JSON.stringify({ mode: 'put', url: req.url }));
      stored.set(req.url ?? '', createHash('sha256').update(Buffer.concat(chunks)).digest('hex'));
      res.end('');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return { url, stored, close: () => server.close() };
}
