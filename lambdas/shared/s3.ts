import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/** True for an endpoint on this machine (the local S3-compatible server). */
export function isLocalEndpoint(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  const host = new URL(endpoint).hostname;
  return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
}

/**
 * An S3 client. Region, credentials and endpoint come from the SDK's own variables
 * (AWS_REGION, AWS_ENDPOINT_URL_S3, …) and the SDK's own retry applies. Against AWS it keeps the
 * SDK's default checksums (Object Lock buckets require them); against a local endpoint it uses
 * path-style addressing and checksums only when required, because s3rver stores streamed
 * aws-chunked bodies with their framing inside the object.
 *
 * @example
 * const s3 = createS3Client(); // honours AWS_ENDPOINT_URL_S3
 */
export function createS3Client(env: NodeJS.ProcessEnv = process.env, overrides: S3ClientConfig = {}): S3Client {
  const local = isLocalEndpoint(env.AWS_ENDPOINT_URL_S3);
  return new S3Client({
    ...(local
      ? {
          endpoint: env.AWS_ENDPOINT_URL_S3,
          forcePathStyle: true,
          region: env.AWS_REGION ?? 'us-east-1',
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'S3RVER',
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'S3RVER',
          },
        }
      : {}),
    ...overrides,
  });
}
