import { createHash } from 'node:crypto';

export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';
export const PARTITION = 'aws';
export const STACK_NAME = 'ExportOps';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, any>;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
}

const PSEUDO: Record<string, string> = {
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': REGION,
  'AWS::Partition': PARTITION,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': STACK_NAME,
};

/** A stable fake id of the given length from the logical id (KMS key ids, secret suffixes). */
function hashOf(logicalId: string, length: number): string {
  return createHash('sha256').update(logicalId).digest('hex').slice(0, length);
}

function keyId(logicalId: string): string {
  const h = hashOf(logicalId, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * A synthesized CloudFormation template with its intrinsics resolved to concrete values, as
 * CloudFormation would resolve them when deploying to one fixed account and region. Only the
 * intrinsics and attributes this stack uses are known; anything else throws, naming itself, so
 * a template that grows a new one fails loudly instead of being evaluated on a guess.
 *
 * Physical names are made up deterministically from the logical id (CloudFormation generates
 * `<stack>-<logicalId>-<random>`; the policies only ever refer to them through Ref/GetAtt, so any
 * consistent name proves the same thing).
 *
 * @example
 * const t = new ResolvedTemplate(Template.fromStack(stack).toJSON());
 * t.resolve({ 'Fn::GetAtt': ['ArchiveBucket49F1AC64', 'Arn'] }); // 'arn:aws:s3:::exportops-archivebucket49f1ac64'
 */
export class ResolvedTemplate {
  constructor(readonly template: CfnTemplate) {}

  resource(logicalId: string): CfnResource {
    const r = this.template.Resources[logicalId];
    if (!r) throw new Error(`no resource ${logicalId} in the template`);
    return r;
  }

  /** Logical ids of the resources of one type. */
  ofType(type: string): string[] {
    return Object.entries(this.template.Resources).filter(([, r]) => r.Type === type).map(([id]) => id);
  }

  /** A property of a resource, resolved; undefined when absent. */
  prop(logicalId: string, name: string): any {
    const value = this.resource(logicalId).Properties?.[name];
    return value === undefined ? undefined : this.resolve(value);
  }

  private name(logicalId: string, nameProp: string, lower = false): string {
    const given = this.prop(logicalId, nameProp);
    if (typeof given === 'string') return given;
    const made = `${STACK_NAME}-${logicalId}`;
    return lower ? made.toLowerCase() : made;
  }

  /** What `Ref` returns for a resource. */
  ref(logicalId: string): string {
    const { Type } = this.resource(logicalId);
    switch (Type) {
      case 'AWS::SNS::Topic':
      case 'AWS::SecretsManager::Secret':
        return this.getAtt(logicalId, Type === 'AWS::SNS::Topic' ? 'TopicArn' : 'Id');
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${this.name(logicalId, 'QueueName')}`;
      case 'AWS::KMS::Key':
        return keyId(logicalId);
      case 'AWS::S3::Bucket':
        return this.name(logicalId, 'BucketName', true);
      case 'AWS::IAM::Role':
        return this.name(logicalId, 'RoleName');
      case 'AWS::Lambda::Function':
        return this.name(logicalId, 'FunctionName');
      case 'AWS::Logs::LogGroup':
        return this.name(logicalId, 'LogGroupName');
      case 'AWS::CloudWatch::Alarm':
        return this.name(logicalId, 'AlarmName');
      case 'AWS::Scheduler::Schedule':
        return this.name(logicalId, 'Name');
      case 'AWS::StepFunctions::StateMachine':
        return this.getAtt(logicalId, 'Arn');
      case 'AWS::IAM::ManagedPolicy':
        return `arn:${PARTITION}:iam::${ACCOUNT}:policy/${this.name(logicalId, 'ManagedPolicyName')}`;
      default:
        // Policies, dashboards, query definitions…: a name nothing in a policy refers to.
        return `${STACK_NAME}-${logicalId}`;
    }
  }

  /** What `Fn::GetAtt` returns for a resource's attribute. */
  getAtt(logicalId: string, attribute: string): string {
    const { Type } = this.resource(logicalId);
    const known: Record<string, Record<string, () => string>> = {
      'AWS::S3::Bucket': {
        Arn: () => `arn:${PARTITION}:s3:::${this.ref(logicalId)}`,
        DomainName: () => `${this.ref(logicalId)}.s3.amazonaws.com`,
        RegionalDomainName: () => `${this.ref(logicalId)}.s3.${REGION}.amazonaws.com`,
      },
      'AWS::KMS::Key': {
        Arn: () => `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/${keyId(logicalId)}`,
        KeyId: () => keyId(logicalId),
      },
      'AWS::SQS::Queue': {
        Arn: () => `arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:${this.name(logicalId, 'QueueName')}`,
        QueueName: () => this.name(logicalId, 'QueueName'),
        QueueUrl: () => this.ref(logicalId),
      },
      'AWS::SNS::Topic': {
        TopicArn: () => `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${this.name(logicalId, 'TopicName')}`,
        TopicName: () => this.name(logicalId, 'TopicName'),
      },
      'AWS::SecretsManager::Secret': {
        // Secrets Manager appends a 6-character suffix to the name.
        Id: () => `arn:${PARTITION}:secretsmanager:${REGION}:${ACCOUNT}:secret:${this.name(logicalId, 'Name')}-${hashOf(logicalId, 6)}`,
      },
      'AWS::IAM::Role': {
        Arn: () => `arn:${PARTITION}:iam::${ACCOUNT}:role/${this.ref(logicalId)}`,
        RoleId: () => `AROA${hashOf(logicalId, 17).toUpperCase()}`,
      },
      'AWS::Lambda::Function': {
        Arn: () => `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:${this.ref(logicalId)}`,
      },
      'AWS::Logs::LogGroup': {
        Arn: () => `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:${this.ref(logicalId)}:*`,
      },
      'AWS::CloudWatch::Alarm': {
        Arn: () => `arn:${PARTITION}:cloudwatch:${REGION}:${ACCOUNT}:alarm:${this.ref(logicalId)}`,
      },
      'AWS::StepFunctions::StateMachine': {
        Arn: () => `arn:${PARTITION}:states:${REGION}:${ACCOUNT}:stateMachine:${this.name(logicalId, 'StateMachineName')}`,
        Name: () => this.name(logicalId, 'StateMachineName'),
      },
      'AWS::Scheduler::Schedule': {
        Arn: () => `arn:${PARTITION}:scheduler:${REGION}:${ACCOUNT}:schedule/default/${this.ref(logicalId)}`,
      },
    };
    const make = known[Type]?.[attribute];
    if (!make) throw new Error(`Fn::GetAtt ${logicalId}.${attribute}: attribute ${attribute} of ${Type} is not known to the resolver`);
    return make();
  }

  /** Resolves every intrinsic in a value (deeply). */
  resolve(value: unknown): any {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1 && (entries[0][0] === 'Ref' || entries[0][0].startsWith('Fn::'))) {
      return this.intrinsic(entries[0][0], entries[0][1]);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }

  private refOf(name: string): string {
    if (name in PSEUDO) return PSEUDO[name];
    if (name.startsWith('AWS::')) throw new Error(`Ref ${name}: pseudo parameter not known to the resolver`);
    if (!this.template.Resources[name]) throw new Error(`Ref ${name}: no such resource (parameters are not supported)`);
    return this.ref(name);
  }

  private intrinsic(fn: string, arg: unknown): any {
    switch (fn) {
      case 'Ref':
        return this.refOf(String(arg));
      case 'Fn::GetAtt': {
        const [id, attr] = Array.isArray(arg) ? arg : String(arg).split(/\.(.*)/);
        return this.getAtt(String(id), String(this.resolve(attr)));
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown[]];
        return (this.resolve(parts) as unknown[]).map(String).join(sep);
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [arg as string, {}];
        const resolvedVars = this.resolve(vars) as Record<string, unknown>;
        return text.replace(/\$\{(!?)([^}]+)\}/g, (_, bang: string, name: string) => {
          if (bang) return `\${${name}}`;
          if (name in resolvedVars) return String(resolvedVars[name]);
          if (name in PSEUDO || !name.includes('.')) return this.refOf(name);
          const [id, attr] = name.split(/\.(.*)/);
          return this.getAtt(id, attr);
        });
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const items = this.resolve(list) as unknown[];
        const i = Number(this.resolve(index));
        if (!Array.isArray(items) || i < 0 || i >= items.length) throw new Error(`Fn::Select index ${i} out of range`);
        return items[i];
      }
      case 'Fn::Split': {
        const [sep, text] = arg as [string, unknown];
        return String(this.resolve(text)).split(sep);
      }
      default:
        throw new Error(`${fn} is not supported by the resolver`);
    }
  }
}
