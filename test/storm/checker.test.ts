import { stormJob } from '../../storm/storm';
import { databaseMode } from '../support/stack';

/**
 * The crash storm's control: against a deliberately broken file cleanup (rows marked expired
 * before their files are removed: STORM_BROKEN, read only by the storm's child) the storm's
 * checker must report "expired while file stored"; against the real job, nothing. A real
 * server only (the storm creates a scratch database per job), so in the PGlite pass it is
 * skipped under a name saying so. A few kills: CI's short storm (.ci/run) does the rest.
 */
const serverUrl = process.env.DATABASE_URL;
const describeOnServer = serverUrl ? describe : describe.skip;
const mode = serverUrl ? databaseMode : `${databaseMode}: skipped, needs DATABASE_URL (the storm runs the jobs as child processes on a PostgreSQL server)`;

describeOnServer(`crash storm checker (${mode})`, () => {
  jest.setTimeout(300_000);

  it('catches a file cleanup that marks rows expired before removing their files', async () => {
    // Kills drawn from the whole run, so some land between a batch's mark and its remove().
    const report = await stormJob('file-cleanup', { serverUrl: serverUrl!, kills: 3, seed: 1, size: 500, broken: 'mark-before-remove' });
    expect(report.midWorkKills).toBeGreaterThanOrEqual(1);
    expect(report.problems.get('expired while file stored (right after a kill)')).toBeGreaterThan(0);
    expect(report.problems.get('due file still stored at the end')).toBeGreaterThan(0);
    expect(report.ok).toBe(false);
  });

  it('finds nothing wrong with the real file cleanup under the same kills', async () => {
    const report = await stormJob('file-cleanup', { serverUrl: serverUrl!, kills: 2, seed: 1, size: 1000 });
    expect(report.midWorkKills).toBeGreaterThanOrEqual(1);
    expect([...report.problems.keys()]).toEqual([]);
    expect(report.failedReruns).toBe(0);
    expect(report.lost).toBe(0);
    expect(report.ok).toBe(true);
  });
});
