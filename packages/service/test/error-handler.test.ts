import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { DreamLakeError } from '@dreamlake/protocol';
import Fastify from 'fastify';
import { registerErrorHandling } from '../src/error-handler.ts';

/** An app whose routes throw the given errors, and the log lines it writes. */
async function appLogging(): Promise<{ app: ReturnType<typeof Fastify>; lines: Array<Record<string, unknown>> }> {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const app = Fastify({ logger: { level: 'info', stream } });
  registerErrorHandling(app);
  app.get('/full', async () => {
    throw new DreamLakeError('unavailable', 'too many bytes in flight; try again');
  });
  app.get('/storage', async () => {
    throw new DreamLakeError('storage_unavailable', 'the bucket did not answer');
  });
  app.get('/bug', async () => {
    throw new TypeError('x is undefined');
  });
  app.get('/refused', async () => {
    throw new DreamLakeError('forbidden', 'not yours');
  });
  return { app, lines };
}

const WARN = 40;
const ERROR = 50;

test('a deliberate 503 unavailable is a warning; a storage outage and a bug are errors; a 4xx is neither', async () => {
  const { app, lines } = await appLogging();
  const answers = [];
  for (const path of ['/full', '/storage', '/bug', '/refused']) {
    const reply = await app.inject({ method: 'GET', url: path });
    answers.push([path, reply.statusCode, reply.json().error.code]);
  }
  assert.deepEqual(answers, [
    ['/full', 503, 'unavailable'],
    ['/storage', 503, 'storage_unavailable'],
    ['/bug', 500, 'internal'],
    ['/refused', 403, 'forbidden'],
  ]);
  const problems = lines.filter((line) => (line.level as number) >= WARN).map((line) => [line.level, line.msg]);
  assert.deepEqual(problems, [
    [WARN, 'too many bytes in flight; try again'],
    [ERROR, 'request failed'],
    [ERROR, 'request failed'],
  ]);
  await app.close();
});
