/**
 * Runs one autochat server as its own process for multi-instance tests: settings come from the
 * environment like `autochat serve`; prints `{"url": …}` on stdout once listening.
 */
import { startServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logger.js';

const server = await startServer({ logger: createLogger(process.env.LOG_LEVEL ?? 'silent', undefined) });
process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid })}\n`);
// Tests stop instances quickly unless they set SHUTDOWN_GRACE_MS themselves.
const graceMs = process.env.SHUTDOWN_GRACE_MS ? server.chat.config.shutdownGraceMs : 2000;
const stop = () => server.close(graceMs).then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
