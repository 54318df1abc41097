import { createLogCleanupJob } from '../../../lambdas/log-cleanup/job';
import { runJob } from '../../../lambdas/shared/job';
import type { LocalStack } from '../../../local/stack';
import { jobDepsFor } from '../../support/jobs';
import { databaseMode, startTestStack } from '../../support/stack';
import { archivedRows, eligibleIds, readArchive, s3Of, scheduledTime, seedHistory, snapshot } from './support';

describe(`a row changed between upload and delete, on ${databaseMode}`, () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
    await seedHistory(stack, 200);
  });
  afterAll(() => stack.stop());

  test('the delete refuses the stale part; it is written again with the new row and only then deleted', async () => {
    const eligible = await eligibleIds(stack);
    const { rows: [{ id: first }] } = await stack.db.query<{ id: string }>(
      'select id::text as id from public.export_logs where id = any($1::uuid[]) order by created_at, id limit 1', [eligible],
    );
    const deps = await jobDepsFor(stack, 'log-cleanup');
    let changed = false;
    // The app updates the first part's first row while the job verifies that part's upload.
    s3Of(deps).middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'HeadObjectCommand' && !changed) {
        changed = true;
        await stack.db.query(`update public.export_logs set error_message = 'changed after upload' where id = $1`, [first]);
      }
      return next(args);
    }, { step: 'initialize', name: 'changeRowDuringVerify' });

    const result = await runJob(createLogCleanupJob({ partRows: 30, pageRows: 10 }), deps, { scheduledTime });
    expect(changed).toBe(true);
    expect(result.deleted_count).toBe(eligible.length);
    expect(result.archived_count).toBeGreaterThan(eligible.length); // the stale part was written twice

    const archive = await readArchive(stack);
    const archived = await archivedRows(stack, archive.lines);
    expect(archived.get(first)).toMatch(/changed after upload/);
    expect(archive.lines.filter((l) => JSON.parse(l).id === first)).toHaveLength(1);
    expect(archived.size).toBe(eligible.length);
    const left = await snapshot(stack);
    expect(eligible.filter((id) => left.has(id))).toEqual([]);
  });
});
