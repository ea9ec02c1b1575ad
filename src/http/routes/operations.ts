/** Liveness, readiness, Prometheus metrics, and what the web UI needs to know about this server. */
import { Hono } from 'hono';
import { OUTAGE_RETRY_AFTER_SECONDS } from '../../service-outage.js';
import type { AppEnv } from '../app-context.js';

export const operationsRoutes = new Hono<AppEnv>()
  .get('/healthz', (c) => c.json({ status: 'ok' }))
  .get('/readyz', async (c) => {
    const checks = await c.get('services').chat.ready();
    const ok = Object.values(checks).every(Boolean);
    if (ok) return c.json({ status: 'ready', checks }, 200);
    // Which backing service is down, by name, so an operator (or a probe's log) sees it at once.
    const down = (['database', 'redis'] as const).filter((service) => checks[service] === false);
    const reason = down.length > 0 ? `not answering: ${down.join(', ')}` : 'shutting down';
    return c.json({ status: 'unavailable', checks, down, reason }, 503, { 'retry-after': String(OUTAGE_RETRY_AFTER_SECONDS) });
  })
  .get('/metrics', async (c) => {
    const { registry, activeRuns, pendingSaves, pendingSaveBytes } = c.get('services').metrics;
    const { chat } = c.get('services');
    activeRuns.set(chat.activeRunCount());
    const pending = chat.pendingSaves();
    pendingSaves.set(pending.count);
    pendingSaveBytes.set(pending.bytes);
    return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType });
  });

export const infoRoute = new Hono<AppEnv>().get('/', (c) => {
  const { chat, version } = c.get('services');
  return c.json({
    version,
    demoModel: chat.demo,
    model: chat.chatModelId,
    authRequired: Boolean(chat.config.authJwtSecret),
    maxMessageChars: chat.config.limits.maxMessageChars,
  });
});
