/** The typed context every route sees: the services built once at start, and who is asking. */
import type { ChatService } from '../chat/chat-service.js';
import type { Logger } from '../logger.js';
import type { Metrics } from './metrics.js';

export type AppServices = { chat: ChatService; metrics: Metrics; log: Logger; version: string };

export type AppEnv = {
  Variables: {
    services: AppServices;
    requestId: string;
    userId: string;
    log: Logger;
  };
};
