/**
 * A person's feedback on an answer: thumbs up or down with an optional comment (sealed like message
 * content). One row per message of a session; saying it again replaces it. It goes with its session.
 */
export const messageFeedback = /* sql */ `
CREATE TABLE message_feedback (
  session_id uuid NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
  message_id text NOT NULL,
  user_id text NOT NULL,
  rating text NOT NULL CHECK (rating IN ('up', 'down')),
  comment text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (session_id, message_id)
);
CREATE INDEX message_feedback_user ON message_feedback (user_id);
`;
