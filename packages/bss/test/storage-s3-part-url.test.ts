import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createS3Client } from '../src/storage/s3/client.ts';
import type { S3StorageConfig } from '../src/storage/s3/config.ts';
import { createPartUrlSigner } from '../src/storage/s3/part-url-signer.ts';

// No server needed: presigning is local. The fast signer must produce exactly the SDK's URLs.
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const configs: [string, S3StorageConfig][] = [
  [
    'Ceph-style path endpoint',
    { endpoint: 'http://127.0.0.1:7480', region: 'us-east-1', bucket: 'dl-test', forcePathStyle: true, ...credentials },
  ],
  ['AWS virtual-hosted', { region: 'eu-west-1', bucket: 'dreamlake-blobs', forcePathStyle: false, ...credentials }],
  ['AWS path style', { region: 'ap-southeast-2', bucket: 'dreamlake-blobs', forcePathStyle: true, ...credentials }],
  [
    'HTTPS endpoint with a path prefix',
    { endpoint: 'https://s3.example.com/storage', region: 'auto', bucket: 'b1', forcePathStyle: true, ...credentials },
  ],
];

const canonical = (url: string) => {
  const u = new URL(url);
  return {
    where: `${u.origin}${u.pathname}`,
    query: [...u.searchParams.entries()].sort(([a], [b]) => a.localeCompare(b)),
  };
};

for (const [name, config] of configs) {
  test(`part URLs are the SDK's own presigned UploadPart URLs (${name})`, async () => {
    const client = createS3Client(config);
    try {
      const signer = await createPartUrlSigner(client, config.bucket);
      const signingDate = new Date('2026-11-28T12:00:00Z');
      const key = `uploads/acme/robots/${'ab'.repeat(32)}/0123456789abcdef01234567`;
      for (const contentMd5 of [undefined, 'XUFAKrxLKna5cZ2REBfFkg==']) {
        const ours = await signer.sign({
          key,
          uploadId: '2~Ab_cd-EF.gh',
          partNumber: 42,
          expiresInSeconds: 900,
          contentMd5,
          signingDate,
        });
        const sdk = await getSignedUrl(
          client,
          new UploadPartCommand({
            Bucket: config.bucket,
            Key: key,
            UploadId: '2~Ab_cd-EF.gh',
            PartNumber: 42,
            ContentMD5: contentMd5,
          }),
          { expiresIn: 900, signingDate },
        );
        assert.deepEqual(canonical(ours), canonical(sdk));
        assert.equal(new URL(ours).searchParams.get('X-Amz-SignedHeaders'), contentMd5 ? 'content-md5;host' : 'host');
      }
    } finally {
      client.destroy();
    }
  });
}
