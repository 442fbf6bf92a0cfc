import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import type { SnapshotKey, SnapshotReceipt, SnapshotView } from '@dreamlake/protocol';

/** The DER header of a PKCS #8 Ed25519 private key, before its 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface SnapshotSigner {
  /** The receipt of a snapshot whose manifestHash is known. */
  receipt(snapshot: SnapshotView & { manifestHash: string }): SnapshotReceipt;
  /** Every configured key's public half, the signing key first. */
  keys: readonly SnapshotKey[];
}

interface SigningKey {
  privateKey: KeyObject;
  jwk: SnapshotKey;
}

/** The key of a base64url 32-byte Ed25519 seed (SNAPSHOT_SIGNING_KEYS), with its public JWK. */
function signingKey(seed: string): SigningKey {
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(seed, 'base64url')]);
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  const x = createPublicKey(privateKey).export({ format: 'jwk' }).x as string;
  const kid = createHash('sha256').update(Buffer.from(x, 'base64url')).digest('hex').slice(0, 16);
  return { privateKey, jwk: { kid, kty: 'OKP', crv: 'Ed25519', x, alg: 'EdDSA', use: 'sig' } };
}

/**
 * The exact text a receipt signs: the snapshot's identity, manifestHash, counts, author and time,
 * as JSON in this key order (docs/protocol.md, "Versions").
 */
export function receiptText(snapshot: SnapshotView & { manifestHash: string }): string {
  return JSON.stringify({
    type: 'dreamlake.snapshot.v1',
    namespace: snapshot.namespace,
    space: snapshot.space,
    version: snapshot.version,
    parent: snapshot.parent,
    manifestHash: snapshot.manifestHash,
    files: snapshot.files,
    bytes: snapshot.bytes,
    author: snapshot.author,
    createdAt: snapshot.createdAt,
  });
}

/** Signs snapshot receipts with the first of `seeds`; publishes all of them (rotation). */
export function createSnapshotSigner(seeds: readonly string[]): SnapshotSigner {
  const keys = seeds.map(signingKey);
  const current = keys[0];
  if (!current) throw new Error('no snapshot signing key configured');
  return {
    keys: keys.map((k) => k.jwk),
    receipt(snapshot) {
      const signed = receiptText(snapshot);
      const signature = sign(null, Buffer.from(signed, 'utf8'), current.privateKey).toString('base64url');
      return { alg: 'Ed25519', keyId: current.jwk.kid, signed, signature };
    },
  };
}

const signers = new WeakMap<object, SnapshotSigner>();

/** The signer of a configuration's SNAPSHOT_SIGNING_KEYS, made once per configuration. */
export function snapshotSigner(config: { snapshotSigningKeys: readonly string[] }): SnapshotSigner {
  let signer = signers.get(config);
  if (!signer) {
    signer = createSnapshotSigner(config.snapshotSigningKeys);
    signers.set(config, signer);
  }
  return signer;
}
