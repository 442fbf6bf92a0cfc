import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

forEachEngine((engine) => {
  const h = useHarness(engine);
  let orgCount = 0;
  const ownerCount = async (org: string) => {
    const rows = await h.db
      .selectFrom('memberships')
      .innerJoin('namespaces', 'namespaces.id', 'memberships.namespace_id')
      .select('memberships.user_id')
      .where('namespaces.name', '=', org)
      .where('memberships.role', '=', 'owner')
      .execute();
    return rows.length;
  };
  /** An organisation with `n` owners; answers its name and the owners. */
  const orgWithOwners = async (n: number) => {
    const people = [];
    for (let i = 0; i < n; i++) people.push(await h.user('own'));
    const org = `team${++orgCount}`;
    assert.equal((await h.call('POST', '/orgs', people[0]!.token, { name: org })).statusCode, 201);
    for (const p of people.slice(1))
      assert.equal(
        (await h.call('PUT', `/orgs/${org}/members/${p.name}`, people[0]!.token, { role: 'owner' })).statusCode,
        200,
      );
    return { org, people };
  };

  test('owners demoting each other at the same moment leave the organisation one owner', async () => {
    for (let round = 0; round < 5; round++) {
      const {
        org,
        people: [a, b],
      } = await orgWithOwners(2);
      const answers = await Promise.all([
        h.call('PUT', `/orgs/${org}/members/${b!.name}`, a!.token, { role: 'admin' }),
        h.call('PUT', `/orgs/${org}/members/${a!.name}`, b!.token, { role: 'admin' }),
      ]);
      // The second to run finds itself demoted (403) or the other the last owner (409).
      assert.equal(answers.filter((r) => r.statusCode === 200).length, 1, answers.map((r) => r.body).join(' '));
      assert.equal(await ownerCount(org), 1);
    }
  });

  test('owners removing each other, or leaving, at the same moment leave one owner', async () => {
    for (let round = 0; round < 5; round++) {
      const {
        org,
        people: [a, b, c],
      } = await orgWithOwners(3);
      const answers = await Promise.all([
        h.call('DELETE', `/orgs/${org}/members/${b!.name}`, a!.token),
        h.call('DELETE', `/orgs/${org}/members/${a!.name}`, b!.token),
        h.call('DELETE', `/orgs/${org}/members/${c!.name}`, c!.token),
      ]);
      assert.ok(answers.filter((r) => r.statusCode === 204).length <= 2, answers.map((r) => r.body).join(' '));
      assert.equal(await ownerCount(org), 1);
    }
  });

  test('a member is removed with DELETE; an outsider and a plain member learn nothing about who exists', async () => {
    const {
      org,
      people: [owner],
    } = await orgWithOwners(1);
    const [reader, stranger, other] = [await h.user('rea'), await h.user('str'), await h.user('oth')];
    assert.equal(
      (await h.call('PUT', `/orgs/${org}/members/${reader.name}`, owner!.token, { role: 'reader' })).statusCode,
      200,
    );
    for (const token of [stranger.token, reader.token]) {
      for (const method of ['PUT', 'DELETE']) {
        const [known, unknown] = await Promise.all(
          [other.name, 'nosuchperson'].map((name) =>
            h.call(method, `/orgs/${org}/members/${name}`, token, method === 'PUT' ? { role: 'writer' } : undefined),
          ),
        );
        assert.equal(known!.body, unknown!.body, `${method}`);
        assert.equal(known!.statusCode, unknown!.statusCode);
      }
    }
    const missingOrg = await h.call('PUT', `/orgs/nosuchorg/members/${other.name}`, stranger.token, { role: 'writer' });
    const foreignOrg = await h.call('PUT', `/orgs/${org}/members/${other.name}`, stranger.token, { role: 'writer' });
    assert.equal(missingOrg.statusCode, 404);
    assert.equal(foreignOrg.statusCode, 404);
    assert.equal((await h.call('DELETE', `/orgs/${org}/members/${reader.name}`, reader.token)).statusCode, 204);
    assert.equal((await h.call('GET', `/orgs/${org}/members`, reader.token)).statusCode, 404);
    assert.equal((await h.call('DELETE', `/orgs/${org}/members/${owner!.name}`, owner!.token)).statusCode, 409);
  });
});
