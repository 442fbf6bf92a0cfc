/**
 * A counting HTTP proxy: forwards every request to one origin over keep-alive and counts them by
 * method and route (the path without its query). Put in front of the server and BSS, it tells how
 * many requests a client sent, whatever the client is.
 */
import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';

export interface CountingProxy {
  url: string;
  /** Requests by "METHOD /path" (a namespace and space in the path as {ns} and {space}). */
  readonly counts: Map<string, number>;
  total(): number;
  close(): Promise<void>;
}

export async function startCountingProxy(target: { host: string; port: number }, port = 0): Promise<CountingProxy> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = ((req.url ?? '/').split('?')[0] ?? '/').replace(
      /^\/namespaces\/[^/]+\/spaces\/[^/]+\//,
      '/namespaces/{ns}/spaces/{space}/',
    );
    const key = `${req.method} ${path}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const upstream = request(
      { host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'proxy_error', message: error.message } }));
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${bound}`,
    counts,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    close: async () => {
      server.closeAllConnections();
      server.close();
      agent.destroy();
      await once(server, 'close');
    },
  };
}

/** "42 PUT /x, 3 POST /y" for the biggest few routes. */
export function describeCounts(counts: Map<string, number>, top = 6): string {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([route, n]) => `${n.toLocaleString('en-US')} ${route}`)
    .join(', ');
}
