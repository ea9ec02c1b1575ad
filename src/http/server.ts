/**
 * Starts autochat as a network service: the chat service, the HTTP app, and a Node server (HTTPS with
 * HTTP/2 when TLS files are configured). SIGTERM/SIGINT stop it gracefully: readiness fails and new
 * messages are refused at once, running answers get a grace period (SHUTDOWN_GRACE_MS) to finish,
 * the rest are handed on to another instance to continue (or stopped, with their partial answers
 * stored, where none can), open streams send their last events, then the database closes.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { type ChatRuntime, type ChatServiceOptions, configOf, createChatService, type RunEventsHook } from '../chat/chat-service.js';
import { isLoopbackHost } from '../config.js';
import { createLogger } from '../logger.js';
import { version } from '../version.js';
import { type AppEnv, appServicesOf } from './app-context.js';
import { createApp } from './app.js';
import { answerClientErrors } from './client-errors.js';
import { createMetrics, type Metrics } from './metrics.js';
import { errorBody } from './middleware/errors.js';

/** At shutdown, how long open responses get to finish at least, even with no grace period. */
const FLUSH_MS = 1000;

/**
 * After handing answers on to other instances, how long this one's readers may go on following them
 * (from the shared log) to their end, so they need not reconnect: the stop timeout to give an
 * orchestrator is SHUTDOWN_GRACE_MS plus this.
 */
const HANDED_ON_FOLLOW_MS = 30_000;

export type RunningServer = {
  url: string;
  port: number;
  chat: ChatRuntime;
  app: Hono<AppEnv>;
  close(graceMs?: number): Promise<void>;
};

export type ServerOptions = ChatServiceOptions & {
  /** Builds the MCP endpoint, given the chat service (kept optional so the core has no MCP dependency). */
  mcp?: (chat: ChatRuntime) => Hono<AppEnv>;
  /** Where the built web UI is (default: beside the server code); `false` serves none. */
  webRoot?: string | false;
};

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const { mcp, webRoot, ...serviceOptions } = options;
  const settings = configOf(serviceOptions);
  if (!settings.authJwtSecret && !isLoopbackHost(settings.host)) {
    throw new Error(
      `Refusing to listen on ${settings.host} without AUTH_JWT_SECRET: single-user local mode is only allowed on a loopback address. Set AUTH_JWT_SECRET, or HOST=127.0.0.1.`,
    );
  }
  // The server logs on stdout (a library user's program gets them on stderr, see createChatService).
  const metrics = createMetrics();
  const chat = await createChatService({
    ...serviceOptions,
    logger: serviceOptions.logger ?? createLogger(settings.logLevel),
    events: metricsEvents(metrics),
  });
  const { config, log } = chat;
  const app = createApp(appServicesOf(chat, { metrics, version }), { tls: Boolean(config.tls), mcp: mcp?.(chat), webRoot });

  const { headersTimeoutMs, bodyTimeoutMs } = config.limits;
  // Node's deadlines end a request that has not fully arrived: headers within headersTimeoutMs of
  // its first byte, the whole request soon after the body's own deadline (which the app keeps, to
  // answer in the error shape; this one ends bodies the app never reads). They never cut a response,
  // so long-lived streams are unaffected.
  const timeouts = {
    headersTimeout: headersTimeoutMs,
    requestTimeout: headersTimeoutMs + bodyTimeoutMs + 1000,
    connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.floor(Math.min(headersTimeoutMs, bodyTimeoutMs) / 4))),
  };
  let disconnecting = false;
  const server: ServerType = await new Promise((resolve, reject) => {
    const tls = config.tls
      ? { key: readFileSync(config.tls.keyFile), cert: readFileSync(config.tls.certFile), allowHTTP1: true, minVersion: 'TLSv1.2' as const }
      : undefined;
    const created = serve(
      {
        // Once the database is closing, whatever still arrives is told to go elsewhere, not failed.
        fetch: (request, env) => (disconnecting ? shuttingDown() : app.fetch(request, env)),
        port: config.port,
        hostname: config.host,
        ...(tls ? { createServer: createSecureServer, serverOptions: tls } : { serverOptions: timeouts }),
      },
      () => resolve(created),
    );
    created.once('error', reject);
  });
  if (config.tls) {
    // The HTTPS server takes these as properties only (HTTP/1.1 connections; it checks every 30 s).
    Object.assign(server, { headersTimeout: timeouts.headersTimeout, requestTimeout: timeouts.requestTimeout });
  }
  answerClientErrors(server, config.limits, log);

  const port = (server.address() as AddressInfo).port;
  const url = `${config.tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info({ url, database: chat.databaseKind, streams: chat.eventLog.kind, demoModel: chat.demo }, 'autochat listening');

  // Responses not yet fully written, so shutdown lets the last events of an answer reach its reader.
  const responses = new Set<{ once(event: 'close', listener: () => void): unknown }>();
  let responsesDone: (() => void) | undefined;
  server.on('request', (_request: unknown, response: { once(event: 'close', listener: () => void): unknown }) => {
    responses.add(response);
    response.once('close', () => {
      responses.delete(response);
      // While stopping, a connection is closed as soon as its response ends, so that a load balancer
      // does not send it another request.
      if (closing && 'closeIdleConnections' in server) server.closeIdleConnections();
      if (responses.size === 0) responsesDone?.();
    });
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    chat,
    app,
    close(graceMs = 0) {
      closing ??= (async () => {
        const deadline = Date.now() + graceMs;
        // The listener stays open while answers drain: /readyz answers 503 (so a load balancer takes
        // this instance out by its health check, not by a refused connection), new messages get 503
        // with Retry-After, and a reader re-attaching to a running answer is still served.
        await chat.drain(graceMs);
        // The runs are over (or handed on); their readers still send the last events. Wait for them (a
        // reader of a run on another instance may wait longer: it is cut at the deadline, or when the
        // follow time of handed-on answers is over, and resumes elsewhere).
        if (responses.size > 0) {
          let timer: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            responsesDone = resolve;
            const follow = chat.handedOnCount() > 0 ? HANDED_ON_FOLLOW_MS : 0;
            timer = setTimeout(resolve, Math.max(FLUSH_MS, deadline - Date.now(), follow));
          });
          clearTimeout(timer);
        }
        disconnecting = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await chat.close();
        if ('closeAllConnections' in server) server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

/** The service's runs as the metrics count them. */
function metricsEvents(metrics: Metrics): RunEventsHook {
  return {
    runStarted: () => metrics.activeRuns.inc(),
    runEnded: (outcome) => {
      metrics.activeRuns.dec();
      metrics.runs.inc({ outcome });
      if (outcome === 'failed') metrics.upstreamErrors.inc();
    },
    runContinued: () => metrics.runsContinued.inc(),
    runPaused: () => metrics.activeRuns.dec(),
    waitingRunEnded: () => metrics.runs.inc({ outcome: 'stopped' }),
    saveRetryFailed: () => metrics.pendingSaveRetries.inc(),
    saveOverflowed: () => metrics.pendingSaveOverflows.inc(),
    tokensUsed: (usage) => {
      for (const entry of usage) {
        metrics.tokens.inc({ kind: 'prompt' }, entry.promptTokens);
        metrics.tokens.inc({ kind: 'completion' }, entry.completionTokens);
      }
    },
    feedbackGiven: (rating) => metrics.feedback.inc({ rating }),
  };
}

/** The answer to a request that reaches an instance after it started to disconnect (a load balancer retries it). */
function shuttingDown(): Response {
  const requestId = randomUUID();
  const body = errorBody('upstream_unavailable', 'The server is shutting down. Please try again in a moment.', requestId);
  return Response.json(body, { status: 503, headers: { 'x-request-id': requestId, 'retry-after': '2', connection: 'close' } });
}

/** Stops the server on SIGTERM/SIGINT, giving running answers `graceMs` (SHUTDOWN_GRACE_MS) to finish. */
export function closeOnSignals(server: RunningServer, graceMs = server.chat.config.shutdownGraceMs): void {
  let signalled = false;
  const stop = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(1);
    signalled = true;
    server.chat.log.info({ signal, graceMs }, 'shutting down');
    server.close(graceMs).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
