/** Who owns a session: the check every call on a user's session makes first (another user's session is `not_found`, never `forbidden`). */
import { notFound } from '../errors.js';
import type { SessionsRepository } from '../store/sessions-repository.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

/** The session's row when it exists and `userId` (if given) owns it; `not_found` otherwise. */
export async function ownedSession(sessions: Pick<SessionsRepository, 'findRow'>, sessionId: string, userId?: string) {
  const row = isUuid(sessionId) ? await sessions.findRow(sessionId) : undefined;
  if (!row || (userId !== undefined && row.userId !== userId)) throw notFound();
  return row;
}
