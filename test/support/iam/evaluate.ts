import { runSimulation, type EvaluationResult, type RequestAnalysis } from '@cloud-copilot/iam-simulate';
import { ACCOUNT, PARTITION, REGION, ResolvedTemplate, type CfnTemplate } from './template';

/**
 * One request to AWS, as IAM sees it: who (a session of one of the template's roles, or an AWS
 * service acting for the stack), the IAM action, the resource ARN, and the request's context
 * keys (aws:SecureTransport and, for S3, s3:TlsVersion are filled in as the SDK sends them).
 */
export interface AwsRequest {
  principal: { role: string; session?: string } | { service: string };
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

export interface Verdict {
  request: AwsRequest;
  result: EvaluationResult;
  /** One line naming the request, the decision and, for a denial, the statement that is missing or denying. */
  summary: string;
}

type Policy = { Version?: string; Statement: any[] | any };

const statementsOf = (policy: Policy): any[] => (Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement]);
const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * The synthesized stack's policies fed to @cloud-copilot/iam-simulate (AWS's evaluation logic:
 * explicit deny, identity and resource policies, same- and cross-account, KMS key-policy
 * trust, all condition operators): identity policies of each role (AWS::IAM::Policy,
 * AWS::IAM::ManagedPolicy, inline Policies) and the resource policy of the resource asked for
 * (S3 bucket policies, SNS topic policies, SQS queue policies, KMS key policies, Lambda
 * permissions, role trust policies, Secrets Manager resource policies).
 *
 * @example
 * const policies = new StackPolicies(Template.fromStack(stack).toJSON());
 * const v = await policies.evaluate({ principal: { role: 'LogCleanupRoleB9FA05D1' }, action: 's3:PutObject', resource: 'arn:aws:s3:::b/export-logs/x' });
 */
export class StackPolicies {
  readonly t: ResolvedTemplate;

  constructor(template: CfnTemplate) {
    this.t = new ResolvedTemplate(template);
  }

  /** The role's identity policies, by name. AWS managed policies are refused: their text is not in the template. */
  identityPolicies(roleId: string): { name: string; policy: Policy }[] {
    const t = this.t;
    if (t.resource(roleId).Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not an AWS::IAM::Role`);
    const roleName = t.ref(roleId);
    const policies: { name: string; policy: Policy }[] = [];
    for (const p of asList(t.prop(roleId, 'Policies'))) policies.push({ name: `${roleId}/${p.PolicyName}`, policy: p.PolicyDocument });
    for (const id of t.ofType('AWS::IAM::Policy')) {
      if (asList(t.prop(id, 'Roles')).includes(roleName)) policies.push({ name: id, policy: t.prop(id, 'PolicyDocument') });
    }
    const managed = new Map(t.ofType('AWS::IAM::ManagedPolicy').map((id) => [t.ref(id), id]));
    const attached = new Set<string>(asList(t.prop(roleId, 'ManagedPolicyArns')));
    for (const [arn, id] of managed) if (asList(t.prop(id, 'Roles')).includes(roleName)) attached.add(arn);
    for (const arn of attached) {
      const id = managed.get(arn);
      if (!id) throw new Error(`${roleId}: managed policy ${arn} is not in the template; its statements are unknown here`);
      policies.push({ name: id, policy: t.prop(id, 'PolicyDocument') });
    }
    return policies;
  }

  /** The resource policy that governs `resource` for `action`, if the resource has one in the template. */
  resourcePolicy(resource: string, action: string): { name: string; policy: Policy } | undefined {
    const t = this.t;
    const [, , service] = resource.split(':');
    const byArn = (type: string, attr: string) => t.ofType(type).find((id) => t.getAtt(id, attr) === resource);
    switch (service) {
      case 's3': {
        const bucket = resource.slice(`arn:${PARTITION}:s3:::`.length).split('/')[0];
        const id = t.ofType('AWS::S3::BucketPolicy').find((p) => t.prop(p, 'Bucket') === bucket);
        return id ? { name: id, policy: t.prop(id, 'PolicyDocument') } : undefined;
      }
      case 'sqs': {
        const queue = byArn('AWS::SQS::Queue', 'Arn');
        const url = queue && t.ref(queue);
        const ids = t.ofType('AWS::SQS::QueuePolicy').filter((p) => asList(t.prop(p, 'Queues')).includes(url));
        return merged(ids.map((id) => ({ name: id, policy: t.prop(id, 'PolicyDocument') })));
      }
      case 'sns': {
        const ids = t.ofType('AWS::SNS::TopicPolicy').filter((p) => asList(t.prop(p, 'Topics')).includes(resource));
        return merged(ids.map((id) => ({ name: id, policy: t.prop(id, 'PolicyDocument') })));
      }
      case 'kms': {
        const key = byArn('AWS::KMS::Key', 'Arn');
        // A key outside the template (an AWS managed key, another stack's) has a policy we cannot see.
        if (!key) throw new Error(`KMS key ${resource} is not in the template; its key policy is unknown here`);
        return { name: key, policy: t.prop(key, 'KeyPolicy') };
      }
      case 'lambda': {
        const fnArn = resource.split(':').slice(0, 7).join(':');
        const fn = t.ofType('AWS::Lambda::Function').find((id) => t.getAtt(id, 'Arn') === fnArn);
        if (!fn) return undefined;
        const statements = t.ofType('AWS::Lambda::Permission')
          .filter((id) => [t.ref(fn), fnArn].includes(t.prop(id, 'FunctionName')))
          .map((id) => lambdaPermissionStatement(id, t.prop(id, 'Action'), t.resolve(t.resource(id).Properties), fnArn));
        return statements.length ? { name: `${fn} permissions`, policy: { Version: '2012-10-17', Statement: statements } } : undefined;
      }
      case 'iam': {
        const role = byArn('AWS::IAM::Role', 'Arn');
        if (role && action.startsWith('sts:')) return { name: `${role} trust policy`, policy: t.prop(role, 'AssumeRolePolicyDocument') };
        return undefined;
      }
      case 'secretsmanager': {
        const id = t.ofType('AWS::SecretsManager::ResourcePolicy').find((p) => t.prop(p, 'SecretId') === resource);
        return id ? { name: id, policy: t.prop(id, 'ResourcePolicy') } : undefined;
      }
      default:
        return undefined;
    }
  }

  /** The ARN a role's session has when a service (Lambda, Scheduler) assumes it. */
  sessionArn(roleId: string, session = 'session'): string {
    return `arn:${PARTITION}:sts::${ACCOUNT}:assumed-role/${this.t.ref(roleId)}/${session}`;
  }

  async evaluate(request: AwsRequest): Promise<Verdict> {
    const role = 'role' in request.principal ? request.principal.role : undefined;
    const principal = role ? this.sessionArn(role, (request.principal as { session?: string }).session) : (request.principal as { service: string }).service;
    const identity = role ? this.identityPolicies(role) : [];
    const resourcePolicy = this.resourcePolicy(request.resource, request.action);
    const [, , service] = request.resource.split(':');
    const context: Record<string, string | string[]> = {
      'aws:SecureTransport': 'true',
      ...(service === 's3' ? { 's3:TlsVersion': '1.3' } : {}),
      ...request.context,
    };
    const answer = await runSimulation({
      identityPolicies: identity,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: resourcePolicy?.policy,
      request: { principal, action: request.action, resource: { resource: request.resource, accountId: ACCOUNT }, contextVariables: context },
    }, {});
    const who = role ? `role ${role}` : principal;
    const source = request.context?.['aws:SourceArn'] ? ` (from ${request.context['aws:SourceArn']})` : '';
    const what = `${who}${source}: ${request.action} on ${request.resource}`;
    if (answer.resultType === 'error') throw new Error(`${what}: the simulator refused the input: ${JSON.stringify(answer.errors)}`);
    const analyses: RequestAnalysis[] = answer.resultType === 'single'
      ? [answer.result.analysis]
      : answer.results.map((r) => r.analysis);
    const result = answer.overallResult;
    if (result === 'Allowed') return { request, result, summary: `${what}: Allowed` };
    const statement = (s: { statement: { sid(): string | undefined; index(): number } }) => s.statement.sid() ?? `#${s.statement.index()}`;
    const denies = analyses.flatMap((a) => [
      ...(a.identityAnalysis?.denyStatements ?? []).map((s) => `${s.policyId} statement ${statement(s)}`),
      ...(a.resourceAnalysis?.denyStatements ?? []).map((s) => `${resourcePolicy?.name} statement ${statement(s)}`),
    ]);
    const missing = role
      ? `an Allow of ${request.action} on ${request.resource} in ${role}'s identity policy` +
        (service === 'kms' ? ` (and a key policy ${resourcePolicy?.name} that trusts the account or the role)` : '')
      : `an Allow of ${request.action} on ${request.resource} for ${principal} in ${resourcePolicy?.name ?? 'a resource policy (none in the template)'}`;
    const blocked = analyses.flatMap((a) => a.blockedBy ?? []);
    return {
      request,
      result,
      summary: `${what}: ${result}` +
        (denies.length ? `; denied by ${denies.join(', ')}` : `; missing ${missing}`) +
        (blocked.length ? ` (blocked by ${[...new Set(blocked)].join(', ')})` : ''),
    };
  }

  /** Evaluates every request; the summaries of those not Allowed. */
  async denials(requests: AwsRequest[]): Promise<string[]> {
    const verdicts = await Promise.all(requests.map((r) => this.evaluate(r)));
    return verdicts.filter((v) => v.result !== 'Allowed').map((v) => v.summary);
  }
}

function merged(policies: { name: string; policy: Policy }[]): { name: string; policy: Policy } | undefined {
  if (policies.length === 0) return undefined;
  return {
    name: policies.map((p) => p.name).join('+'),
    policy: { Version: '2012-10-17', Statement: policies.flatMap((p) => statementsOf(p.policy)) },
  };
}

/** An AWS::Lambda::Permission as the statement Lambda adds to the function's resource policy. */
function lambdaPermissionStatement(id: string, action: string, props: Record<string, any>, resource: string): any {
  const principal = String(props.Principal);
  const condition: Record<string, Record<string, string>> = {};
  if (props.SourceArn) condition.ArnLike = { 'aws:SourceArn': props.SourceArn };
  if (props.SourceAccount) condition.StringEquals = { 'aws:SourceAccount': props.SourceAccount };
  return {
    Sid: id,
    Effect: 'Allow',
    Principal: principal.endsWith('.amazonaws.com') ? { Service: principal } : { AWS: principal },
    Action: action,
    Resource: resource,
    ...(Object.keys(condition).length ? { Condition: condition } : {}),
  };
}

/** The region used for every ARN (exported for the tests' own ARNs). */
export { ACCOUNT, PARTITION, REGION };
