import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildBssApp } from '../src/app.ts';
import { createStorage } from '../src/storage/index.ts';
import { sha256, signedQuery, tempDir, testConfig } from './helpers.ts';

test('BSS answers the request id in x-request-id and logs it with every line of the request', async () => {
  const temp = await tempDir();
  const lines: string[] = [];
  const config = testConfig(temp.dir, { LOG_LEVEL: 'info', CORS_ORIGINS: 'https://app.example' });
  const storage = await createStorage(config);
  const app = await buildBssApp({ config, storage, logStream: { write: (line) => void lines.push(line) } });
  try {
    const scope = { owner: 'acme', project: 'ids', hash: sha256(Buffer.from('x')) };
    const id = 'cli-1234.file-7';
    const res = await app.inject({
      method: 'GET',
      url: `/blobs/stat?${signedQuery('stat', scope)}`,
      headers: { 'x-request-id': id },
    });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['x-request-id'], id);
    const logged = lines.map((l) => JSON.parse(l) as { requestId?: string; msg: string; req?: { url: string } });
    const mine = logged.filter((l) => l.requestId === id);
    assert.deepEqual(
      mine.map((l) => l.msg),
      ['incoming request', 'request completed'],
    );
    assert.ok(!JSON.stringify(mine).includes(new URLSearchParams(signedQuery('stat', scope)).get('sig')!));

    const fresh = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\n' } });
    assert.match(fresh.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);

    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/files/upload/multipart/init',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-request-id',
      },
    });
    assert.match(preflight.headers['access-control-allow-headers'] as string, /x-request-id/);
    const cross = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://app.example' } });
    assert.match(cross.headers['access-control-expose-headers'] as string, /x-request-id/);
  } finally {
    await app.close();
    await temp.remove();
  }
});
