import { createHandler } from '../shared/handler';
import { fileCleanupJob } from './job';

/** EventBridge Scheduler target: `{"scheduledTime": "<ISO>"}`, or a manual `{dryRun, maxFiles}`. */
export const handler = createHandler(fileCleanupJob);
