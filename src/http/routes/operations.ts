/** Liveness, readiness, Prometheus metrics, the OpenAPI document, and what the web UI needs to know about this server. */
import { z } from 'zod';
import { OUTAGE_RETRY_AFTER_SECONDS } from '../../service-outage.js';
import type { OpenApiDocument } from '../openapi-document.js';
import { defineRoute } from '../route-definition.js';
import { healthResponse, infoResponse, notReadyResponse, readyResponse } from '../schemas.js';

const openApiShape = z
  .object({
    openapi: z.literal('3.1.0'),
    info: z.object({ title: z.string(), version: z.string() }).loose(),
    paths: z.record(z.string(), z.unknown()),
  })
  .loose();

/** The routes; `document` gives the OpenAPI document of the whole app. */
export const operationsRoutes = (document: () => OpenApiDocument) => [
  defineRoute({
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    summary: 'Liveness: the process answers',
    tags: ['operations'],
    security: [],
    responses: { 200: { description: 'Alive.', content: { 'application/json': healthResponse } } },
    handler: (c) => c.json({ status: 'ok' }),
  }),
  defineRoute({
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    summary: 'Readiness: the instance takes new runs, the database (and Redis, when configured) answer',
    tags: ['operations'],
    security: [],
    responses: {
      200: { description: 'Ready.', content: { 'application/json': readyResponse } },
      503: {
        description: 'Not ready: `down` names the backing services that do not answer (empty while shutting down).',
        content: { 'application/json': notReadyResponse },
        headers: ['retry-after'],
      },
    },
    handler: async (c) => {
      const checks = await c.get('services').status.ready();
      const ok = Object.values(checks).every(Boolean);
      if (ok) return c.json({ status: 'ready', checks }, 200);
      // Which backing service is down, by name, so an operator (or a probe's log) sees it at once.
      const down = (['database', 'redis'] as const).filter((service) => checks[service] === false);
      const reason = down.length > 0 ? `not answering: ${down.join(', ')}` : 'shutting down';
      return c.json({ status: 'unavailable', checks, down, reason }, 503, { 'retry-after': String(OUTAGE_RETRY_AFTER_SECONDS) });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    tags: ['operations'],
    security: [],
    responses: { 200: { description: 'Prometheus text format (see docs/operations.md).', content: { 'text/plain': z.string() } } },
    handler: async (c) => {
      const { registry, activeRuns, pendingSaves, pendingSaveBytes } = c.get('services').metrics;
      const { status } = c.get('services');
      activeRuns.set(status.activeRunCount());
      const pending = status.pendingSaves();
      pendingSaves.set(pending.count);
      pendingSaveBytes.set(pending.bytes);
      return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This document',
    tags: ['operations'],
    security: [],
    responses: { 200: { description: 'The OpenAPI 3.1 document of this server.', content: { 'application/json': openApiShape } } },
    handler: (c) => c.json(document()),
  }),
  defineRoute({
    method: 'get',
    path: '/api/info',
    operationId: 'getInfo',
    summary: 'Server facts for clients: version, demo model, whether a token is required, the message length limit',
    tags: ['operations'],
    security: [],
    responses: { 200: { description: 'The facts.', content: { 'application/json': infoResponse } } },
    handler: (c) => {
      const { status, config, version } = c.get('services');
      return c.json({
        version,
        demoModel: status.demo,
        model: status.chatModelId,
        authRequired: Boolean(config.authJwtSecret),
        maxMessageChars: config.limits.maxMessageChars,
      });
    },
  }),
];
