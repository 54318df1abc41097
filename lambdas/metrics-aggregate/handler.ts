import { createHandler } from '../shared/handler';
import { metricsAggregateJob } from './job';

/** Lambda entry point for the hourly schedule (`{"scheduledTime"}`) and manual invokes. */
export const handler = createHandler(metricsAggregateJob);
