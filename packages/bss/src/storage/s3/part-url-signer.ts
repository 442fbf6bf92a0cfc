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
  /** The exact body length the PUT must declare; signed when present. */
  contentLength?: number | undefined;
  /** For tests: sign as of this time instead of now. */
  signingDate?: Date;
}

export interface ObjectPutRequest {
  key: string;
  /** The exact body length the PUT must declare (signed). */
  contentLength: number;
  /** The Content-Type the PUT must carry (signed). */
  contentType: string;
  expiresInSeconds: number;
  /** For tests: sign as of this time instead of now. */
  signingDate?: Date;
}

export interface PartUrlSigner {
  /** An UploadPart URL. */
  sign(request: PartUrlRequest): Promise<string>;
  /** A PutObject URL bound to one body length and content type (a single-shot upload's staging PUT). */
  signPutObject(request: ObjectPutRequest): Promise<string>;
}

function formatQuery(query: Record<string, string | string[] | null>): string {
  return Object.entries(query)
    .flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value ?? '']).map((v) => `${encodeURIComponent(name)}=${encodeURIComponent(v)}`),
    )
    .join('&');
}

/**
 * Signs UploadPart (and single-shot PutObject) URLs the way the SDK's getSignedUrl does, without its per-call middleware
 * stack and endpoint-rule evaluation, which dominate its cost when a parts request asks for up
 * to 10,000 URLs (docs/benchmarks.md, "Measurements behind choices in the code"). Where the bucket lives (scheme, host, path prefix, signing region) is learnt once
 * from one SDK-presigned URL, so every endpoint style the SDK supports keeps working.
 */
export async function createPartUrlSigner(client: S3Client, bucket: string): Promise<PartUrlSigner> {
  const probe = new URL(
    await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: PROBE_KEY }), { expiresIn: 60 }),
  );
  if (!probe.pathname.endsWith(`/${PROBE_KEY}`))
    throw new Error(`unexpected presigned URL shape: ${probe.origin}${probe.pathname}`);
  const basePath = probe.pathname.slice(0, -PROBE_KEY.length);
  const signingRegion = probe.searchParams.get('X-Amz-Credential')?.split('/')[2];
  if (!signingRegion) throw new Error('presigned URL carries no signing region');
  const port = probe.port ? Number(probe.port) : undefined;
  const presigner = new S3RequestPresigner({ ...client.config, region: async () => signingRegion });

  const presign = async (
    key: string,
    query: Record<string, string>,
    headers: Record<string, string>,
    options: { expiresInSeconds: number; signingDate?: Date | undefined },
  ): Promise<string> => {
    const signed = await presigner.presign(
      {
        method: 'PUT',
        protocol: probe.protocol,
        hostname: probe.hostname,
        ...(port !== undefined ? { port } : {}),
        path: `${basePath}${key.split('/').map(encodeURIComponent).join('/')}`,
        query,
        headers: { host: probe.host, ...headers },
      },
      {
        expiresIn: options.expiresInSeconds,
        signingRegion,
        signingService: 's3',
        // The presigner leaves Content-Type unsigned unless told; a PUT of another length or type
        // then fails the signature.
        signableHeaders: new Set(Object.keys(headers)),
        ...(options.signingDate ? { signingDate: options.signingDate } : {}),
      },
    );
    return `${probe.protocol}//${probe.host}${signed.path}?${formatQuery(signed.query as Record<string, string | string[] | null>)}`;
  };

  return {
    sign(request) {
      return presign(
        request.key,
        { partNumber: String(request.partNumber), uploadId: request.uploadId, 'x-id': 'UploadPart' },
        {
          ...(request.contentMd5 ? { 'content-md5': request.contentMd5 } : {}),
          ...(request.contentLength !== undefined ? { 'content-length': String(request.contentLength) } : {}),
        },
        request,
      );
    },
    signPutObject(request) {
      return presign(
        request.key,
        { 'x-id': 'PutObject' },
        { 'content-length': String(request.contentLength), 'content-type': request.contentType },
        request,
      );
    },
  };
}
