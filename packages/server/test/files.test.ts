import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildServerApp } from '../src/index.ts';
import { forEachEngine } from './helpers/engines.ts';
import { PRESIGN_SECRET, PUBLIC_BSS, sha256, useHarness } from './helpers/harness.ts';
import { readSignedUrl, specSignature } from './helpers/spec-signature.ts';

forEachEngine((engine) => {
  const h = useHarness(engine);
  const filesUrl = (ns: string, space = 'robotics') => `/namespaces/${ns}/spaces/${space}/files`;
  const register = (token: string, ns: string, body: unknown, space = 'robotics') =>
    h.call('POST', filesUrl(ns, space), token, body);

  test('a file is registered only once BSS confirms the verified blob; size and type come from BSS', async () => {
    const alice = await h.user('alice');
    const hash = sha256('clip');
    const missing = await register(alice.token, alice.name, { name: 'clips/a.mp4', hash, type: 'videos' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'not_found');
    assert.deepEqual(
      (await h.call('GET', filesUrl(alice.name), alice.token)).statusCode,
      404,
      'nothing registered, no space created',
    );

    h.bss.put(alice.name, 'robotics', hash, 4321, 'video/mp4');
    const created = await register(alice.token, alice.name, {
      name: 'clips/a.mp4',
      hash,
      type: 'videos',
      contentType: 'video/x-other',
    });
    assert.equal(created.statusCode, 201);
    assert.deepEqual(created.json().file, {
      namespace: alice.name,
      space: 'robotics',
      name: 'clips/a.mp4',
      type: 'videos',
      size: 4321,
      contentType: 'video/mp4',
      hash,
      uploadedBy: alice.name,
      createdAt: new Date(h.clock.now).toISOString(),
    });
    assert.ok(h.bss.stats.includes(`${alice.name}/robotics/${hash}`));

    const again = await register(alice.token, alice.name, { name: 'clips/a.mp4', hash, type: 'videos' });
    assert.equal(again.statusCode, 200);
    assert.deepEqual(again.json().file, created.json().file);
  });

  test('the same name with another hash replaces the entry', async () => {
    const alice = await h.user('alice');
    const [v1, v2] = [sha256('v1'), sha256('v2')];
    h.bss.put(alice.name, 'robotics', v1, 10);
    h.bss.put(alice.name, 'robotics', v2, 20, 'text/csv');
    assert.equal(
      (await register(alice.token, alice.name, { name: 'data.csv', hash: v1, type: 'tracks' })).statusCode,
      201,
    );
    const replaced = await register(alice.token, alice.name, { name: 'data.csv', hash: v2, type: 'tracks' });
    assert.equal(replaced.statusCode, 201);
    const files = (await h.call('GET', filesUrl(alice.name), alice.token)).json().files;
    assert.equal(files.length, 1);
    assert.equal(files[0].hash, v2);
    assert.equal(files[0].size, 20);
    assert.equal(files[0].contentType, 'text/csv');
  });

  test('listing needs a reader role; registering needs a writer; another user’s space is 404', async () => {
    const [owner, reader, outsider] = [await h.user('own'), await h.user('rea'), await h.user('out')];
    const org = `org-files-${engine}`;
    await h.call('POST', '/orgs', owner.token, { name: org });
    await h.call('PUT', `/orgs/${org}/members/${reader.name}`, owner.token, { role: 'reader' });
    const hash = sha256('labels');
    h.bss.put(org, 'robotics', hash, 99, 'application/jsonl');
    assert.equal((await register(reader.token, org, { name: 'l.jsonl', hash, type: 'labels' })).statusCode, 403);
    assert.equal((await register(outsider.token, org, { name: 'l.jsonl', hash, type: 'labels' })).statusCode, 404);
    assert.equal((await register(owner.token, org, { name: 'l.jsonl', hash, type: 'labels' })).statusCode, 201);

    const listed = await h.call('GET', filesUrl(org), reader.token);
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(
      listed.json().files.map((f: { name: string }) => f.name),
      ['l.jsonl'],
    );
    for (const url of [filesUrl(org), `${filesUrl(org)}/download?name=l.jsonl`, filesUrl(owner.name, 'anything')]) {
      const res = await h.call('GET', url, outsider.token);
      assert.equal(res.statusCode, 404, url);
      assert.ok(!res.body.includes(hash));
    }
    assert.equal((await h.call('GET', filesUrl(org, 'nope'), reader.token)).statusCode, 404);
    assert.equal((await h.call('GET', filesUrl(org))).statusCode, 401);
  });

  test('a download grant is a signed BSS download URL for that file', async () => {
    const alice = await h.user('alice');
    const hash = sha256('photo');
    h.bss.put(alice.name, 'robotics', hash, 777, 'image/png');
    await register(alice.token, alice.name, { name: 'pics/cat 1.png', hash, type: 'image' });
    const res = await h.call(
      'GET',
      `${filesUrl(alice.name)}/download?name=${encodeURIComponent('pics/cat 1.png')}`,
      alice.token,
    );
    assert.equal(res.statusCode, 200);
    const grant = res.json();
    assert.deepEqual(
      { ...grant, url: undefined },
      {
        url: undefined,
        name: 'pics/cat 1.png',
        hash,
        size: 777,
        contentType: 'image/png',
        expiresAt: new Date((Math.floor(h.clock.now / 1000) + h.config.presignTtlSeconds) * 1000).toISOString(),
      },
    );
    const url = readSignedUrl(grant.url);
    assert.equal(url.origin, PUBLIC_BSS);
    assert.equal(url.path, '/blobs/download');
    assert.deepEqual(url.params, { owner: alice.name, project: 'robotics', hash });
    assert.equal(url.sig, specSignature(PRESIGN_SECRET, 'download', url.params, url.exp));

    assert.equal(
      (await h.call('GET', `${filesUrl(alice.name)}/download?name=missing.png`, alice.token)).statusCode,
      404,
    );
    assert.equal((await h.call('GET', `${filesUrl(alice.name)}/download`, alice.token)).statusCode, 400);
    assert.equal((await h.call('GET', `${filesUrl(alice.name)}/download?name=../x`, alice.token)).statusCode, 400);
  });

  test('invalid bodies are 400 and unreachable blob storage is 503', async () => {
    const alice = await h.user('alice');
    const hash = sha256('x');
    for (const body of [
      { name: '', hash, type: 'files' },
      { name: 'a/./b', hash, type: 'files' },
      { name: 'ok', hash: 'zz', type: 'files' },
      { name: 'ok', hash, type: 'blob' },
      {},
    ]) {
      assert.equal((await register(alice.token, alice.name, body)).statusCode, 400, JSON.stringify(body));
    }
    const offline = await buildServerApp({
      config: { ...h.config, bssInternalUrl: 'http://127.0.0.1:9' },
      db: h.db,
      clock: () => h.clock.now,
    });
    try {
      const res = await offline.inject({
        method: 'POST',
        url: filesUrl(alice.name),
        headers: { authorization: `Bearer ${alice.token}` },
        payload: { name: 'x', hash, type: 'files' },
      });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().error.code, 'storage_unavailable');
    } finally {
      await offline.close();
    }
  });
});
