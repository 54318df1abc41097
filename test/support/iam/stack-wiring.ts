import { Template } from 'aws-cdk-lib/assertions';
import type { ExportOpsStackProps } from '../../../lib/export-ops-stack';
import { exportOpsStack } from '../../lib/helpers';
import { StackPolicies } from './evaluate';
import { ACCOUNT, REGION, type CfnTemplate } from './template';

/** What one job's function is wired to, read from the template (logical ids and resolved ARNs). */
export interface JobWiring {
  job: string;
  functionId: string;
  functionArn: string;
  roleId: string;
  env: Record<string, string>;
  logGroupArn: string;
  failureQueueArn: string;
  scheduleRoleId: string;
  deadLetterQueueArn: string;
  /** What the schedule targets: the function, or (a drained job) the tick state machine. */
  scheduleTargetArn: string;
  /** A drained job's state machines and their roles (lib/drain.ts). */
  drain?: { drainArn: string; drainRoleId: string; tickArn: string; tickRoleId: string };
}

/**
 * The stack synthesized for account 111122223333 in eu-west-1 (bundling skipped), with its
 * policies ready to evaluate and each job's wiring found the way AWS would follow it: the
 * function's Role, its LoggingConfig, its EventInvokeConfig's failure destination, the schedule
 * whose target is the function (its RoleArn and DeadLetterConfig).
 *
 * @example
 * const { policies, jobs } = synthesizedPolicies();
 * await policies.evaluate({ principal: { role: jobs['log-cleanup'].roleId }, action: 's3:PutObject', resource: '…' });
 */
export function synthesizedPolicies(props: ExportOpsStackProps = {}, context: Record<string, unknown> = {}) {
  const template = Template.fromStack(exportOpsStack({ env: { account: ACCOUNT, region: REGION }, ...props }, context)).toJSON() as CfnTemplate;
  const policies = new StackPolicies(template);
  const t = policies.t;
  const roleByArn = (arn: string) => {
    const id = t.ofType('AWS::IAM::Role').find((r) => t.getAtt(r, 'Arn') === arn);
    if (!id) throw new Error(`no role with ARN ${arn}`);
    return id;
  };
  const jobs: Record<string, JobWiring> = {};
  for (const functionId of t.ofType('AWS::Lambda::Function')) {
    const env = t.prop(functionId, 'Environment').Variables as Record<string, string>;
    const functionArn = t.getAtt(functionId, 'Arn');
    const invokeConfig = t.ofType('AWS::Lambda::EventInvokeConfig').find((id) => t.prop(id, 'FunctionName') === t.ref(functionId));
    // A drained job's schedule starts its tick machine, whose StartDrain starts the machine invoking the function.
    const machines = t.ofType('AWS::StepFunctions::StateMachine').map((id) => ({ id, arn: t.getAtt(id, 'Arn'), definition: String(t.prop(id, 'DefinitionString')) }));
    const drainMachine = machines.find((m) => JSON.parse(m.definition).States && m.definition.includes(`"FunctionName":"${functionArn}"`));
    const tickMachine = drainMachine && machines.find((m) => m.definition.includes(`"StateMachineArn":"${drainMachine.arn}"`));
    const targetArn = tickMachine?.arn ?? functionArn;
    const schedule = t.ofType('AWS::Scheduler::Schedule').find((id) => t.prop(id, 'Target').Arn === targetArn);
    if (!invokeConfig || !schedule) throw new Error(`${functionId}: no EventInvokeConfig or Schedule`);
    const target = t.prop(schedule, 'Target');
    const logGroupName = t.prop(functionId, 'LoggingConfig').LogGroup as string;
    const logGroup = t.ofType('AWS::Logs::LogGroup').find((id) => t.ref(id) === logGroupName);
    jobs[env.POWERTOOLS_SERVICE_NAME] = {
      job: env.POWERTOOLS_SERVICE_NAME,
      functionId,
      functionArn,
      roleId: roleByArn(t.prop(functionId, 'Role')),
      env,
      logGroupArn: t.getAtt(logGroup as string, 'Arn'),
      failureQueueArn: t.prop(invokeConfig, 'DestinationConfig').OnFailure.Destination,
      scheduleRoleId: roleByArn(target.RoleArn),
      deadLetterQueueArn: target.DeadLetterConfig.Arn,
      scheduleTargetArn: targetArn,
      drain: drainMachine && tickMachine ? {
        drainArn: drainMachine.arn, drainRoleId: roleByArn(t.prop(drainMachine.id, 'RoleArn')),
        tickArn: tickMachine.arn, tickRoleId: roleByArn(t.prop(tickMachine.id, 'RoleArn')),
      } : undefined,
    };
  }
  const archiveBucket = jobs['log-cleanup'].env.ARCHIVE_BUCKET;
  const archiveBucketId = t.ofType('AWS::S3::Bucket').find((id) => t.ref(id) === archiveBucket) as string;
  /** The KMS key ARN of a bucket's default encryption, if it is KMS. */
  const bucketKeyArn = (bucketId: string): string | undefined => {
    const rule = t.prop(bucketId, 'BucketEncryption')?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault;
    if (rule?.SSEAlgorithm !== 'aws:kms') return undefined;
    const key = String(rule.KMSMasterKeyID);
    return key.startsWith('arn:') ? key : `arn:aws:kms:${REGION}:${ACCOUNT}:key/${key}`;
  };
  return { template, policies, t, jobs, archiveBucket, archiveBucketId, archiveKeyArn: bucketKeyArn(archiveBucketId), bucketKeyArn };
}
