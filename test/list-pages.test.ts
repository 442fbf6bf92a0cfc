/**
 * A space of a few thousand names, listed by the CLI and the library against the real server (in
 * this process, on SQLite and PostgreSQL), which answers at most 1,000 files a page: every name
 * comes back, once, in order.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { DreamLakeClient } from '../packages/cli/src/client.ts';
import { DownloadClient } from '../packages/cli/src/download/client.ts';
import { run } from '../packages/cli/src/index.ts';
import { fakeIo } from '../packages/cli/test/io.ts';
import { forEachEngine } from '../packages/server/test/helpers/engines.ts';
import { sha256, useHarness } from '../packages/server/test/helpers/harness.ts';

const COUNT = 3200;
const NAMES = Array.from({ length: COUNT }, (_, i) => {
  const n = (i * 7919) % COUNT;
  return `${n % 4 === 0 ? 'frames' : 'logs'}/${String(n).padStart(5, '0')}.bin`;
});

forEachEngine((engine) => {
  const h = useHarness(engine);
  let owner: { name: string; token: string };
  let server: string;

  /** GET …/files requests the server has answered so far, from its own metrics. */
  const listRequests = async (): Promise<number> => {
    const text = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('dreamlake_http_requests_total{') &&
          l.includes('method="GET"') &&
          l.includes('route="/namespaces/:ns/spaces/:space/files"') &&
          l.includes('status="200"'),
      );
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  before(async () => {
    owner = await h.user('lister');
    const hash = sha256(`${engine}-listed`);
    h.bss.put(owner.name, 'many', hash, 3);
    for (let start = 0; start < COUNT; start += 1000) {
      const files = NAMES.slice(start, start + 1000).map((name) => ({ name, hash, type: 'files' }));
      const res = await h.call('POST', `/namespaces/${owner.name}/spaces/many/files/batch`, owner.token, { files });
      assert.equal(res.statusCode, 200, res.body);
    }
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    server = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  });

  test('the library lists every file of the space, and of a folder in it, across pages', async () => {
    const client = new DreamLakeClient({ server, token: owner.token, home: join('/tmp', 'unused-dreamlake-home') });
    try {
      const before = await listRequests();
      const files = await client.list(`${owner.name}/many`);
      assert.equal(files.length, COUNT);
      assert.deepEqual(
        files.map((f) => f.name),
        [...NAMES].sort(),
      );
      assert.ok((await listRequests()) - before >= 4, 'four pages of at most 1,000 were asked for');
      const frames = await client.list(`${owner.name}/many`, { prefix: 'frames/' });
      assert.deepEqual(
        frames.map((f) => f.name),
        NAMES.filter((n) => n.startsWith('frames/')).sort(),
      );
    } finally {
      await client.close();
    }
  });

  test('dreamlake ls prints every file, and download finds every file of a folder', async () => {
    const env = {
      DREAMLAKE_HOME: '/tmp/unused-dreamlake-home',
      DREAMLAKE_SERVER: server,
      DREAMLAKE_TOKEN: owner.token,
    };
    const json = fakeIo(env);
    assert.equal(await run(['ls', `${owner.name}/many`, '--json'], json.io), 0, json.stderr());
    const listed = JSON.parse(json.stdout()) as Array<{ name: string }>;
    assert.equal(listed.length, COUNT);
    assert.equal(new Set(listed.map((f) => f.name)).size, COUNT);

    const plain = fakeIo(env);
    assert.equal(await run(['ls', `${owner.name}/many`], plain.io), 0, plain.stderr());
    assert.equal(plain.stdout().trim().split('\n').length, COUNT);

    const download = new DownloadClient({ server, token: owner.token, home: '/tmp/unused-dreamlake-home' });
    try {
      const remote = await download.resolve(owner.name, 'many', 'logs');
      assert.equal(remote.kind, 'folder');
      assert.equal(remote.kind === 'folder' && remote.files.length, NAMES.filter((n) => n.startsWith('logs/')).length);
    } finally {
      await download.close();
    }
  });
});
