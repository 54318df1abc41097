import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ArchiveTable } from '../../lib/archive-table';
import { nagFindings, testStack } from './helpers';

function setup() {
  const stack = testStack();
  const bucket = s3.Bucket.fromBucketName(stack, 'Bucket', 'archive-bucket');
  new ArchiveTable(stack, 'Table', { bucket, prefix: 'export-logs' });
  return { stack, template: Template.fromStack(stack) };
}

describe('ArchiveTable', () => {
  test('a Glue database and a JSON table with year/month partition projection over the archive layout', () => {
    const { template } = setup();
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'export_ops' } });
    const table = Object.values(template.findResources('AWS::Glue::Table'))[0] as any;
    const input = table.Properties.TableInput;
    expect(table.DependsOn).toEqual([expect.stringMatching(/^TableDatabase/)]);
    expect(input.Name).toBe('export_logs');
    expect(input.PartitionKeys).toEqual([{ Name: 'year', Type: 'string' }, { Name: 'month', Type: 'string' }]);
    expect(input.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.year.type': 'integer',
      'projection.month.range': '1,12',
      'projection.month.digits': '2',
      'storage.location.template': 's3://archive-bucket/export-logs/export_logs/year=${year}/month=${month}/',
      compressionType: 'gzip',
    });
    expect(input.StorageDescriptor.Location).toBe('s3://archive-bucket/export-logs/export_logs/');
    expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.openx.data.jsonserde.JsonSerDe');
  });

  test('columns match export_logs', () => {
    const table = Object.values(setup().template.findResources('AWS::Glue::Table'))[0] as any;
    const columns = Object.fromEntries(table.Properties.TableInput.StorageDescriptor.Columns.map((c: any) => [c.Name, c.Type]));
    expect(columns).toEqual({
      id: 'string', export_id: 'string', user_id: 'string', timestamp: 'string', format: 'string', config: 'string',
      conversation_count: 'int', file_size: 'bigint', status: 'string', file_url: 'string', expires_at: 'string',
      error_message: 'string', created_at: 'string', updated_at: 'string', downloaded_count: 'int',
      finished_at: 'string',
    });
  });

  test('cdk-nag reports nothing', () => {
    expect(nagFindings(setup().stack)).toEqual([]);
  });
});
