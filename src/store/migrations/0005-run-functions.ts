/**
 * The two statements of every turn as SQL functions: PL/pgSQL keeps their plans per connection, so
 * they are planned once rather than on every call (on PGlite that about halves their cost; figures in
 * BENCHMARKS.md). Each is one statement for the caller, atomic as a transaction.
 *
 * autochat_begin_run: for a message id stored nowhere yet, claims the idle session the user owns,
 * records the run, returns the session's title, summary and history (before the message) and stores
 * the message. Returns no row, and writes nothing, when it cannot claim.
 *
 * autochat_end_run: moves a running run to its outcome, stores the answer (if any) and the usage rows,
 * and frees the session. Returns false, writing nothing, if the run was not running.
 */
export const runFunctions = /* sql */ `
CREATE FUNCTION autochat_begin_run(p_message text, p_session uuid, p_user text, p_run uuid, p_owner text,
  p_lease interval, p_parts text)
RETURNS TABLE (session_title text, session_summary text, summary_seq integer, history text)
LANGUAGE plpgsql AS $$
DECLARE
  claimed record;
BEGIN
  IF EXISTS (SELECT 1 FROM chat_messages WHERE id = p_message) THEN
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
CREATE FUNCTION autochat_end_run(p_run uuid, p_session uuid, p_user text, p_status text, p_reason text,
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
      ON CONFLICT (id) DO NOTHING;
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
