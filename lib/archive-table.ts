import { Aws } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface ArchiveTableProps {
  /** The archive bucket. */
  readonly bucket: s3.IBucket;
  /**
   * Key prefix the log job writes under.
   * @default 'export-logs'
   */
  readonly prefix?: string;
  /**
   * Glue database to create.
   * @default 'export_ops'
   */
  readonly databaseName?: string;
  /**
   * Table name.
   * @default 'export_logs'
   */
  readonly tableName?: string;
  /**
   * First year the partition projection enumerates.
   * @default 2024
   */
  readonly firstYear?: number;
}

/** The export_logs columns as archived (timestamps stay ISO-8601 strings, config stays JSON text). */
const COLUMNS: Array<[string, string]> = [
  ['id', 'string'],
  ['export_id', 'string'],
  ['user_id', 'string'],
  ['timestamp', 'string'],
  ['format', 'string'],
  ['config', 'string'],
  ['conversation_count', 'int'],
  ['file_size', 'bigint'],
  ['status', 'string'],
  ['file_url', 'string'],
  ['expires_at', 'string'],
  ['error_message', 'string'],
  ['created_at', 'string'],
  ['updated_at', 'string'],
  ['downloaded_count', 'int'],
  ['finished_at', 'string'],
];

/**
 * A Glue table over `<prefix>/export_logs/year=YYYY/month=MM/*.ndjson.gz` with partition
 * projection, so Athena needs no crawler and no `MSCK REPAIR`.
 *
 * The `*.manifest.json` files beside the parts are in the same folders and Athena has no
 * per-table file filter (it only skips names starting with `_` or `.`). The SerDe is set to
 * ignore malformed JSON, and queries should add `WHERE "$path" LIKE '%.ndjson.gz'`
 * (or `id IS NOT NULL`) to leave manifest lines out.
 */
export class ArchiveTable extends Construct {
  public readonly databaseName: string;
  public readonly tableName: string;

  constructor(scope: Construct, id: string, props: ArchiveTableProps) {
    super(scope, id);
    this.databaseName = props.databaseName ?? 'export_ops';
    this.tableName = props.tableName ?? 'export_logs';
    const location = `s3://${props.bucket.bucketName}/${props.prefix ?? 'export-logs'}/export_logs/`;

    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: this.databaseName, description: 'export-ops archive' },
    });

    const table = new glue.CfnTable(this, 'Table', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: this.tableName,
        description: 'Archived export_logs rows (gzip NDJSON). Filter "$path" LIKE \'%.ndjson.gz\' to skip manifests.',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [
          { name: 'year', type: 'string' },
          { name: 'month', type: 'string' },
        ],
        parameters: {
          classification: 'json',
          compressionType: 'gzip',
          'projection.enabled': 'true',
          'projection.year.type': 'integer',
          'projection.year.range': `${props.firstYear ?? 2024},2099`,
          'projection.month.type': 'integer',
          'projection.month.range': '1,12',
          'projection.month.digits': '2',
          'storage.location.template': `${location}year=\${year}/month=\${month}/`,
        },
        storageDescriptor: {
          location,
          columns: COLUMNS.map(([name, type]) => ({ name, type })),
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            // A pretty-printed manifest becomes a row of nulls instead of failing the query.
            parameters: { 'ignore.malformed.json': 'true' },
          },
        },
      },
    });
    table.addResourceDependency(database);
  }
}
