import { jobIdOf, requirePayload, type JobHandlers } from '../../platform/queue/processing.ts';
import { JOBS } from '../../platform/queue/queue-definitions.ts';
import { isAnalyticsEvent, type AnalyticsService } from './analytics.service.ts';

export function analyticsProcessors(service: AnalyticsService): JobHandlers {
  return {
    [JOBS.updateAnalytics]: async (job) => ({ applied: await service.apply(jobIdOf(job), requirePayload(job, isAnalyticsEvent), new Date(job.timestamp)) }),
  };
}
