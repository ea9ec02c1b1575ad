/**
 * Starts autochat as a network service: the chat service, the HTTP app, and a Node server (HTTPS with
 * HTTP/2 when TLS files are configured). SIGTERM/SIGINT stop it gracefully: no new connections,
 * running answers get a grace period to finish, the rest are stopped with their partial answers
 * stored, then the database closes.
 */
import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { configOf, createChatService, type ChatServiceOptions } from '../chat/chat-service.js';
import { isLoopbackHost } from '../config.js';
import { version } from '../version.js';
import type { AppEnv } from './app-context.js';
import { createApp } from './app.js';
import { createMetrics } from './metrics.js';

export type RunningServer = {
  url: string;
  port: number;
  chat: Awaited<ReturnType<typeof createChatService>>;
  app: Hono<AppEnv>;
  close(graceMs?: number): Promise<void>;
};

export type ServerOptions = ChatServiceOptions & {
  /** Builds the MCP endpoint, given the chat service (kept optional so the core has no MCP dependency). */
  mcp?: (chat: Awaited<ReturnType<typeof createChatService>>) => Hono<AppEnv>;
};

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const { mcp, ...serviceOptions } = options;
  const settings = configOf(serviceOptions);
  if (!settings.authJwtSecret && !isLoopbackHost(settings.host)) {
    throw new Error(
      `Refusing to listen on ${settings.host} without AUTH_JWT_SECRET: single-user local mode is only allowed on a loopback address. Set AUTH_JWT_SECRET, or HOST=127.0.0.1.`,
    );
  }
  const chat = await createChatService(serviceOptions);
  const { config, log } = chat;
  const metrics = createMetrics();
  chat.hooks.runStarted = () => metrics.activeRuns.inc();
  chat.hooks.runEnded = (outcome) => {
    metrics.activeRuns.dec();
    metrics.runs.inc({ outcome });
    if (outcome === 'failed') metrics.upstreamErrors.inc();
  };
  chat.hooks.saveRetryFailed = () => metrics.pendingSaveRetries.inc();
  chat.hooks.saveOverflowed = () => metrics.pendingSaveOverflows.inc();
  chat.hooks.tokensUsed = (usage) => {
    for (const entry of usage) {
      metrics.tokens.inc({ kind: 'prompt' }, entry.promptTokens);
      metrics.tokens.inc({ kind: 'completion' }, entry.completionTokens);
    }
  };
  const app = createApp({ chat, metrics, log, version }, { tls: Boolean(config.tls), mcp: mcp?.(chat) });

  const server: ServerType = await new Promise((resolve, reject) => {
    const tls = config.tls
      ? { key: readFileSync(config.tls.keyFile), cert: readFileSync(config.tls.certFile), allowHTTP1: true, minVersion: 'TLSv1.2' as const }
      : undefined;
    const created = serve(
      {
        fetch: app.fetch,
        port: config.port,
        hostname: config.host,
        ...(tls ? { createServer: createSecureServer, serverOptions: tls } : {}),
      },
      () => resolve(created),
    );
    created.once('error', reject);
  });
  // Long-lived streams must not be cut by Node's request timeouts; heartbeats keep proxies awake.
  if ('requestTimeout' in server) server.requestTimeout = 0;
  if ('headersTimeout' in server) server.headersTimeout = 30_000;

  const port = (server.address() as AddressInfo).port;
  const url = `${config.tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info({ url, database: chat.databaseKind, streams: chat.eventLog.kind, demoModel: chat.demo }, 'autochat listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    chat,
    app,
    close(graceMs = 0) {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await chat.close(graceMs);
        if ('closeAllConnections' in server) server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

/** Stops the server on SIGTERM/SIGINT, giving running answers `graceMs` to finish. */
export function closeOnSignals(server: RunningServer, graceMs = 10_000): void {
  let signalled = false;
  const stop = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(1);
    signalled = true;
    server.chat.log.info({ signal }, 'shutting down');
    server.close(graceMs).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
