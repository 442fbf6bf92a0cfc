/**
 * A share link pinned to a version the retention drops while the link is being read answers 410
 * `gone`, never a part of the version: as reads at a version do (retention-reads.test.ts; both
 * drop mid-request through helpers/retention-race.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { uniqueHash } from './helpers/commits.ts';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';
import { dropDuring as dropRace, NAMES, spaceWithHistory } from './helpers/retention-race.ts';

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({ jwtTtlSeconds: 30 * 24 * 3600 }));
  const hashOf = (text: string) => uniqueHash(`${engine}-${text}`);

  /** A space whose version 1 has 300 files, version 2 half of them changed, version 3 (a week on) one more; a link to version 1. */
  async function history() {
    const user = await h.user('sharer');
    const { spaceId } = await spaceWithHistory(h, user, hashOf);
    const made = await h.call('POST', '/shares', user.token, { namespace: user.name, space: 'robotics', version: 1 });
    assert.equal(made.statusCode, 201, made.body);
    return { spaceId, path: made.json().path as string };
  }
  const dropDuring = (spaceId: string, request: () => Promise<LightMyRequestResponse>) =>
    dropRace(h, engine, spaceId, request);

  const assertGone = (res: LightMyRequestResponse, what: string) => {
    assert.equal(res.statusCode, 410, `${what}: ${res.body.slice(0, 300)}`);
    assert.equal(res.json().error.code, 'gone', what);
  };

  test('a pinned version listed through a link while the retention drops it is 410, never a part of its files', async () => {
    const { spaceId, path } = await history();
    assert.equal((await h.call('GET', `${path}/files?limit=1000`)).json().files.length, 300);
    assertGone(await dropDuring(spaceId, () => h.call('GET', `${path}/files?limit=1000`)), 'files');
  });

  test('download URLs asked through a link while the retention drops its version are 410', async () => {
    const { spaceId, path } = await history();
    const batch = await dropDuring(spaceId, () =>
      h.call('POST', `${path}/downloads`, undefined, { files: NAMES.map((name) => ({ name })) }),
    );
    assertGone(batch, 'downloads');
  });
});
