/**
 * A user's sessions in the order they were made, for the export, which reads them a page at a time
 * after the last one it wrote (an order that a session's later activity cannot change). Migration
 * 0007 already made this index (descending, which serves both directions); a database that got here
 * without it gets it now.
 */
export const exportOrder = /* sql */ `
CREATE INDEX IF NOT EXISTS chat_sessions_user_created ON chat_sessions (user_id, created_at DESC, id DESC);
`;
