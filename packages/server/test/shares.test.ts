import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { verify } from '@dreamlake/presign';
import { collectBlobs } from '../src/gc/blob-gc.ts';
import { dropOldSnapshots } from '../src/gc/retention.ts';
import { buildServerApp, openDatabase } from '../src/index.ts';
import { createTestDatabase, forEachEngine } from './helpers/engines.ts';
import { PRESIGN_SECRET, sha256, testConfig, useHarness } from './helpers/harness.ts';
import { allPages, blobs, commitTracked, type Expected, type Manifests, type Owner } from './helpers/versions.ts';

interface Listed {
  name: string;
  hash: string;
  size: number;
}

const pad = (i: number) => String(i).padStart(4, '0');
/** 300 names: 250 frames, 50 under meta/. */
const NAMES = Array.from({ length: 300 }, (_, i) => (i < 250 ? `frames/f${pad(i)}.bin` : `meta/m${pad(i)}.json`));
const SHARE_MAX = 30 * 24 * 3600;

forEachEngine((engine) => {
  const h = useHarness(engine, () => ({ shareMaxSeconds: SHARE_MAX }));
  const space = 'data';
  let owner: Owner;
  const manifests: Manifests = [new Map()];

  const share = (token: string, body: Record<string, unknown>) => h.call('POST', '/shares', token, body);
  const made = async (body: Record<string, unknown>) => {
    const res = await share(owner.token, { namespace: owner.name, space, ...body });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as { id: string; secret: string; path: string; expiresAt: string };
  };
  const listing = async (path: string, params: Record<string, string> = {}) =>
    (await allPages<Listed>(h, '', `${path}/files`, params, 'files'))
      .flat()
      .map(({ name, hash, size }) => ({ name, hash, size }));
  const expected = (m: Map<string, Expected>, prefix = '') =>
    [...m]
      .filter(([name]) => name.startsWith(prefix))
      .sort(([x], [y]) => (x < y ? -1 : 1))
      .map(([name, e]) => ({ name, hash: e.hash, size: e.size }));
  /** Grants for `names` through a link, 1,000 at a time. */
  const grants = async (path: string, names: readonly string[], extra: Record<string, unknown> = {}) => {
    const out: Array<Record<string, unknown>> = [];
    for (let i = 0; i < names.length; i += 1000) {
      const files = names.slice(i, i + 1000).map((name) => ({ name }));
      const res = await h.call('POST', `${path}/downloads`, undefined, { files, ...extra });
      assert.equal(res.statusCode, 200, res.body);
      out.push(...res.json().files);
    }
    return out;
  };
  const mine = async (token = owner.token) => {
    const res = await h.call('GET', `/shares?namespace=${owner.name}`, token);
    assert.equal(res.statusCode, 200, res.body);
    return res.json().shares as Array<{ id: string; uses: number; downloads: number; lastUsedAt: string | null }>;
  };

  before(async () => {
    owner = await h.user('sharer');
    const a = blobs(h, owner, space, 'a', 300);
    await commitTracked(h, owner, space, manifests, { puts: NAMES.map((name, i) => ({ name, blob: a[i]! })) });
  });

  test('a writer makes, lists and revokes links; only the SHA-256 of the secret is kept; a token needs the share scope', async () => {
    const link = await made({ version: 1, prefix: 'frames/', expiresInSeconds: 3600 });
    assert.match(link.secret, /^dls_[A-Za-z0-9_-]{43}$/);
    assert.equal(link.path, `/s/${link.secret}`);
    assert.equal(link.expiresAt, new Date(h.clock.now + 3600_000).toISOString());
    const stored = await h.db.selectFrom('shares').selectAll().where('id', '=', link.id).executeTakeFirstOrThrow();
    assert.equal(stored.secret_hash, sha256(link.secret));
    assert.ok(!JSON.stringify(stored).includes(link.secret.slice(4)), 'the secret itself is nowhere in the row');

    const dflt = await made({});
    assert.equal(dflt.expiresAt, new Date(h.clock.now + 7 * 24 * 3600_000).toISOString(), 'a week unless asked');
    const tooLong = await share(owner.token, { namespace: owner.name, space, expiresInSeconds: SHARE_MAX + 1 });
    assert.equal(tooLong.statusCode, 400);
    assert.equal(tooLong.json().error.maxSeconds, SHARE_MAX);

    const listed = await mine();
    assert.ok(listed.some((s) => s.id === link.id && s.uses === 0 && s.lastUsedAt === null));

    const token = async (scopes: string[]) =>
      (await h.call('POST', '/auth/tokens', owner.token, { name: scopes.join('+'), scopes })).json().token as string;
    const noShare = await token(['read', 'write', 'admin']);
    const refused = await share(noShare, { namespace: owner.name, space });
    assert.equal(refused.statusCode, 403, refused.body);
    assert.match(refused.json().error.message, /"share" scope/);
    assert.equal((await h.call('DELETE', `/shares/${link.id}`, noShare)).statusCode, 403);
    const shareOnly = await token(['share']);
    assert.equal((await share(shareOnly, { namespace: owner.name, space })).statusCode, 201);

    assert.equal((await h.call('DELETE', `/shares/${link.id}`, shareOnly)).statusCode, 204);
    assert.equal((await h.call('DELETE', `/shares/${link.id}`, shareOnly)).statusCode, 404, 'revoked already');
    assert.ok(!(await mine()).some((s) => s.id === link.id), 'a revoked link is no longer listed');
  });

  test('a space one cannot read is 404 whether it exists or not; a reader may not share; an outsider may not list or revoke', async () => {
    const stranger = await h.user('stranger');
    const existing = await share(stranger.token, { namespace: owner.name, space });
    const missing = await share(stranger.token, { namespace: owner.name, space: 'nothing-here' });
    assert.equal(existing.statusCode, 404);
    assert.equal(missing.statusCode, 404);
    assert.equal(existing.json().error.message, missing.json().error.message);

    const org = `lab${stranger.name}`;
    assert.equal((await h.call('POST', '/orgs', owner.token, { name: org })).statusCode, 201);
    const put = await h.call('PUT', `/orgs/${org}/members/${stranger.name}`, owner.token, { role: 'reader' });
    assert.equal(put.statusCode, 200, put.body);
    const reader = await share(stranger.token, { namespace: org, space: 'anything' });
    assert.ok([403, 404].includes(reader.statusCode), reader.body);

    const link = await made({});
    assert.equal((await h.call('DELETE', `/shares/${link.id}`, stranger.token)).statusCode, 404);
    assert.ok(!(await mine(stranger.token)).some((s) => s.id === link.id));
    const badVersion = await share(owner.token, { namespace: owner.name, space, version: 99 });
    assert.equal(badVersion.statusCode, 404);
  });

  test('a pinned link keeps serving its version after head moves; an unpinned one serves head at each use', async () => {
    const pinned = await made({ version: 1 });
    const head = await made({});
    const frames = await made({ version: 1, prefix: 'frames/' });

    // Version 2: 100 names changed, 40 removed, 60 added.
    const b = blobs(h, owner, space, 'b', 100);
    await commitTracked(h, owner, space, manifests, {
      puts: [
        ...NAMES.slice(0, 100).map((name, i) => ({ name, blob: b[i]! })),
        ...Array.from({ length: 60 }, (_, i) => ({ name: `frames/new${pad(i)}.bin`, blob: b[i % 100]! })),
      ],
      deletes: NAMES.slice(200, 240),
    });

    assert.deepEqual(await listing(pinned.path), expected(manifests[1]!));
    assert.deepEqual(await listing(pinned.path, { limit: '7' }), expected(manifests[1]!), 'page by page too');
    assert.deepEqual(await listing(head.path), expected(manifests[2]!));
    assert.deepEqual(await listing(frames.path), expected(manifests[1]!, 'frames/'));

    const granted = await grants(pinned.path, NAMES);
    assert.equal(granted.length, 300);
    for (const [i, g] of granted.entries()) {
      const want = manifests[1]!.get(NAMES[i]!)!;
      assert.equal(g.hash, want.hash, NAMES[i]);
      assert.match(String(g.url), new RegExp(`hash=${want.hash}`));
    }
    const headGrants = await grants(head.path, NAMES.slice(0, 100));
    assert.deepEqual(
      headGrants.map((g) => g.hash),
      NAMES.slice(0, 100).map((n) => manifests[2]!.get(n)!.hash),
    );

    const info = async (path: string) => (await h.call('GET', `${path}/info`)).json();
    const snapshot = async (v: number) =>
      (await h.call('GET', `/namespaces/${owner.name}/spaces/${space}/snapshots/${v}`, owner.token)).json().snapshot;
    const pinnedInfo = await info(pinned.path);
    assert.deepEqual(
      { ...pinnedInfo, expiresAt: undefined },
      {
        namespace: owner.name,
        space,
        version: 1,
        pinned: true,
        prefix: '',
        manifestHash: (await snapshot(1)).manifestHash,
        expiresAt: undefined,
      },
    );
    assert.equal((await info(head.path)).version, 2);
    assert.equal((await info(head.path)).manifestHash, (await snapshot(2)).manifestHash);

    // Version 3: head moves again; the unpinned link follows, the pinned one stays.
    const c = blobs(h, owner, space, 'c', 10);
    await commitTracked(h, owner, space, manifests, {
      puts: NAMES.slice(100, 110).map((name, i) => ({ name, blob: c[i]! })),
    });
    assert.equal((await info(head.path)).version, 3);
    assert.deepEqual(await listing(head.path), expected(manifests[3]!));
    assert.deepEqual(await listing(pinned.path), expected(manifests[1]!));
  });

  test('anything outside what a link names is 404: another version, prefix or name', async () => {
    const frames = await made({ version: 1, prefix: 'frames/' });
    const other = await h.call('GET', `${frames.path}/files?version=2`);
    assert.equal(other.statusCode, 404);
    assert.equal((await h.call('GET', `${frames.path}/files?version=1`)).statusCode, 200);
    assert.equal((await h.call('GET', `${frames.path}/files?prefix=meta/`)).statusCode, 404);
    assert.equal((await h.call('GET', `${frames.path}/files?prefix=frames/f00`)).statusCode, 200);
    const outside = await grants(frames.path, ['meta/m0250.json', 'frames/f0001.bin', 'nothing/at/all']);
    assert.equal((outside[0]!.error as { code: string }).code, 'not_found');
    assert.equal(outside[1]!.name, 'frames/f0001.bin');
    assert.equal((outside[2]!.error as { code: string }).code, 'not_found');
    const wrongVersion = await h.call('POST', `${frames.path}/downloads`, undefined, {
      version: 2,
      files: [{ name: 'frames/f0001.bin' }],
    });
    assert.equal(wrongVersion.statusCode, 404);
    assert.equal((await h.call('GET', `${frames.path}/download?name=meta/m0250.json`)).statusCode, 404);
  });

  test('a link names a folder: a prefix not ending in `/` is refused, and an older one serves only its folder', async () => {
    for (const prefix of ['frames', 'frames/f00', 'frames//', '../frames/', 'frames/./', '/']) {
      const res = await share(owner.token, { namespace: owner.name, space, prefix });
      assert.equal(res.statusCode, 400, `${prefix}: ${res.body}`);
      assert.equal(res.json().error.code, 'invalid_request');
      assert.match(res.json().error.message, /must be a folder/, prefix);
    }
    assert.equal((await share(owner.token, { namespace: owner.name, space, prefix: 'frames/' })).statusCode, 201);
    // A link made before the rule, by the name's first letter: `f` is the folder `f/`, not `frames/…`.
    const old = await made({ version: 1, prefix: 'meta/' });
    await h.db.updateTable('shares').set({ prefix: 'f' }).where('id', '=', old.id).execute();
    assert.deepEqual(await listing(old.path), []);
    assert.equal((await h.call('GET', `${old.path}/files?prefix=frames/`)).statusCode, 404);
    const granted = await grants(old.path, NAMES.slice(0, 250));
    assert.ok(granted.every((g) => (g.error as { code: string } | undefined)?.code === 'not_found'));
    assert.equal((await h.call('GET', `${old.path}/info`)).json().prefix, 'f/');
  });

  test('a forged or truncated link is 404, saying nothing of the space', async () => {
    const link = await made({});
    const forged = `dls_${'A'.repeat(43)}`;
    const answers = await Promise.all(
      [forged, link.secret.slice(0, -1), `${link.secret}x`, 'nonsense', link.secret.toLowerCase()].map((s) =>
        h.call('GET', `/s/${encodeURIComponent(s)}/info`),
      ),
    );
    for (const res of answers) {
      assert.equal(res.statusCode, 404, res.body);
      assert.equal(res.json().error.message, 'no such share link');
      assert.ok(!res.body.includes(owner.name) && !res.body.includes(space));
    }
    const page = await h.call('GET', `/s/${forged}`);
    assert.equal(page.statusCode, 404);
    assert.match(String(page.headers['content-type']), /text\/html/);
  });

  test('revoked and expired links stop new downloads at once (410); a URL minted before works until its own expiry', async () => {
    const link = await made({ expiresInSeconds: 2 * 3600 });
    const [minted] = await grants(link.path, ['frames/f0150.bin']);
    const url = new URL(String(minted!.url));
    const query = Object.fromEntries(url.searchParams);
    const check = (nowMs: number) =>
      verify({
        action: 'download',
        signed: ['owner', 'project', 'hash'],
        query,
        secrets: [PRESIGN_SECRET],
        now: Math.floor(nowMs / 1000),
      });

    const revoked = await h.call('DELETE', `/shares/${link.id}`, owner.token);
    assert.equal(revoked.statusCode, 204);
    for (const res of [
      await h.call('GET', `${link.path}/info`),
      await h.call('GET', `${link.path}/files`),
      await h.call('POST', `${link.path}/downloads`, undefined, { files: [{ name: 'frames/f0150.bin' }] }),
      await h.call('GET', `${link.path}/download?name=frames/f0150.bin`),
    ]) {
      assert.equal(res.statusCode, 410, res.body);
      assert.equal(res.json().error.code, 'gone');
    }
    const page = await h.call('GET', link.path);
    assert.equal(page.statusCode, 410);
    assert.match(page.body, /no longer works/);

    // The URL minted before the revocation still verifies, until PRESIGN_TTL_SECONDS after it was minted.
    assert.equal(check(h.clock.now).params.hash, minted!.hash);
    assert.equal(Number(query.exp), Math.floor(h.clock.now / 1000) + h.config.presignTtlSeconds);
    assert.throws(() => check(h.clock.now + h.config.presignTtlSeconds * 1000 + 1000), /expired/);

    // A link that expires: 410 from then on; a URL minted near its end never outlives it.
    const short = await made({ expiresInSeconds: 60 });
    const [late] = await grants(short.path, ['frames/f0151.bin']);
    assert.equal(String(late!.expiresAt), short.expiresAt);
    h.clock.now += 61_000;
    const expired = await h.call('GET', `${short.path}/files`);
    assert.equal(expired.statusCode, 410);
    assert.match(expired.json().error.message, /expired/);
  });

  test('every use is logged with the file and the client, and counted; share ls shows the counts and last use', async () => {
    const link = await made({ version: 1, prefix: 'meta/' });
    const names = NAMES.filter((n) => n.startsWith('meta/'));
    await h.call('GET', `${link.path}/info`, undefined, undefined, '2001:db8:1:2::5');
    const res = await h.app.inject({
      method: 'POST',
      url: `${link.path}/downloads`,
      payload: { files: names.map((name) => ({ name })) },
      remoteAddress: '198.51.100.7',
    });
    assert.equal(res.statusCode, 200);
    h.clock.now += 5_000;
    const redirect = await h.call(
      'GET',
      `${link.path}/download?name=${encodeURIComponent(names[0]!)}`,
      undefined,
      undefined,
      '198.51.100.8',
    );
    assert.equal(redirect.statusCode, 302);
    assert.match(
      String(redirect.headers.location),
      new RegExp(`^http://bss.example.test:10234/blobs/download\\?.*hash=${manifests[1]!.get(names[0]!)!.hash}`),
    );

    const listed = (await mine()).find((s) => s.id === link.id)!;
    assert.equal(listed.uses, 3);
    assert.equal(listed.downloads, names.length + 1);
    assert.equal(listed.lastUsedAt, new Date(h.clock.now).toISOString());
    const log = await h.db.selectFrom('share_uses').selectAll().where('share_id', '=', link.id).execute();
    assert.equal(log.length, 1 + names.length + 1);
    assert.deepEqual(
      log.filter((r) => r.file === null).map((r) => r.client),
      ['2001:db8:1:2::/64'],
    );
    assert.deepEqual(new Set(log.filter((r) => r.client === '198.51.100.7').map((r) => r.file)), new Set(names));
    assert.deepEqual(
      log.filter((r) => r.client === '198.51.100.8').map((r) => r.file),
      [names[0]],
    );
  });

  test('a link used too often is 429 with Retry-After, then works again', async () => {
    const link = await made({});
    let status = 200;
    let count = 0;
    let last: Awaited<ReturnType<typeof h.call>> | undefined;
    while (status === 200 && count < 2000) {
      last = await h.call('GET', `${link.path}/info`);
      status = last.statusCode;
      count += 1;
    }
    assert.equal(status, 429);
    assert.equal(count, 601);
    assert.ok(Number(last!.headers['retry-after']) >= 1);
    assert.equal((await mine()).find((s) => s.id === link.id)!.uses, 600, 'refused requests are not uses');
    h.clock.now += 60_000;
    assert.equal((await h.call('GET', `${link.path}/info`)).statusCode, 200);
  });

  test('the page lists the files with sizes and SHA-256, the version and manifestHash, under the web page’s CSP', async () => {
    const link = await made({ version: 1, prefix: 'meta/' });
    const res = await h.call('GET', link.path);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    const manifestHash = (await h.call('GET', `${link.path}/info`)).json().manifestHash;
    assert.ok(res.body.includes(manifestHash));
    for (const name of NAMES.filter((n) => n.startsWith('meta/'))) {
      const e = manifests[1]!.get(name)!;
      assert.ok(res.body.includes(name) && res.body.includes(e.hash) && res.body.includes(`${e.size} bytes`), name);
    }
    assert.ok(!res.body.includes('frames/'), 'only what the link names');
  });

  test('a link stops (410) once whoever made it can no longer read the namespace', async () => {
    const member = await h.user('member');
    const org = `org${member.name}`;
    assert.equal((await h.call('POST', '/orgs', owner.token, { name: org })).statusCode, 201);
    const role = await h.call('PUT', `/orgs/${org}/members/${member.name}`, owner.token, { role: 'writer' });
    assert.equal(role.statusCode, 200, role.body);
    const c = blobs(h, { name: org, token: owner.token }, 'shared', 'org', 3);
    const put = await h.call('POST', `/namespaces/${org}/spaces/shared/commits`, owner.token, {
      puts: c.map((blob, i) => ({ name: `f${i}`, hash: blob.hash, type: 'files' })),
    });
    assert.equal(put.statusCode, 201, put.body);
    const made = await share(member.token, { namespace: org, space: 'shared' });
    assert.equal(made.statusCode, 201, made.body);
    const path = made.json().path as string;
    assert.equal((await h.call('GET', `${path}/files`)).statusCode, 200);
    assert.equal((await h.call('DELETE', `/orgs/${org}/members/${member.name}`, owner.token)).statusCode, 204);
    const after = await h.call('GET', `${path}/files`);
    assert.equal(after.statusCode, 410, after.body);
    assert.equal(after.json().error.code, 'gone');
  });

  // Last: the retention drops every version but head of the suite's spaces.
  test('a link to a version the retention dropped is 410; a link to head still works', async () => {
    const pinned = await made({ version: 1 });
    const head = await made({});
    assert.equal((await h.call('GET', `${pinned.path}/info`)).statusCode, 200);
    h.clock.now += 2 * 24 * 3600_000;
    assert.ok((await dropOldSnapshots(h.db, 1, h.clock.now)) > 0);
    for (const url of [`${pinned.path}/info`, `${pinned.path}/files`, pinned.path]) {
      const res = await h.call('GET', url);
      assert.equal(res.statusCode, 410, res.body);
      assert.match(res.body, /dropped by the retention/);
    }
    const still = await h.call('GET', `${head.path}/files`);
    assert.equal(still.statusCode, 200);
    assert.deepEqual(
      (still.json().files as Listed[]).map((f) => f.name),
      [...manifests.at(-1)!.keys()].sort().slice(0, 1000),
    );
  });

  test('the collection forgets use rows older than SHARE_USE_LOG_DAYS; the links keep their counts and last use', async () => {
    const DAY = 24 * 3600_000;
    const names = [...manifests.at(-1)!.keys()].sort().slice(0, 300);
    const rows = async (id: string) =>
      Number(
        (
          await h.db
            .selectFrom('share_uses')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('share_id', '=', id)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const relogin = async () => {
      const res = await h.call('POST', '/auth/login', undefined, {
        username: owner.name,
        password: 'correct horse battery',
      });
      assert.equal(res.statusCode, 200, res.body);
      owner.token = res.json().token;
    };
    const collect = (config = h.config) =>
      collectBlobs({ db: h.db, bss: { deleteBlob: async () => 'absent' as const }, config, clock: () => h.clock.now });

    await relogin();
    const early = await made({});
    await grants(early.path, names);
    const earlyUsedAt = new Date(h.clock.now).toISOString();
    h.clock.now += 60 * DAY;
    await relogin();
    const later = await made({});
    await grants(later.path, names.slice(0, 10));
    assert.equal(await rows(early.id), 300);

    h.clock.now += 31 * DAY; // early's uses are 91 days old, later's 31
    await relogin();
    await collect();
    assert.equal(await rows(early.id), 0, 'past the default 90 days');
    assert.equal(await rows(later.id), 10);
    const kept = (await mine()).find((s) => s.id === early.id);
    assert.deepEqual(
      { uses: kept?.uses, downloads: kept?.downloads, lastUsedAt: kept?.lastUsedAt },
      { uses: 1, downloads: 300, lastUsedAt: earlyUsedAt },
    );

    await collect({ ...h.config, shareUseLogDays: 30 });
    assert.equal(await rows(later.id), 0, 'SHARE_USE_LOG_DAYS=30');
    assert.equal((await mine()).find((s) => s.id === later.id)?.downloads, 10);
  });
});

test('request logs carry no share link secret', async () => {
  const database = await createTestDatabase('sqlite');
  const db = await openDatabase({ databaseUrl: database.url });
  const lines: string[] = [];
  const config = testConfig({ databaseUrl: database.url, logLevel: 'trace' });
  const app = await buildServerApp({ config, db, logStream: { write: (line) => void lines.push(line) } });
  try {
    const signup = await app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { username: 'logged', password: 'correct horse battery' },
    });
    const auth = { authorization: `Bearer ${signup.json().token}` };
    await app.inject({ method: 'POST', url: '/namespaces/logged/spaces', headers: auth, payload: { name: 's' } });
    const made = await app.inject({
      method: 'POST',
      url: '/shares',
      headers: auth,
      payload: { namespace: 'logged', space: 's' },
    });
    assert.equal(made.statusCode, 201, made.body);
    const { secret } = made.json() as { secret: string };
    for (const url of [`/s/${secret}`, `/s/${secret}/info`, `/s/${secret}/files?cursor=x`, `/s/${secret.slice(0, -2)}`])
      await app.inject({ method: 'GET', url });
    // The same secret percent-encoded opens the link too: it is redacted whatever its spelling.
    const body = secret.slice(4);
    for (const url of [`/s/dls%5F${body}/info`, `/s/%64ls_${body}`, `/%73/dls%5f${body}/files`]) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    }
    for (const url of [`/s/${secret}%2Finfo`, `/s/${body}`, `/s/${secret};x/info`, `/files?next=dls%5F${body}`])
      await app.inject({ method: 'GET', url });
    const log = lines.join('');
    assert.ok(log.includes('/s/[REDACTED]/info'), 'the requests were logged');
    assert.ok(log.includes('/%73/[REDACTED]/files'), 'the encoded ones too');
    for (const part of [body.slice(0, 26), body.slice(-26)])
      assert.ok(!log.includes(part), 'no part of the secret is in the log, in any encoding');
  } finally {
    await app.close();
    await db.destroy();
    await database.drop();
  }
});
