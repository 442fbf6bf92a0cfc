import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signReceipt } from '@dreamlake/presign';
import { forEachEngine } from './helpers/engines.ts';
import { PRESIGN_SECRET, sha256, useHarness } from './helpers/harness.ts';

const MAX = 16 * 1024;

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({ maxUploadBytes: MAX }));
  const hashOf = (text: string) => sha256(`${engine}-${text}-${Math.random()}`);
  const grantBody = (ns: string, hash: string, size?: number) => ({
    namespace: ns,
    space: 'robotics',
    filename: 'run.bin',
    hash,
    contentType: 'application/octet-stream',
    type: 'files',
    ...(size === undefined ? {} : { size }),
  });
  const receipt = (ns: string, hash: string, size: number) =>
    signReceipt(
      [PRESIGN_SECRET],
      { owner: ns, project: 'robotics', hash, size, contentType: 'application/octet-stream' },
      Math.floor(h.clock.now / 1000),
      600,
    );
  const register = (token: string, ns: string, body: object) =>
    h.call('POST', `/namespaces/${ns}/spaces/robotics/files`, token, { name: 'run.bin', type: 'files', ...body });

  test('a grant without a size is refused with 400 naming the field, on /uploads/init and /uploads/batch', async () => {
    const alice = await h.user('alice');
    const single = await h.call('POST', '/uploads/init', alice.token, grantBody(alice.name, hashOf('a')));
    assert.equal(single.statusCode, 400, single.body);
    assert.equal(single.json().error.code, 'invalid_request');
    assert.match(single.body, /size/);

    const { namespace, space, ...entry } = grantBody(alice.name, hashOf('b'));
    const batch = await h.call('POST', '/uploads/batch', alice.token, { namespace, space, files: [entry] });
    assert.equal(batch.statusCode, 200, batch.body);
    const [answer] = batch.json().files;
    assert.equal(answer.error.code, 'invalid_request');
    assert.match(JSON.stringify(answer.error), /size/);

    const sized = await h.call('POST', '/uploads/init', alice.token, grantBody(alice.name, hashOf('c'), 100));
    assert.equal(sized.statusCode, 200, sized.body);
  });

  test('a blob larger than MAX_UPLOAD_BYTES is not registered, whether a receipt or BSS vouches for it', async () => {
    const alice = await h.user('alice');
    const viaReceipt = hashOf('receipt');
    const refused = await register(alice.token, alice.name, {
      hash: viaReceipt,
      receipt: receipt(alice.name, viaReceipt, 4 * MAX),
    });
    assert.equal(refused.statusCode, 413, refused.body);
    assert.equal(refused.json().error.code, 'too_large');

    const viaStat = hashOf('stat');
    h.bss.put(alice.name, 'robotics', viaStat, 4 * MAX);
    const statRefused = await register(alice.token, alice.name, { hash: viaStat });
    assert.equal(statRefused.statusCode, 413, statRefused.body);

    const batch = await h.call('POST', `/namespaces/${alice.name}/spaces/robotics/files/batch`, alice.token, {
      files: [{ name: 'big.bin', type: 'files', hash: viaReceipt, receipt: receipt(alice.name, viaReceipt, 4 * MAX) }],
    });
    assert.equal(batch.statusCode, 200, batch.body);
    assert.equal(batch.json().files[0].error.code, 'too_large');

    const listed = await h.call('GET', `/namespaces/${alice.name}/spaces/robotics/files`, alice.token);
    assert.deepEqual(listed.statusCode === 200 ? listed.json().files : [], []);
  });

  test('a blob of another size than its grant stated is not registered', async () => {
    const alice = await h.user('alice');
    const hash = hashOf('granted');
    const granted = await h.call('POST', '/uploads/init', alice.token, grantBody(alice.name, hash, 1_000));
    assert.equal(granted.statusCode, 200, granted.body);
    const other = await register(alice.token, alice.name, { hash, receipt: receipt(alice.name, hash, 2_000) });
    assert.equal(other.statusCode, 409, other.body);
    assert.equal(other.json().error.grantedSize, 1_000);
    const same = await register(alice.token, alice.name, { hash, receipt: receipt(alice.name, hash, 1_000) });
    assert.equal(same.statusCode, 201, same.body);
  });
});
