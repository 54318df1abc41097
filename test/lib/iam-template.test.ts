import { ACCOUNT, REGION, ResolvedTemplate } from '../support/iam/template';

const template = new ResolvedTemplate({
  Resources: {
    Bucket: { Type: 'AWS::S3::Bucket' },
    Named: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'given-name' } },
    Key: { Type: 'AWS::KMS::Key' },
    Queue: { Type: 'AWS::SQS::Queue' },
    Topic: { Type: 'AWS::SNS::Topic' },
    Secret: { Type: 'AWS::SecretsManager::Secret' },
    Role: { Type: 'AWS::IAM::Role' },
    Fn: { Type: 'AWS::Lambda::Function' },
    Logs: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: { 'Fn::Sub': '/aws/lambda/${Fn}' } } },
    Alarm: { Type: 'AWS::CloudWatch::Alarm' },
    Policy: { Type: 'AWS::IAM::Policy' },
  },
});

describe('the template resolver (fixed account and region)', () => {
  test('Ref and Fn::GetAtt give each resource type its ARN shape', () => {
    expect(template.resolve({ Ref: 'Bucket' })).toBe('exportops-bucket');
    expect(template.resolve({ 'Fn::GetAtt': ['Bucket', 'Arn'] })).toBe('arn:aws:s3:::exportops-bucket');
    expect(template.resolve({ 'Fn::GetAtt': ['Named', 'Arn'] })).toBe('arn:aws:s3:::given-name');
    expect(template.resolve({ 'Fn::GetAtt': 'Key.Arn' })).toMatch(new RegExp(`^arn:aws:kms:${REGION}:${ACCOUNT}:key/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`));
    expect(template.resolve({ 'Fn::GetAtt': 'Key.Arn' })).toBe(`arn:aws:kms:${REGION}:${ACCOUNT}:key/${template.resolve({ Ref: 'Key' })}`);
    expect(template.resolve({ Ref: 'Queue' })).toBe(`https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/ExportOps-Queue`);
    expect(template.resolve({ 'Fn::GetAtt': ['Queue', 'Arn'] })).toBe(`arn:aws:sqs:${REGION}:${ACCOUNT}:ExportOps-Queue`);
    expect(template.resolve({ Ref: 'Topic' })).toBe(`arn:aws:sns:${REGION}:${ACCOUNT}:ExportOps-Topic`);
    expect(template.resolve({ Ref: 'Secret' })).toMatch(new RegExp(`^arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:ExportOps-Secret-[0-9a-f]{6}$`));
    expect(template.resolve({ 'Fn::GetAtt': ['Role', 'Arn'] })).toBe(`arn:aws:iam::${ACCOUNT}:role/ExportOps-Role`);
    expect(template.resolve({ 'Fn::GetAtt': ['Fn', 'Arn'] })).toBe(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:ExportOps-Fn`);
    expect(template.resolve({ 'Fn::GetAtt': ['Logs', 'Arn'] })).toBe(`arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/ExportOps-Fn:*`);
    expect(template.resolve({ 'Fn::GetAtt': ['Alarm', 'Arn'] })).toBe(`arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:ExportOps-Alarm`);
  });

  test('pseudo parameters, Fn::Join, Fn::Sub (with variables and ${!literal}), Fn::Select, Fn::Split', () => {
    expect(template.resolve({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] }))
      .toBe(`arn:aws:iam::${ACCOUNT}:root`);
    expect(template.resolve({ 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:x/${Bucket}/${Role.Arn}/${!Literal}' }))
      .toBe(`arn:aws:logs:${REGION}:${ACCOUNT}:x/exportops-bucket/arn:aws:iam::${ACCOUNT}:role/ExportOps-Role/\${Literal}`);
    expect(template.resolve({ 'Fn::Sub': ['${A}-${B}', { A: 'a', B: { Ref: 'Bucket' } }] })).toBe('a-exportops-bucket');
    expect(template.resolve({ 'Fn::Select': [1, { 'Fn::Split': [':', { 'Fn::GetAtt': ['Queue', 'Arn'] }] }] })).toBe('aws');
    // Deep: objects and arrays are walked, plain values kept.
    expect(template.resolve({ Statement: [{ Resource: [{ Ref: 'Bucket' }, '*'], Count: 2 }] }))
      .toEqual({ Statement: [{ Resource: ['exportops-bucket', '*'], Count: 2 }] });
  });

  test('anything it does not know throws, naming it', () => {
    expect(() => template.resolve({ 'Fn::If': ['C', 1, 2] })).toThrow(/Fn::If is not supported/);
    expect(() => template.resolve({ 'Fn::ImportValue': 'x' })).toThrow(/Fn::ImportValue is not supported/);
    expect(() => template.resolve({ Ref: 'Nope' })).toThrow(/Ref Nope: no such resource/);
    expect(() => template.resolve({ Ref: 'AWS::NotificationARNs' })).toThrow(/pseudo parameter not known/);
    expect(() => template.resolve({ 'Fn::GetAtt': ['Bucket', 'WebsiteURL'] })).toThrow(/WebsiteURL of AWS::S3::Bucket is not known/);
    expect(() => template.resolve({ 'Fn::GetAtt': ['Policy', 'Id'] })).toThrow(/AWS::IAM::Policy/);
    expect(() => template.resolve({ 'Fn::Select': [3, ['a']] })).toThrow(/out of range/);
  });
});
