import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';
import type { AwsRequest } from './iam/evaluate';
import { ACCOUNT, REGION } from './iam/template';

/** One AWS API call a job made, as IAM authorizes it, with the local names it used. */
export interface RecordedCall {
  /** The SDK operation, e.g. `UploadPartCommand` or `GetSecretValue`. */
  operation: string;
  /** The IAM action S3/Secrets Manager checks for it (`unmapped:<operation>` when not known here). */
  action: string;
  /** Local bucket (S3) or secret id (Secrets Manager). */
  bucket?: string;
  key?: string;
  secretId?: string;
  /** Context keys the request carries (s3:prefix for a listing). */
  context?: Record<string, string>;
}

/**
 * The IAM action of each S3 operation the jobs can send (from the S3 API reference's
 * "Permissions" sections): multipart parts are authorized as s3:PutObject, HEAD as
 * s3:GetObject, ListObjectsV2 as s3:ListBucket on the bucket.
 */
const S3_ACTIONS: Record<string, { action: string; on: 'object' | 'bucket' }> = {
  PutObjectCommand: { action: 's3:PutObject', on: 'object' },
  CreateMultipartUploadCommand: { action: 's3:PutObject', on: 'object' },
  UploadPartCommand: { action: 's3:PutObject', on: 'object' },
  CompleteMultipartUploadCommand: { action: 's3:PutObject', on: 'object' },
  AbortMultipartUploadCommand: { action: 's3:AbortMultipartUpload', on: 'object' },
  ListPartsCommand: { action: 's3:ListMultipartUploadParts', on: 'object' },
  GetObjectCommand: { action: 's3:GetObject', on: 'object' },
  HeadObjectCommand: { action: 's3:GetObject', on: 'object' },
  DeleteObjectCommand: { action: 's3:DeleteObject', on: 'object' },
  ListObjectsV2Command: { action: 's3:ListBucket', on: 'bucket' },
  ListObjectsCommand: { action: 's3:ListBucket', on: 'bucket' },
  HeadBucketCommand: { action: 's3:ListBucket', on: 'bucket' },
};

/**
 * Records every S3 call sent through `client` (SDK middleware at the initialize step, so calls
 * that fail are recorded too). Test-only: the jobs get the client through their deps.
 *
 * @example
 * const calls: RecordedCall[] = [];
 * recordS3Calls(deps.s3, calls);
 */
export function recordS3Calls(client: S3Client, calls: RecordedCall[]): void {
  client.middlewareStack.add((next, context) => async (args) => {
    const operation = String(context.commandName);
    const input = args.input as { Bucket?: string; Key?: string; Prefix?: string; VersionId?: string; Delete?: { Objects?: { Key?: string }[] } };
    if (operation === 'DeleteObjectsCommand') {
      for (const o of input.Delete?.Objects ?? []) calls.push({ operation, action: 's3:DeleteObject', bucket: input.Bucket, key: o.Key });
    } else {
      const known = S3_ACTIONS[operation];
      const action = !known ? `unmapped:${operation}`
        : operation === 'DeleteObjectCommand' && input.VersionId ? 's3:DeleteObjectVersion' : known.action;
      calls.push({
        operation, action, bucket: input.Bucket,
        ...(known?.on === 'bucket' ? { context: { 's3:prefix': input.Prefix ?? '' } } : { key: input.Key }),
      });
    }
    return next(args);
  }, { step: 'initialize', name: 'recordAwsCalls' });
}

/**
 * A stand-in Secrets Manager endpoint (the JSON protocol the SDK speaks) that records each call
 * and answers GetSecretValue with `value`. Point the SDK at it with AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
export async function startFakeSecretsManager(value: string, calls: RecordedCall[]): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target'] ?? '').replace(/^secretsmanager\./, '');
      const { SecretId } = JSON.parse(body || '{}') as { SecretId?: string };
      calls.push({ operation, action: `secretsmanager:${operation}`, secretId: SecretId });
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (operation !== 'GetSecretValue') {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'InvalidRequestException', message: `${operation} is not faked` }));
        return;
      }
      res.end(JSON.stringify({ ARN: SecretId, Name: SecretId, SecretString: value, VersionId: 'v1', VersionStages: ['AWSCURRENT'], CreatedDate: 1_700_000_000 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** How the local names map to the deployed stack's. */
export interface CallMapping {
  /** Local bucket name → the template's bucket name. */
  buckets: Record<string, string>;
  /** Template bucket name → its SSE-KMS key ARN (absent for SSE-S3). */
  bucketKeys: Record<string, string | undefined>;
  /** Local secret id → the template's secret ARN. */
  secrets: Record<string, string>;
}

/**
 * The requests IAM would see in the deployed stack for the recorded calls, made by `role`: the
 * local bucket and secret replaced by the template's, and for objects in an SSE-KMS bucket the KMS
 * calls S3 makes with the caller's permissions (GenerateDataKey to write; Decrypt to read and,
 * for multipart uploads, to assemble the parts).
 */
export function toTemplateRequests(calls: RecordedCall[], role: AwsRequest['principal'], mapping: CallMapping): AwsRequest[] {
  const requests: AwsRequest[] = [];
  for (const call of calls) {
    if (call.action.startsWith('unmapped:')) throw new Error(`recorded ${call.operation}, which has no IAM action mapped in test/support/aws-calls.ts`);
    if (call.secretId !== undefined) {
      const arn = mapping.secrets[call.secretId];
      if (!arn) throw new Error(`recorded a call on secret ${call.secretId}, which maps to no secret of the template`);
      requests.push({ principal: role, action: call.action, resource: arn });
      continue;
    }
    const bucket = mapping.buckets[call.bucket as string];
    if (!bucket) throw new Error(`recorded ${call.operation} on bucket ${call.bucket}, which maps to no bucket of the template`);
    const resource = call.key === undefined ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${call.key}`;
    requests.push({ principal: role, action: call.action, resource, context: call.context });
    const key = mapping.bucketKeys[bucket];
    if (!key || call.key === undefined) continue;
    const kms = (action: string): AwsRequest => ({
      principal: role, action, resource: key, context: { 'kms:ViaService': `s3.${REGION}.amazonaws.com`, 'kms:CallerAccount': ACCOUNT },
    });
    if (call.operation === 'PutObjectCommand' || call.operation === 'CreateMultipartUploadCommand') requests.push(kms('kms:GenerateDataKey'));
    if (['GetObjectCommand', 'CreateMultipartUploadCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand'].includes(call.operation)) {
      requests.push(kms('kms:Decrypt'));
    }
  }
  return requests;
}

/** `s3:PutObject arn:…` lines, deduplicated, for readable expectations. */
export function describeRequests(requests: AwsRequest[]): string[] {
  return [...new Set(requests.map((r) => `${r.action} ${r.resource}`))].sort();
}
