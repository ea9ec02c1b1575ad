/** Prometheus metrics of the service, in a registry of its own (several apps may share a process). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'autochat_' });
  return {
    registry,
    requests: new Counter({
      name: 'autochat_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'autochat_http_request_duration_seconds',
      help: 'HTTP request duration (for streams: until the response starts)',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    activeStreams: new Gauge({ name: 'autochat_active_streams', help: 'Open SSE responses', registers: [registry] }),
    activeRuns: new Gauge({ name: 'autochat_active_runs', help: 'Runs generating in this process', registers: [registry] }),
    runs: new Counter({
      name: 'autochat_runs_total',
      help: 'Runs ended, by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    runsContinued: new Counter({
      name: 'autochat_runs_continued_total',
      help: 'Runs taken over by this instance and continued after their own instance stopped mid-answer',
      registers: [registry],
    }),
    timeToFirstToken: new Histogram({
      name: 'autochat_time_to_first_token_seconds',
      help: 'From the stream request to the first text or tool event',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    upstreamErrors: new Counter({ name: 'autochat_upstream_errors_total', help: 'Runs that failed upstream', registers: [registry] }),
    feedback: new Counter({
      name: 'autochat_feedback_total',
      help: 'Feedback given on answers, by rating (up or down)',
      labelNames: ['rating'] as const,
      registers: [registry],
    }),
    pendingSaves: new Gauge({
      name: 'autochat_pending_saves',
      help: 'Ended answers this instance keeps until the database takes them (it was not answering)',
      registers: [registry],
    }),
    pendingSaveBytes: new Gauge({
      name: 'autochat_pending_save_bytes',
      help: 'Size of the answers kept until the database takes them (bounded by PENDING_SAVES_MAX_BYTES)',
      registers: [registry],
    }),
    pendingSaveRetries: new Counter({
      name: 'autochat_pending_save_retries_total',
      help: 'Attempts to store a kept answer that failed because the database was still not answering',
      registers: [registry],
    }),
    pendingSaveOverflows: new Counter({
      name: 'autochat_pending_save_overflows_total',
      help: 'Answers that could not be kept durably (PENDING_SAVES_MAX_BYTES reached, or their place was down): kept in memory only',
      registers: [registry],
    }),
    tokens: new Counter({
      name: 'autochat_tokens_total',
      help: 'Tokens used, by kind (prompt or completion)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
  };
}
