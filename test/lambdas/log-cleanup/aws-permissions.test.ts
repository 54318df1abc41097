import type { S3Client } from '@aws-sdk/client-s3';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createLogCleanupJob } from '../../../lambdas/log-cleanup/job';
import type { LogCleanupPorts } from '../../../lambdas/log-cleanup/ports';
import { SupabaseLogStore } from '../../../lambdas/log-cleanup/parts-store';
import { restoreArchive } from '../../../lambdas/log-cleanup/restore';
import { S3ArchiveStore } from '../../../lambdas/log-cleanup/s3-archive';
import { JOBS, type AnyJob } from '../../../lambdas/jobs';
import type { JobDeps } from '../../../lambdas/shared/job';
import { runJob } from '../../../lambdas/shared/job';
import type { JobName } from '../../../lambdas/shared/observability';
import { createS3Client } from '../../../lambdas/shared/s3';
import type { LocalStack } from '../../../local/stack';
import { describeRequests, recordS3Calls, startFakeSecretsManager, toTemplateRequests, type CallMapping, type RecordedCall } from '../../support/aws-calls';
import { synthesizedPolicies } from '../../support/iam/stack-wiring';
import { databaseMode, startTestStack } from '../../support/stack';
import { eligibleIds, scheduledTime, seedHistory } from './support';

/**
 * Every AWS call the jobs make while they run on the local stack, recorded through the SDK and
 * evaluated (iam-simulate) against the synthesized stack's policies for that job's own role:
 * the local bucket and secret stand for the template's, the environment is the function's own
 * from the template. A denial fails the test with the action and resource that lack an Allow.
 */
const { policies, jobs, archiveBucket, archiveKeyArn } = synthesizedPolicies();
/** Runs a job without echoing its log lines and EMF documents. */
const quietly = async <T>(fn: () => Promise<T>): Promise<T> => {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
};

describe(`the jobs' AWS calls under their roles' policies, on ${databaseMode}`, () => {
  let stack: LocalStack;
  let secrets: { url: string; close(): Promise<void> };
  const secretCalls: RecordedCall[] = [];
  const savedEnv = { ...process.env };
  let mapping: CallMapping;

  beforeAll(async () => {
    stack = await startTestStack();
    await seedHistory(stack, 200);
    // Secrets Manager is reached the way the Lambda reaches it (Powertools, the SDK's own
    // environment), at a stand-in endpoint that records the call.
    secrets = await startFakeSecretsManager(stack.serviceRoleKey, secretCalls);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
    });
    mapping = {
      buckets: { [stack.env.ARCHIVE_BUCKET]: archiveBucket },
      bucketKeys: { [archiveBucket]: archiveKeyArn },
      // The function's SUPABASE_SERVICE_ROLE_KEY_SECRET_ID is the template's secret ARN itself.
      secrets: Object.fromEntries(Object.values(jobs).map((j) => [j.env.SUPABASE_SERVICE_ROLE_KEY_SECRET_ID, j.env.SUPABASE_SERVICE_ROLE_KEY_SECRET_ID])),
    };
  });
  afterAll(async () => {
    process.env = savedEnv;
    await secrets?.close();
    await stack?.stop();
  });

  /** The job's ports as in Lambda: the function's template environment over the local endpoints, the key from Secrets Manager. */
  const lambdaDeps = async (job: JobName, calls: RecordedCall[]): Promise<JobDeps & LogCleanupPorts> => {
    const { SUPABASE_SERVICE_ROLE_KEY: _, ...local } = stack.env;
    const fromTemplate = Object.fromEntries(Object.entries(jobs[job].env)
      .filter(([k]) => !['SUPABASE_URL', 'ARCHIVE_BUCKET', 'EXPORTS_BUCKET', 'NODE_OPTIONS'].includes(k)));
    const before = secretCalls.length;
    // Each job gets the ports it declares: only the log cleanup has an S3 client.
    let deps!: JobDeps & Partial<LogCleanupPorts>;
    // A fresh module registry per job: each function is its own process, with its own secret cache.
    await jest.isolateModulesAsync(async () => {
      const { createJobDeps } = await import('../../../lambdas/shared/job');
      deps = await createJobDeps(JOBS[job], { env: { ...local, ...fromTemplate } });
    });
    calls.push(...secretCalls.slice(before));
    if (deps.archive instanceof S3ArchiveStore) recordS3Calls(deps.archive.client, calls);
    return deps as JobDeps & LogCleanupPorts;
  };

  const evaluate = async (job: JobName, calls: RecordedCall[]) => {
    const requests = toTemplateRequests(calls, { role: jobs[job].roleId, session: jobs[job].functionId }, mapping);
    return { requests, denials: await policies.denials(requests) };
  };

  test('every call of every job is allowed for that job\'s role', async () => {
    const made: Record<string, string[]> = {};
    for (const job of Object.keys(JOBS) as JobName[]) {
      const calls: RecordedCall[] = [];
      const deps = await lambdaDeps(job, calls);
      await quietly(() => runJob(JOBS[job] as AnyJob, deps, { scheduledTime }));
      const { requests, denials } = await evaluate(job, calls);
      expect({ job, denials }).toEqual({ job, denials: [] });
      made[job] = [...new Set(describeRequests(requests).map((r) => r.replace(/\/export-logs\/.*/, '/export-logs/…')))];
    }
    const secret = (job: string) => `secretsmanager:GetSecretValue ${jobs[job].env.SUPABASE_SERVICE_ROLE_KEY_SECRET_ID}`;
    // What was recorded: each job reads its secret; only the log job touches S3 (and, through S3, KMS).
    expect(made['file-cleanup']).toEqual([secret('file-cleanup')]);
    expect(made['metrics-aggregate']).toEqual([secret('metrics-aggregate')]);
    expect(made['log-cleanup']).toEqual([
      `kms:GenerateDataKey ${archiveKeyArn}`,
      `s3:GetObject arn:aws:s3:::${archiveBucket}/export-logs/…`,
      `s3:PutObject arn:aws:s3:::${archiveBucket}/export-logs/…`,
      secret('log-cleanup'),
    ]);
  });

  test('a part whose rows vanish behind the job\'s back after its upload is settled without deleting archived objects', async () => {
    await seedHistory(stack, 200, 2);
    const calls: RecordedCall[] = [];
    const job = createLogCleanupJob({ partRows: 30, pageRows: 10 });

    // Run 1 is cut off between the verified upload and the delete (a timeout, a lost connection):
    // its first part stays verified, its rows in place.
    const first = await lambdaDeps('log-cleanup', calls);
    const supabase = (first.logs as SupabaseLogStore).client;
    const rpc = supabase.rpc.bind(supabase);
    supabase.rpc = ((fn: string, ...rest: unknown[]) => fn === 'export_ops_log_cleanup_delete_part'
      ? Promise.reject(new Error('connection lost before the delete'))
      : (rpc as (...a: unknown[]) => unknown)(fn, ...rest)) as typeof supabase.rpc;
    await expect(quietly(() => runJob(job, first, { scheduledTime }))).rejects.toThrow(/connection lost before the delete/);
    const { rows: [part] } = await stack.db.query<{ part_key: string; object_key: string; manifest_key: string }>(
      `select part_key, object_key, manifest_key from export_ops.archive_parts where state = 'verified' order by part_key limit 1`,
    );
    expect(part).toBeDefined();

    // The app deletes the part's rows before the next run.
    const { rows: removed } = await stack.db.query(
      `delete from public.export_logs where id in (
         select r.id from export_ops.archive_parts p,
                lateral export_ops.log_part_rows(p.selector, p.first_created_at, p.first_id, p.last_created_at, p.last_id) r
          where p.part_key = $1) returning id`, [part.part_key],
    );
    expect(removed.length).toBeGreaterThan(0);
    // The cut-off run's leases run out (its other part, archived meanwhile, was still leased).
    await stack.db.query(`update export_ops.archive_parts set lease_until = now() where state <> 'deleted'`);

    // Run 2 finds the verified part's rows gone.
    calls.length = 0;
    const second = await lambdaDeps('log-cleanup', calls);
    await quietly(() => runJob(job, second, { scheduledTime }));
    const { requests, denials } = await evaluate('log-cleanup', calls);
    expect(denials).toEqual([]);
    expect(requests.filter((r) => /Delete/.test(r.action))).toEqual([]);

    // The part is forgotten; its objects stay as they were written, unreferenced.
    const left = await stack.db.query('select 1 from export_ops.archive_parts where part_key = $1', [part.part_key]);
    expect(left.rows).toHaveLength(0);
    const s3: S3Client = createS3Client(stack.env);
    for (const Key of [part.object_key, part.manifest_key]) {
      await expect(s3.send(new HeadObjectCommand({ Bucket: stack.env.ARCHIVE_BUCKET, Key }))).resolves.toBeDefined();
    }
    // Every other eligible row is archived and deleted.
    expect(await eligibleIds(stack)).toEqual([]);
    // A restore of the whole archive reads the recorded parts only: the rows the app deleted stay deleted.
    const restore = await restoreArchive({ archive: new S3ArchiveStore(s3), logs: second.logs, bucket: stack.env.ARCHIVE_BUCKET, key: 'export-logs/', dryRun: true });
    const { rows: recorded } = await stack.db.query<{ n: number }>(`select count(*)::int as n from export_ops.archive_parts where state <> 'pending'`);
    expect(restore.parts).toBe(recorded[0].n);
  });
});
