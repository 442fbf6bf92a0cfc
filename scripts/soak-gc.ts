/**
 * A full garbage collection in a running service, asked through its inspector (the services of a
 * soak are started with `--inspect` on a loopback port of their own): `HeapProfiler.collectGarbage`
 * over the inspector's WebSocket. The heap used read after it is what is alive, not what a
 * collection has not yet reached, so heaps at rest can be compared within a few MiB.
 */
import { WebSocket } from 'undici';

export async function collectGarbage(inspectorPort: number): Promise<void> {
  const list = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl?: string;
  }>;
  const url = list[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${inspectorPort}`);
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the inspector did not answer within 30 s')), 30_000);
      ws.addEventListener('error', () => {
        clearTimeout(timer);
        reject(new Error(`inspector WebSocket ${url} failed`));
      });
      ws.addEventListener('open', () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
      ws.addEventListener('message', (event) => {
        const message = JSON.parse(String(event.data)) as { id?: number; error?: { message: string } };
        if (message.id !== 1) return;
        clearTimeout(timer);
        if (message.error) reject(new Error(`collectGarbage: ${message.error.message}`));
        else resolve();
      });
    });
  } finally {
    ws.close();
  }
}
