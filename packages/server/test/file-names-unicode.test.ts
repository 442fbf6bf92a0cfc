import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachEngine } from './helpers/engines.ts';
import { sha256, useHarness } from './helpers/harness.ts';

/** Names that would show as something they are not: a reversed extension, an invisible difference. */
const HOSTILE = ['invoice\u202Efdp.exe', 'run/a\u200Bb.csv', 'a\u2066b.txt', '\uFEFFnotes.txt', 'x\u2028y.txt'];

forEachEngine((engine) => {
  const h = useHarness(engine);
  const files = (ns: string) => `/namespaces/${ns}/spaces/robotics/files`;

  const refused = (res: { statusCode: number; json(): unknown }, what: string) => {
    assert.equal(res.statusCode, 400, what);
    const { error } = res.json() as { error: { code: string; message: string } };
    assert.equal(error.code, 'invalid_request', what);
    assert.match(error.message, /bidirectional|invisible/, what);
  };

  test('names with bidirectional controls or invisible characters are refused with 400 invalid_request', async () => {
    const alice = await h.user('alice');
    const hash = sha256('bytes');
    h.bss.put(alice.name, 'robotics', hash, 5);
    const ok = await h.call('POST', files(alice.name), alice.token, { name: 'ok.txt', hash, type: 'files' });
    assert.equal(ok.statusCode, 201, ok.body);
    for (const name of HOSTILE) {
      const what = JSON.stringify(name);
      refused(await h.call('POST', files(alice.name), alice.token, { name, hash, type: 'files' }), `register ${what}`);
      refused(
        await h.call('GET', `${files(alice.name)}/download?name=${encodeURIComponent(name)}`, alice.token),
        `download ${what}`,
      );
      refused(
        await h.call('POST', '/uploads/init', alice.token, {
          namespace: alice.name,
          space: 'robotics',
          filename: name,
          hash,
          contentType: 'text/plain',
          type: 'files',
          size: 5,
        }),
        `init ${what}`,
      );
      // In a batch, the entry is refused on its own, with the same code.
      const batch = await h.call('POST', `${files(alice.name)}/batch`, alice.token, {
        files: [{ name, hash, type: 'files' }],
      });
      const entry = (batch.json() as { files: Array<{ error?: { code: string; message: string } }> }).files[0];
      assert.equal(entry?.error?.code, 'invalid_request', `batch ${what}: ${batch.body}`);
      assert.match(entry?.error?.message ?? '', /bidirectional|invisible/);
    }
    const listed = await h.call('GET', files(alice.name), alice.token);
    assert.equal(listed.statusCode, 200);
    const names = (listed.json() as { files: Array<{ name: string }> }).files.map((f) => f.name);
    assert.deepEqual(names, ['ok.txt'], 'none of them was registered');
  });
});
