import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { requestJson } from '@dreamlake/protocol/client';
import type { FastifyInstance } from 'fastify';
import { cliTransport, createAgent, requestId, withRequestId } from '../packages/cli/src/http.ts';
import { buildServerApp, type DB, openDatabase } from '../packages/server/src/index.ts';
import { createTestDatabase, type TestDatabase } from '../packages/server/test/helpers/engines.ts';
import { testConfig } from '../packages/server/test/helpers/harness.ts';

let database: TestDatabase;
let db: DB;
let app: FastifyInstance;
let url: string;
const lines: Array<{ requestId?: string; req?: { url: string } }> = [];
before(async () => {
  database = await createTestDatabase('sqlite');
  db = await openDatabase({ databaseUrl: database.url });
  const config = testConfig({ databaseUrl: database.url, logLevel: 'info' });
  app = await buildServerApp({ config, db, logStream: { write: (line) => void lines.push(JSON.parse(line)) } });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await app?.close();
  await db?.destroy();
  await database?.drop();
});

/** The URLs the server logged as incoming under one request id. */
const urlsOf = (id: string) => lines.filter((l) => l.requestId === id && l.req).map((l) => l.req!.url);

test('the CLI sends the id of the operation it runs in with every request, even interleaved', async () => {
  const agent = createAgent(4);
  const via = cliTransport(agent);
  try {
    const operation = (id: string, path: string) =>
      withRequestId(id, async () => {
        assert.equal(requestId(), id);
        await requestJson(via, 'GET', `${url}${path}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        await requestJson(via, 'GET', `${url}/readyz`);
      });
    await Promise.all([operation('op-a', '/healthz'), operation('op-b', '/openapi.json')]);
    assert.deepEqual(urlsOf('op-a'), ['/healthz', '/readyz']);
    assert.deepEqual(urlsOf('op-b'), ['/openapi.json', '/readyz']);

    assert.equal(requestId(), undefined);
    await requestJson(via, 'GET', `${url}/healthz`);
    const last = lines.filter((l) => l.req).at(-1)!;
    assert.match(last.requestId!, /^[0-9a-f-]{36}$/, 'outside an operation the server names the request');
  } finally {
    await agent.close();
  }
});
