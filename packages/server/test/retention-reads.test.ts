import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { uniqueHash } from './helpers/commits.ts';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';
import { dropDuring as dropRace, NAMES, spaceWithHistory, V_MIN } from './helpers/retention-race.ts';

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({ jwtTtlSeconds: 30 * 24 * 3600 }));
  const hashOf = (text: string) => uniqueHash(`${engine}-${text}`);

  /** A space whose version 1 has 300 files, version 2 half of them changed, version 3 (a week on) one more. */
  async function history() {
    const user = await h.user('reader');
    return { user, ...(await spaceWithHistory(h, user, hashOf)) };
  }
  const dropDuring = (spaceId: string, request: () => Promise<LightMyRequestResponse>) =>
    dropRace(h, engine, spaceId, request);

  const assertDropped = (res: LightMyRequestResponse, what: string) => {
    assert.equal(res.statusCode, 404, `${what}: ${res.body.slice(0, 300)}`);
    assert.equal(res.json().error.dropped, true, `${what}: ${res.body.slice(0, 300)}`);
  };

  test('a version listed while the retention drops it is 404 dropped, never a part of its files', async () => {
    const { user, c, spaceId } = await history();
    const listed = await h.call('GET', `${c.base}/files?version=1&limit=1000`, user.token);
    assert.equal(listed.json().files.length, 300);
    const res = await dropDuring(spaceId, () => h.call('GET', `${c.base}/files?version=1&limit=1000`, user.token));
    assertDropped(res, 'files?version=1');
    // A kept version read meanwhile is whole.
    const kept = await h.call('GET', `${c.base}/files?version=${V_MIN}&limit=1000`, user.token);
    assert.equal(kept.json().files.length, 301);
  });

  test('a diff from a version the retention drops meanwhile is 404 dropped', async () => {
    const { user, c, spaceId } = await history();
    const url = `${c.base}/diff?from=1&to=${V_MIN}&limit=1000`;
    assert.equal((await h.call('GET', url, user.token)).json().changes.length, 151);
    assertDropped(await dropDuring(spaceId, () => h.call('GET', url, user.token)), 'diff');
  });

  test('downloads at a version the retention drops meanwhile are 404 dropped, one by one or in a batch', async () => {
    const { user, c, spaceId } = await history();
    const changed = NAMES[0]!;
    const one = await dropDuring(spaceId, () =>
      h.call('GET', `${c.base}/files/download?name=${changed}&version=1`, user.token),
    );
    assertDropped(one, 'files/download');

    const second = await history();
    const batch = await dropDuring(second.spaceId, () =>
      h.call('POST', '/downloads/batch', second.user.token, {
        namespace: second.user.name,
        space: 'robotics',
        version: 1,
        files: NAMES.map((name) => ({ name })),
      }),
    );
    assertDropped(batch, 'downloads/batch');
  });
});
