import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ArchiveBucket, ArchiveBucketProps, ArchiveEncryption } from '../../lib/archive-bucket';
import { nagFindings, testStack } from './helpers';

function setup(props: ArchiveBucketProps = {}) {
  const stack = testStack();
  const archive = new ArchiveBucket(stack, 'Archive', props);
  const role = new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  archive.grantReadWritePrefix(role, 'export-logs');
  return { stack, archive, template: Template.fromStack(stack) };
}

const archiveBucket = (template: Template) =>
  Object.values(template.findResources('AWS::S3::Bucket', { Properties: { VersioningConfiguration: Match.anyValue() } }));

describe('ArchiveBucket', () => {
  test('private, versioned, SSE-KMS with a rotating key, access-logged', () => {
    const { template } = setup();
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{
        BucketKeyEnabled: true,
        ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() },
      }] },
      LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^ArchiveAccessLogs') }, LogFilePrefix: 'archive/' },
    });
    expect(archiveBucket(template)).toHaveLength(1);
  });

  test('denies non-TLS requests', () => {
    setup().template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('^ArchiveBucket') },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('lifecycle: Glacier Instant Retrieval, noncurrent expiry, aborted multipart uploads; no expiry by default', () => {
    const [bucket] = archiveBucket(setup().template);
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual([{
      Id: 'archive-tiering',
      Status: 'Enabled',
      Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }],
      NoncurrentVersionExpiration: { NoncurrentDays: 30 },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
    }]);
  });

  test('options: S3-managed encryption, expiry, Object Lock in governance mode', () => {
    const { template } = setup({
      encryption: ArchiveEncryption.S3_MANAGED,
      transitionAfter: Duration.days(60),
      expireAfter: Duration.days(730),
      objectLockRetention: Duration.days(365),
    });
    template.resourceCountIs('AWS::KMS::Key', 0);
    const [bucket] = archiveBucket(template);
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } } },
    });
    expect(bucket.Properties.LifecycleConfiguration.Rules[0]).toMatchObject({
      Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 60 }],
      ExpirationInDays: 730,
    });
  });

  test('grantReadWritePrefix: read/write under the prefix only, no delete, listing limited to the prefix', () => {
    const { template } = setup();
    const policies = template.findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([
      {
        Action: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^ArchiveBucket/), 'Arn'] }, '/export-logs/*']] },
      },
      {
        Action: 's3:ListBucket',
        Condition: { StringLike: { 's3:prefix': ['export-logs/*'] } },
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ArchiveBucket/), 'Arn'] },
      },
      { Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ArchiveKey/), 'Arn'] } },
    ]);
  });

  test('cdk-nag: only the prefix wildcard of the grant is reported (the stack acknowledges it)', () => {
    expect(nagFindings(setup().stack)).toEqual([expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<ArchiveBucket\w+\.Arn>\/export-logs\/\*\] at Test\/Writer/)]);
    expect(nagFindings(setup({ encryption: ArchiveEncryption.S3_MANAGED, objectLockRetention: Duration.days(1) }).stack)).toHaveLength(1);
  });
});
