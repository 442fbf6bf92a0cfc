import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { before, test } from 'node:test';
import type { SnapshotReceipt, SnapshotView } from '@dreamlake/protocol';
import type { FastifyInstance } from 'fastify';
import { forEachManifestPage } from '../src/db/version-files.ts';
import { buildServerApp } from '../src/index.ts';
import { forEachEngine } from './helpers/engines.ts';
import { SNAPSHOT_SIGNING_KEY, testConfig, useHarness } from './helpers/harness.ts';
import { allPages, blobs, commit, type Owner } from './helpers/versions.ts';

/**
 * What a third party does with nothing but the keys document and the listing: this file does
 * not use the server's own hashing or signing code to check them.
 */
interface Jwk {
  kid: string;
  kty: string;
  crv: string;
  x: string;
  alg: string;
  use: string;
}
interface Listed {
  name: string;
  hash: string;
  size: number;
  type: string;
  contentType: string;
}

/** manifestHash as docs/protocol.md defines it, from a version's listing in any order. */
function manifestHashOf(entries: Listed[]): string {
  const sorted = [...entries].sort((x, y) => Buffer.compare(Buffer.from(x.name, 'utf8'), Buffer.from(y.name, 'utf8')));
  const hash = createHash('sha256');
  for (const e of sorted) hash.update(`${JSON.stringify([e.name, e.hash, e.size, e.type, e.contentType])}\n`, 'utf8');
  return hash.digest('hex');
}

/** Whether `receipt` is a valid signature by one of `keys` (looked up by keyId). */
function verifies(receipt: SnapshotReceipt, keys: Jwk[]): boolean {
  const jwk = keys.find((k) => k.kid === receipt.keyId);
  if (jwk?.kty !== 'OKP' || jwk.crv !== 'Ed25519' || receipt.alg !== 'Ed25519') return false;
  const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' });
  const kid = createHash('sha256').update(Buffer.from(jwk.x, 'base64url')).digest('hex').slice(0, 16);
  if (kid !== jwk.kid) return false;
  return verify(null, Buffer.from(receipt.signed, 'utf8'), key, Buffer.from(receipt.signature, 'base64url'));
}

/** Names whose UTF-8 byte order differs from JavaScript's UTF-16 order (U+FF5A sorts after U+1F600 in bytes). */
function nameOf(i: number): string {
  const marks = ['', 'é', 'ｚ', '😀', 'z', 'Z', ' ', '~'];
  return `d${i % 3}/${marks[i % marks.length]}${String(i).padStart(4, '0')}${marks[(i * 5) % marks.length]}.bin`;
}

const OTHER_KEY = Buffer.alloc(32, 9).toString('base64url');

forEachEngine((engine) => {
  const h = useHarness(engine);
  const space = 'signed';
  let owner: Owner;
  const snapshots: SnapshotView[] = [];
  const path = () => `/namespaces/${owner.name}/spaces/${space}`;

  before(async () => {
    owner = await h.user('signer');
    const a = blobs(h, owner, space, 'a', 320);
    snapshots.push(
      await commit(h, owner, space, {
        message: 'three hundred',
        puts: a.slice(0, 300).map((blob, i) => ({ name: nameOf(i), hash: blob.hash, type: 'files' })),
      }),
    );
    snapshots.push(
      await commit(h, owner, space, {
        puts: [
          ...a.slice(300).map((blob, i) => ({ name: nameOf(i * 7), hash: blob.hash, type: 'files' })),
          { name: nameOf(301), hash: a[0]!.hash, type: 'files', contentType: 'text/plain' },
        ],
        deletes: Array.from({ length: 30 }, (_, i) => nameOf(i * 7 + 3)),
      }),
    );
  });

  /** Verifies version `version` offline: keys, listing, receipt; answers the receipt. */
  const verifyOffline = async (app: FastifyInstance, version: number) => {
    const keys = await app.inject({ method: 'GET', url: '/.well-known/dreamlake-snapshot-keys.json' });
    assert.equal(keys.statusCode, 200, 'no token needed');
    assert.equal(keys.headers['access-control-allow-origin'], '*', 'a page of any origin may fetch them');
    const jwks = keys.json().keys as Jwk[];
    const answer = await app.inject({
      method: 'GET',
      url: `${path()}/snapshots/${version}`,
      headers: { authorization: `Bearer ${owner.token}` },
    });
    assert.equal(answer.statusCode, 200, answer.body);
    const { snapshot, receipt } = answer.json() as { snapshot: SnapshotView; receipt: SnapshotReceipt };
    const listing = (
      await allPages<Listed>(h, owner.token, `${path()}/files`, { version: String(version), limit: '53' }, 'files')
    ).flat();
    assert.equal(listing.length, snapshot.files);
    assert.equal(
      listing.reduce((sum, f) => sum + f.size, 0),
      snapshot.bytes,
    );
    const signed = JSON.parse(receipt.signed);
    assert.deepEqual(Object.keys(signed), [
      'type',
      'namespace',
      'space',
      'version',
      'parent',
      'manifestHash',
      'files',
      'bytes',
      'author',
      'createdAt',
    ]);
    assert.deepEqual(signed, {
      type: 'dreamlake.snapshot.v1',
      namespace: owner.name,
      space,
      version,
      parent: snapshot.parent,
      manifestHash: manifestHashOf(listing),
      files: listing.length,
      bytes: snapshot.bytes,
      author: owner.name,
      createdAt: snapshot.createdAt,
    });
    assert.equal(snapshot.manifestHash, signed.manifestHash);
    assert.ok(verifies(receipt, jwks), 'the signature verifies with the published key');
    return { receipt, jwks };
  };

  test('a receipt verifies offline from the keys document and a manifest recomputed from the listing', async () => {
    for (const version of [1, 2]) {
      const { receipt, jwks } = await verifyOffline(h.app, version);
      const forged = { ...receipt, signed: receipt.signed.replace(`"version":${version}`, `"version":${version + 1}`) };
      assert.notEqual(forged.signed, receipt.signed);
      assert.equal(verifies(forged, jwks), false, 'a changed text does not verify');
      const other = await h.app.inject({
        method: 'GET',
        url: `${path()}/snapshots/${3 - version}`,
        headers: { authorization: `Bearer ${owner.token}` },
      });
      assert.equal(verifies({ ...receipt, signature: other.json().receipt.signature }, jwks), false);
    }
    assert.deepEqual(
      snapshots.map((s) => [s.files, s.counts]),
      [
        [300, { added: 300, changed: 0, removed: 0 }],
        [271, { added: 1, changed: 20, removed: 30 }],
      ],
    );
  });

  test('after a key rotation, receipts signed before still verify; new ones are signed by the new key', async () => {
    const before = await verifyOffline(h.app, 1);
    const rotated = await buildServerApp({
      config: testConfig({ databaseUrl: h.config.databaseUrl, snapshotSigningKeys: [OTHER_KEY, SNAPSHOT_SIGNING_KEY] }),
      db: h.db,
      clock: () => h.clock.now,
    });
    try {
      const after = await verifyOffline(rotated, 1);
      assert.notEqual(after.receipt.keyId, before.receipt.keyId, 'the new key signs');
      assert.equal(after.receipt.signed, before.receipt.signed, 'the same snapshot, the same text');
      assert.deepEqual(
        after.jwks.map((k) => k.kid),
        [after.receipt.keyId, before.receipt.keyId],
      );
      assert.ok(verifies(before.receipt, after.jwks), 'the old receipt verifies against the rotated document');
      const retired = after.jwks.filter((k) => k.kid !== before.receipt.keyId);
      assert.equal(verifies(before.receipt, retired), false, 'once its key is no longer listed, it no longer does');
    } finally {
      await rotated.close();
    }
  });

  test('the manifest is read in pages in the byte order of the names, never all at once', async () => {
    const spaceRow = await h.db.selectFrom('spaces').select('id').where('name', '=', space).executeTakeFirstOrThrow();
    const pages: string[][] = [];
    await forEachManifestPage(h.db, spaceRow.id, 2, 40, (entries) => pages.push(entries.map((e) => e.name)));
    assert.ok(pages.every((p) => p.length <= 40));
    const names = pages.flat();
    assert.equal(names.length, snapshots[1]!.files);
    const bytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual(names, bytes);
    assert.notDeepEqual(bytes, [...names].sort(), 'the names tell byte order from UTF-16 order');
  });
});
