/**
 * Who is asking: the `sub` of a valid HS256 bearer token when AUTH_JWT_SECRET is set; otherwise the
 * single local user (the server refuses to start in that mode on a non-loopback host). A 401 carries
 * `WWW-Authenticate: Bearer` (RFC 6750), with `error="invalid_token"` when a token was sent.
 */
import { createMiddleware } from 'hono/factory';
import { LOCAL_USER } from '../../chat/chat-service.js';
import { ChatError } from '../../errors.js';
import type { AppEnv } from '../app-context.js';
import { JwtError, verifyJwt } from './jwt.js';

export const authenticate = (secret: string | undefined) =>
  createMiddleware<AppEnv>(async (c, next) => {
    c.set('userId', userFrom(c.req.header('authorization'), secret));
    c.set('log', c.get('log').child({ userId: c.get('userId') }));
    await next();
  });

export function userFrom(authorization: string | undefined, secret: string | undefined): string {
  if (!secret) return LOCAL_USER;
  const token = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!token) {
    throw new ChatError('unauthorized', 'Sign in required: send Authorization: Bearer <token>.', {
      headers: { 'www-authenticate': 'Bearer realm="autochat"' },
    });
  }
  try {
    return verifyJwt(token, secret).sub;
  } catch (error) {
    throw new ChatError('unauthorized', error instanceof JwtError ? error.message : 'The token is not valid.', {
      headers: { 'www-authenticate': 'Bearer realm="autochat", error="invalid_token"' },
    });
  }
}
