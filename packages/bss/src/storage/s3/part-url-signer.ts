import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl, S3RequestPresigner } from '@aws-sdk/s3-request-presigner';

/** A key whose presigned URL reveals where this bucket's objects live (never written). */
const PROBE_KEY = 'uploads/endpoint-probe';

export interface PartUrlRequest {
  key: string;
  uploadId: string;
  partNumber: number;
  expiresInSeconds: number;
  /** Base64 MD5 the PUT must carry as Content-MD5; signed when present. */
  contentMd5?: string | undefined;
  /** For tests: sign as of this time instead of now. */
  signingDate?: Date;
}

export interface PartUrlSigner {
  sign(request: PartUrlRequest): Promise<string>;
}

function formatQuery(query: Record<string, string | string[] | null>): string {
  return Object.entries(query)
    .flatMap(([name, value]) => (Array.isArray(value) ? value : [value ?? '']).map((v) => `${encodeURIComponent(name)}=${encodeURIComponent(v)}`))
    .join('&');
}

/**
 * Signs UploadPart URLs the way the SDK's getSignedUrl does, without its per-call middleware
 * stack and endpoint-rule evaluation (about ten times faster: a parts request may ask for
 * 10,000 URLs). Where the bucket lives (scheme, host, path prefix, signing region) is learnt once
 * from one SDK-presigned URL, so every endpoint style the SDK supports keeps working.
 */
export async function createPartUrlSigner(client: S3Client, bucket: string): Promise<PartUrlSigner> {
  const probe = new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: PROBE_KEY }), { expiresIn: 60 }));
  if (!probe.pathname.endsWith(`/${PROBE_KEY}`)) throw new Error(`unexpected presigned URL shape: ${probe.origin}${probe.pathname}`);
  const basePath = probe.pathname.slice(0, -PROBE_KEY.length);
  const signingRegion = probe.searchParams.get('X-Amz-Credential')?.split('/')[2];
  if (!signingRegion) throw new Error('presigned URL carries no signing region');
  const port = probe.port ? Number(probe.port) : undefined;
  const presigner = new S3RequestPresigner({ ...client.config, region: async () => signingRegion });

  return {
    async sign(request) {
      const signed = await presigner.presign(
        {
          method: 'PUT',
          protocol: probe.protocol,
          hostname: probe.hostname,
          ...(port !== undefined ? { port } : {}),
          path: `${basePath}${request.key.split('/').map(encodeURIComponent).join('/')}`,
          query: { partNumber: String(request.partNumber), uploadId: request.uploadId, 'x-id': 'UploadPart' },
          headers: { host: probe.host, ...(request.contentMd5 ? { 'content-md5': request.contentMd5 } : {}) },
        },
        {
          expiresIn: request.expiresInSeconds,
          signingRegion,
          signingService: 's3',
          ...(request.signingDate ? { signingDate: request.signingDate } : {}),
        },
      );
      return `${probe.protocol}//${probe.host}${signed.path}?${formatQuery(signed.query as Record<string, string | string[] | null>)}`;
    },
  };
}
