import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/**
 * The topic the alarms notify: KMS encrypted with its own key, TLS only, and open to
 * CloudWatch alarms of this account and region.
 *
 * `enforceSSL` gives the topic a topic policy, and a topic policy replaces SNS's default one:
 * without the explicit Allow below nothing would let CloudWatch publish, and every alarm
 * notification would be dropped. The key must likewise let CloudWatch encrypt for the topic
 * (the AWS managed alias/aws/sns key cannot be shared that way).
 */
export class AlarmTopic extends Construct {
  public readonly topic: sns.Topic;
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stack = Stack.of(this);
    // Only alarms of this account and region; aws:SourceArn keeps other accounts' alarms out
    // (confused deputy).
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
    };
    const cloudwatchPrincipal = new iam.ServicePrincipal('cloudwatch.amazonaws.com');

    this.key = new kms.Key(this, 'Key', { description: 'export-ops alarm topic', enableKeyRotation: true });
    this.key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarms',
      principals: [cloudwatchPrincipal],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: fromOurAlarms,
    }));

    this.topic = new sns.Topic(this, 'Resource', { displayName: 'export-ops alarms', masterKey: this.key, enforceSSL: true });
    this.topic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarms',
      principals: [cloudwatchPrincipal],
      actions: ['sns:Publish'],
      resources: [this.topic.topicArn],
      conditions: fromOurAlarms,
    }));
  }
}
