/**
 * What an HTTP/1.1 client gets when its request cannot reach the app: too slow (408, the headers or
 * body deadline passed), headers too large (431), or not HTTP at all (400). Node writes a bare status
 * line for these; this writes the API's JSON error shape instead — only when no response has begun on
 * the connection, since anything written then would corrupt it — and closes the connection.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ServerType } from '@hono/node-server';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { errorBody } from './middleware/errors.js';

export function answerClientErrors(server: ServerType, limits: { headersTimeoutMs: number; bodyTimeoutMs: number }, log: Logger): void {
  const responses = new WeakMap<object, ServerResponse>();
  server.on('request', (request: IncomingMessage, response: ServerResponse) => responses.set(request.socket, response));
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const response = responses.get(socket);
    if (error.code === 'ECONNRESET' || !socket.writable || (response && !response.writableFinished)) {
      socket.destroy();
      return;
    }
    const [status, code, message] = answerTo(error.code, limits);
    const requestId = randomUUID();
    log.info({ requestId, status, reason: error.code }, 'request refused before it reached the app');
    const body = JSON.stringify(errorBody(code, message, requestId));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
    );
    // A client that keeps sending would hold the half-closed socket open.
    socket.setTimeout(1000, () => socket.destroy());
  });
}

function answerTo(reason: string | undefined, limits: { headersTimeoutMs: number; bodyTimeoutMs: number }): [number, ErrorCode, string] {
  switch (reason) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [
        408,
        'request_timeout',
        `The request did not arrive in time: its headers must arrive within ${seconds(limits.headersTimeoutMs)} and its body within ${seconds(limits.bodyTimeoutMs)} after them.`,
      ];
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'payload_too_large', 'The request headers are too large.'];
    default:
      return [400, 'invalid_request', 'The request is not valid HTTP/1.1.'];
  }
}

const seconds = (ms: number) => (ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`);
