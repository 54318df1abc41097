import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export enum ArchiveEncryption {
  /** A customer managed KMS key with yearly rotation. */
  KMS = 'kms',
  /** S3 managed keys (SSE-S3): no key cost, no key policy to manage. */
  S3_MANAGED = 's3',
}

export interface ArchiveBucketProps {
  /**
   * Server-side encryption of the archive.
   * @default ArchiveEncryption.KMS
   */
  readonly encryption?: ArchiveEncryption;
  /**
   * Age after which objects move to Glacier Instant Retrieval.
   * @default Duration.days(30)
   */
  readonly transitionAfter?: Duration;
  /**
   * Age after which objects expire.
   * @default - never
   */
  readonly expireAfter?: Duration;
  /**
   * How long a replaced or deleted object version is kept.
   * @default Duration.days(30)
   */
  readonly noncurrentVersionExpiration?: Duration;
  /**
   * Object Lock default retention, in governance mode (users with
   * s3:BypassGovernanceRetention can still delete). Can only be chosen at bucket creation.
   * @default - no Object Lock
   */
  readonly objectLockRetention?: Duration;
  /**
   * Bucket receiving the server access logs.
   * @default - a new bucket, SSE-S3, logs expire after 90 days
   */
  readonly accessLogsBucket?: s3.IBucket;
  /**
   * What happens to the archive when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The S3 bucket that keeps archived export logs: private, TLS only, encrypted, versioned,
 * access-logged, tiered to Glacier Instant Retrieval.
 */
export class ArchiveBucket extends Construct {
  public readonly bucket: s3.IBucket;
  /** The KMS key, when encryption is KMS. */
  public readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: ArchiveBucketProps = {}) {
    super(scope, id);
    // Grant access log delivery by bucket policy, so ACLs stay disabled on the log bucket
    // (set here so the construct does not depend on the app's cdk.json feature flags).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const kmsEncrypted = (props.encryption ?? ArchiveEncryption.KMS) === ArchiveEncryption.KMS;

    const accessLogs = props.accessLogsBucket ?? this.createAccessLogsBucket(removalPolicy);

    if (kmsEncrypted) {
      this.encryptionKey = new kms.Key(this, 'Key', {
        description: 'export-ops archive bucket',
        enableKeyRotation: true,
        removalPolicy,
      });
    }

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      encryption: kmsEncrypted ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      encryptionKey: this.encryptionKey,
      // One data key per bucket instead of per object: far fewer KMS requests.
      bucketKeyEnabled: kmsEncrypted,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'archive/',
      objectLockEnabled: props.objectLockRetention !== undefined,
      objectLockDefaultRetention: props.objectLockRetention
        ? s3.ObjectLockRetention.governance(props.objectLockRetention)
        : undefined,
      lifecycleRules: [
        {
          id: 'archive-tiering',
          transitions: [
            {
              storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: props.transitionAfter ?? Duration.days(30),
            },
          ],
          expiration: props.expireAfter,
          noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy,
    });
  }

  /**
   * Lets the grantee write, read and list objects under `prefix/` and nothing else
   * (no deletes, no other keys, no bucket settings).
   */
  public grantReadWritePrefix(grantee: iam.IGrantable, prefix: string): iam.Grant {
    const objects = this.bucket.arnForObjects(`${prefix}/*`);
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resourceArns: [objects],
    });
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}/*`] } },
      }),
    );
    // Multipart uploads need Decrypt as well as GenerateDataKey.
    this.encryptionKey?.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
    return grant;
  }

  private createAccessLogsBucket(removalPolicy: RemovalPolicy): s3.Bucket {
    // Access log delivery only supports SSE-S3 on the target bucket.
    const logs = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(90) }],
      removalPolicy,
    });
    Validations.of(logs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log bucket of the archive; logging it too would only log the log delivery.',
    });
    return logs;
  }
}
