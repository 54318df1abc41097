import { randomBytes } from 'node:crypto';
import { UPLOAD_PART_BYTES } from '../../../lambdas/log-cleanup/s3-archive';
import { logCleanupJob } from '../../../lambdas/log-cleanup/job';
import { runJob } from '../../../lambdas/shared/job';
import { createS3Client } from '../../../lambdas/shared/s3';
import type { LocalStack } from '../../../local/stack';
import { recordS3Calls, toTemplateRequests, type RecordedCall } from '../../support/aws-calls';
import { synthesizedPolicies } from '../../support/iam/stack-wiring';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { S3ArchiveStore } from '../../../lambdas/log-cleanup/s3-archive';
import { CUTOFF, eligibleIds, expectArchivedExactlyOnce, scheduledTime, snapshot } from './support';

const USER = '00000000-0000-0000-0000-0000000000c1';
/** Incompressible (base64 of random bytes) so the gzip part is larger than one upload chunk. */
const PAYLOAD_CHARS = 8_000;
const ROWS = Math.ceil((UPLOAD_PART_BYTES * 1.4) / (PAYLOAD_CHARS * 0.76));

describe(`log cleanup of a part larger than one upload chunk, on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.stop());

  test('goes up as a multipart upload, is verified, and holds every row exactly', async () => {
    await stack.db.query(`insert into auth.users (id) values ($1)`, [USER]);
    const created = new Date(CUTOFF.getTime() - 86_400_000).toISOString();
    for (let i = 0; i < ROWS; i += 100) {
      const configs = Array.from({ length: Math.min(100, ROWS - i) }, () => JSON.stringify({ scope: 'all', blob: randomBytes((PAYLOAD_CHARS * 3) / 4).toString('base64') }));
      await stack.db.query(
        `insert into public.export_logs (export_id, user_id, "timestamp", format, config, conversation_count, status, error_message, created_at, updated_at)
         select gen_random_uuid(), $1, $2, 'json', c::jsonb, 1, 'failed', 'Big: payload', $2, $2 from unnest($3::text[]) c`,
        [USER, created, configs],
      );
    }
    const before = await snapshot(stack);
    const eligible = await eligibleIds(stack);
    expect(eligible).toHaveLength(ROWS);

    // The SDK's own middleware stack records which S3 operations the job sent.
    const deps = await jobDepsFor(stack, 'log-cleanup');
    const sent: string[] = [];
    const s3 = createS3Client(stack.env);
    deps.archive = new S3ArchiveStore(s3);
    s3.middlewareStack.add((next, context) => (args) => {
      sent.push(String(context.commandName));
      return next(args);
    }, { step: 'initialize' });
    const calls: RecordedCall[] = [];
    recordS3Calls(s3, calls);
    const result = await runJob(logCleanupJob, deps, { scheduledTime });
    expect(result.archive_bytes).toBeGreaterThan(UPLOAD_PART_BYTES);
    expect(sent.filter((c) => c === 'UploadPartCommand').length).toBeGreaterThanOrEqual(2);
    expect(sent.filter((c) => c === 'CompleteMultipartUploadCommand')).toHaveLength(1);
    // Each multipart call (and the KMS use S3 makes for it) is allowed for the deployed role.
    const { policies, jobs, archiveBucket, archiveKeyArn } = synthesizedPolicies();
    const requests = toTemplateRequests(calls, { role: jobs['log-cleanup'].roleId }, {
      buckets: { [stack.env.ARCHIVE_BUCKET]: archiveBucket }, bucketKeys: { [archiveBucket]: archiveKeyArn }, secrets: {},
    });
    expect(requests.map((r) => r.action)).toEqual(expect.arrayContaining(['s3:PutObject', 's3:GetObject', 'kms:GenerateDataKey', 'kms:Decrypt']));
    expect(await policies.denials(requests)).toEqual([]);

    const archive = await expectArchivedExactlyOnce(stack, before, eligible);
    expect(archive.dataKeys).toHaveLength(1);
  });
});
