import { createHandler } from '../shared/handler';
import { logCleanupJob } from './job';

/** Lambda entry: the schedule's `{"scheduledTime"}`, or a manual `dryRun` / `statsOnly` / `userId`. */
export const handler = createHandler(logCleanupJob);
