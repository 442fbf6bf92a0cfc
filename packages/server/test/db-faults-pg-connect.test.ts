/**
 * A PostgreSQL that takes connections and never answers (a hung server, a black-holed network):
 * a query fails as 503 `unavailable` once the pool's connection timeout is over, well within the
 * request timeout, instead of hanging.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { Kysely, sql } from 'kysely';
import { DatabaseUnavailableError } from '../src/db/connection.ts';
import { dialectFor } from '../src/db/dialect.ts';

test('a PostgreSQL that accepts connections and never answers fails queries as unavailable, not a hang', {
  timeout: 20_000,
}, async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as { port: number };
  const db = new Kysely<unknown>({ dialect: dialectFor(`postgres://postgres@127.0.0.1:${port}/postgres`) });
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    silent.close();
    await db.destroy();
  });
  const error = await sql`select 1`.execute(db).then(
    () => assert.fail('a query answered'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof DatabaseUnavailableError, String(error));
  assert.equal(error.code, 'unavailable');
  assert.equal(error.status, 503);
});
