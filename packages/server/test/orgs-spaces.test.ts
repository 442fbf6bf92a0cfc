import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachEngine } from './helpers/engines.ts';
import { useHarness } from './helpers/harness.ts';

forEachEngine((engine) => {
  const h = useHarness(engine);
  let orgCount = 0;
  const newOrg = async (token: string) => {
    const name = `lab${++orgCount}`;
    const res = await h.call('POST', '/orgs', token, { name });
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(res.json(), { name });
    return name;
  };

  test('an organisation is created with its creator as owner, and its name must be free and valid', async () => {
    const alice = await h.user('alice');
    const org = await newOrg(alice.token);
    const me = (await h.call('GET', '/auth/me', alice.token)).json();
    assert.deepEqual(me.namespaces, [
      { name: alice.name, kind: 'user', role: 'owner' },
      { name: org, kind: 'org', role: 'owner' },
    ]);
    assert.equal((await h.call('POST', '/orgs', alice.token, { name: org })).statusCode, 409);
    assert.equal((await h.call('POST', '/orgs', alice.token, { name: alice.name })).statusCode, 409);
    const signupClash = await h.call('POST', '/auth/signup', undefined, {
      username: org,
      password: 'long enough password',
    });
    assert.equal(signupClash.statusCode, 409);
    for (const name of ['Lab', '.lab', 'a b', 'x'.repeat(64)]) {
      assert.equal((await h.call('POST', '/orgs', alice.token, { name })).statusCode, 400, name);
    }
    assert.equal((await h.call('POST', '/orgs', undefined, { name: 'anon-org' })).statusCode, 401);
  });

  test('members: owners and admins manage roles within their rank; others are refused', async () => {
    const [owner, admin, writer, outsider] = [
      await h.user('own'),
      await h.user('adm'),
      await h.user('wri'),
      await h.user('out'),
    ];
    const org = await newOrg(owner.token);
    const put = (token: string, username: string, role: string) =>
      h.call('PUT', `/orgs/${org}/members/${username}`, token, { role });

    const made = await put(owner.token, admin.name, 'admin');
    assert.equal(made.statusCode, 200);
    assert.deepEqual(made.json(), { username: admin.name, role: 'admin' });
    assert.equal((await put(admin.token, writer.name, 'writer')).statusCode, 200);
    assert.equal((await put(admin.token, writer.name, 'owner')).statusCode, 403);
    assert.equal((await put(admin.token, owner.name, 'reader')).statusCode, 403);
    assert.equal((await put(writer.token, outsider.name, 'reader')).statusCode, 403);
    assert.equal((await put(outsider.token, outsider.name, 'owner')).statusCode, 404);
    assert.equal((await put(owner.token, 'nosuchuser', 'reader')).statusCode, 404);
    assert.equal((await put(owner.token, writer.name, 'superuser')).statusCode, 400);
    const lastOwner = await put(owner.token, owner.name, 'admin');
    assert.equal(lastOwner.statusCode, 409);

    const members = (await h.call('GET', `/orgs/${org}/members`, writer.token)).json().members;
    assert.deepEqual(
      members.map((m: { username: string; role: string }) => `${m.username}:${m.role}`).sort(),
      [`${admin.name}:admin`, `${owner.name}:owner`, `${writer.name}:writer`].sort(),
    );
    assert.equal((await h.call('GET', `/orgs/${org}/members`, outsider.token)).statusCode, 404);
    assert.equal(
      (await h.call('PUT', `/orgs/${owner.name}/members/${writer.name}`, owner.token, { role: 'reader' })).statusCode,
      404,
    );
  });

  test('spaces: writers create, readers list, outsiders see nothing', async () => {
    const [owner, writer, reader, outsider] = [
      await h.user('own'),
      await h.user('wri'),
      await h.user('rea'),
      await h.user('out'),
    ];
    const org = await newOrg(owner.token);
    await h.call('PUT', `/orgs/${org}/members/${writer.name}`, owner.token, { role: 'writer' });
    await h.call('PUT', `/orgs/${org}/members/${reader.name}`, owner.token, { role: 'reader' });

    const created = await h.call('POST', `/namespaces/${org}/spaces`, writer.token, { name: 'robotics' });
    assert.equal(created.statusCode, 201);
    assert.equal(created.json().namespace, org);
    assert.equal(created.json().name, 'robotics');
    assert.equal(created.json().createdAt, new Date(h.clock.now).toISOString());
    assert.equal(
      (await h.call('POST', `/namespaces/${org}/spaces`, writer.token, { name: 'robotics' })).statusCode,
      409,
    );
    assert.equal((await h.call('POST', `/namespaces/${org}/spaces`, reader.token, { name: 'mine' })).statusCode, 403);
    assert.equal((await h.call('POST', `/namespaces/${org}/spaces`, outsider.token, { name: 'mine' })).statusCode, 404);
    assert.equal(
      (await h.call('POST', `/namespaces/${org}/spaces`, writer.token, { name: 'Bad Name' })).statusCode,
      400,
    );
    assert.equal(
      (await h.call('POST', `/namespaces/${owner.name}/spaces`, writer.token, { name: 'sneaky' })).statusCode,
      404,
    );

    const listed = await h.call('GET', `/namespaces/${org}/spaces`, reader.token);
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(
      listed.json().spaces.map((s: { name: string }) => s.name),
      ['robotics'],
    );
    const hidden = await h.call('GET', `/namespaces/${org}/spaces`, outsider.token);
    assert.equal(hidden.statusCode, 404);
    const missing = await h.call('GET', '/namespaces/no-such-ns/spaces', outsider.token);
    assert.equal(missing.statusCode, 404);
    assert.equal(
      hidden.json().error.message.replace(org, 'X'),
      missing.json().error.message.replace('no-such-ns', 'X'),
    );

    assert.equal(
      (await h.call('POST', `/namespaces/${outsider.name}/spaces`, outsider.token, { name: 'personal' })).statusCode,
      201,
    );
  });
});
