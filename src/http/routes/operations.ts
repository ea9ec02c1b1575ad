/** Liveness, readiness, Prometheus metrics, and what the web UI needs to know about this server. */
import { Hono } from 'hono';
import type { AppEnv } from '../app-context.js';

export const operationsRoutes = new Hono<AppEnv>()
  .get('/healthz', (c) => c.json({ status: 'ok' }))
  .get('/readyz', async (c) => {
    const checks = await c.get('services').chat.ready();
    const ok = Object.values(checks).every(Boolean);
    return c.json({ status: ok ? 'ready' : 'unavailable', checks }, ok ? 200 : 503);
  })
  .get('/metrics', async (c) => {
    const { registry, activeRuns } = c.get('services').metrics;
    activeRuns.set(c.get('services').chat.activeRunCount());
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
