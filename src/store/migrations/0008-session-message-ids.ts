/**
 * Message ids belong to their session: the key of `chat_messages` becomes (session_id, id), so one
 * user's ids tell another nothing and unrelated sessions never collide. The two run functions of
 * migration 0005 are replaced to look a message id up within its session only:
 *
 * autochat_begin_run: the "stored nowhere yet" check becomes "stored in this session not yet".
 * autochat_end_run: the answer's insert resolves conflicts on (session_id, id).
 */
export const sessionMessageIds = /* sql */ `
ALTER TABLE chat_messages DROP CONSTRAINT chat_messages_pkey;
ALTER TABLE chat_messages ADD CONSTRAINT chat_messages_pkey PRIMARY KEY (session_id, id);
CREATE OR REPLACE FUNCTION autochat_begin_run(p_message text, p_session uuid, p_user text, p_run uuid, p_owner text,
  p_lease interval, p_parts text)
RETURNS TABLE (session_title text, session_summary text, summary_seq integer, history text)
LANGUAGE plpgsql AS $$
DECLARE
  claimed record;
BEGIN
  IF EXISTS (SELECT 1 FROM chat_messages WHERE session_id = p_session AND id = p_message) THEN
    RETURN;
  END IF;
  UPDATE chat_sessions s SET status = 'running', active_run_id = p_run, updated_at = now()
    WHERE s.id = p_session AND s.user_id = p_user AND s.status = 'idle'
    RETURNING s.title, s.summary, s.summary_through_seq INTO claimed;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  INSERT INTO chat_runs (id, session_id, user_id, owner, lease_expires_at)
    VALUES (p_run, p_session, p_user, p_owner, now() + p_lease);
  RETURN QUERY SELECT claimed.title, claimed.summary, claimed.summary_through_seq,
    (SELECT coalesce(json_agg(json_build_array(m.id, m.role, m.parts, m.metadata, m.created_at) ORDER BY m.seq), '[]')::text
      FROM chat_messages m WHERE m.session_id = p_session);
  INSERT INTO chat_messages (id, session_id, seq, role, parts, run_id)
    VALUES (p_message, p_session,
      (SELECT coalesce(max(m.seq), -1) + 1 FROM chat_messages m WHERE m.session_id = p_session), 'user', p_parts, p_run);
END
$$;
CREATE OR REPLACE FUNCTION autochat_end_run(p_run uuid, p_session uuid, p_user text, p_status text, p_reason text,
  p_message text, p_role text, p_parts text, p_metadata text, p_usage jsonb)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE chat_runs r SET status = p_status, reason = p_reason, ended_at = now(), checkpoint = NULL
    WHERE r.id = p_run AND r.status = 'running';
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  IF p_message IS NOT NULL THEN
    INSERT INTO chat_messages (id, session_id, seq, role, parts, metadata, run_id)
      VALUES (p_message, p_session,
        (SELECT coalesce(max(m.seq), -1) + 1 FROM chat_messages m WHERE m.session_id = p_session), p_role, p_parts, p_metadata, p_run)
      ON CONFLICT (session_id, id) DO NOTHING;
  END IF;
  INSERT INTO usage_events (user_id, session_id, run_id, kind, model, prompt_tokens, completion_tokens, total_tokens, cost_usd, estimated)
    SELECT p_user, p_session, p_run, u.kind, u.model, u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cost_usd, u.estimated
    FROM jsonb_to_recordset(p_usage) AS u(kind text, model text, prompt_tokens integer, completion_tokens integer,
      total_tokens integer, cost_usd numeric, estimated boolean);
  UPDATE chat_sessions s SET status = 'idle', active_run_id = NULL, last_run_status = p_status, updated_at = now()
    WHERE s.id = p_session AND s.active_run_id = p_run;
  RETURN true;
END
$$;
`;
