/**
 * A user's sessions in the order they were made, for the export, which reads them a page at a time
 * after the last one it wrote (an order that a session's later activity cannot change).
 */
export const exportOrder = /* sql */ `
CREATE INDEX chat_sessions_user_created ON chat_sessions (user_id, created_at, id);
`;
