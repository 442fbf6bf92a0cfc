import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { serviceUrl, startService } from '../src/start.ts';

const times = { delayMs: 0, graceMs: 1000 };

test('the URL names the address and the port bound, an IPv6 address in brackets', () => {
  assert.equal(serviceUrl('127.0.0.1', 10233), 'http://127.0.0.1:10233');
  assert.equal(serviceUrl('::1', 10234), 'http://[::1]:10234');
  assert.equal(serviceUrl('localhost', 80), 'http://localhost:80');
});

test('a started service answers on its URL; its stop stops the jobs, then releases, once', async () => {
  const events: string[] = [];
  const service = await startService({
    host: '127.0.0.1',
    port: 0,
    shutdown: times,
    build: async () => {
      const app = Fastify();
      app.get('/ping', async () => ({ ok: true }));
      return app;
    },
    listening: (url) => events.push(`listening ${url}`),
    jobs: () => [{ stop: async () => void events.push('job stopped') }],
    release: async () => void events.push('released'),
  });
  assert.match(service.url, /^http:\/\/127\.0\.0\.1:[1-9][0-9]*$/);
  assert.deepEqual(await (await fetch(`${service.url}/ping`)).json(), { ok: true });
  await Promise.all([service.close(), service.close()]);
  assert.deepEqual(events, [`listening ${service.url}`, 'job stopped', 'released']);
  await assert.rejects(fetch(`${service.url}/ping`));
});

test('a build that fails releases what the service opened, and starts no job', async () => {
  const events: string[] = [];
  await assert.rejects(
    startService({
      host: '127.0.0.1',
      port: 0,
      shutdown: times,
      build: async () => {
        throw new Error('no database');
      },
      jobs: () => {
        events.push('jobs started');
        return [];
      },
      release: async () => void events.push('released'),
    }),
    /no database/,
  );
  assert.deepEqual(events, ['released']);
});
