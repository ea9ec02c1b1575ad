/** Builds a chat service or a running server for a test, isolated from the machine's environment. */
import { createChatService, type ChatServiceOptions } from '../../src/chat/chat-service.js';
import { startServer, type ServerOptions } from '../../src/http/server.js';
import { createLogger } from '../../src/logger.js';

/** Options shared by test services: no env leakage, quiet logs, generous limits unless a test sets them. */
export function testOptions(options: ChatServiceOptions = {}): ChatServiceOptions {
  return {
    env: {},
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    demoDelayMs: 1,
    ...options,
    llm: { maxRetries: 0, ...options.llm },
    limits: { requestsPerMinute: 0, ...options.limits },
  };
}

/** Options that point the service at a fake upstream. */
export function upstreamOptions(url: string, options: ChatServiceOptions = {}): ChatServiceOptions {
  return testOptions({
    ...options,
    llm: { apiKey: 'test-key', baseUrl: url, chatModel: 'test/chat', titleModel: 'test/title', ...options.llm },
  });
}

export const createTestService = (options: ChatServiceOptions = {}) => createChatService(testOptions(options));

export const startTestServer = (options: ServerOptions = {}) => startServer({ port: 0, host: '127.0.0.1', ...testOptions(options) });
