/**
 * What operator mistakes and concurrency must not break:
 *
 * - `autochat_settings`: values of this deployment, such as the salt of anonymous usage subjects.
 * - `autochat_key_checks`: one row per encryption key that content was ever written with, holding a
 *   known text sealed under that key, so a start with the wrong key is refused before anything is
 *   written (docs/operations.md, "Encryption keys and rotation"). Keys found in data written before
 *   this migration are listed without a check; the first start that has the key adds it.
 * - `erased_usage`: the tokens an erased user spent per UTC day, under a one-way hash of the user id,
 *   so erasure does not reset a budget; rows older than a budget week are deleted.
 * - `chat_sessions_user_created`: the export pages through a user's sessions by creation time.
 * - `chat_runs.reserved_tokens`: what a running answer may still spend, counted by admission until
 *   the run ends (when its usage rows replace it, in the same statement).
 * - `autochat_budget_refusal`: the budget check, serialised per user across instances by an advisory
 *   lock held to the end of the caller's transaction; counts stored usage, erased usage and the
 *   reservations of running runs.
 * - `autochat_admit_run`: the budget check, then `autochat_begin_run` (migration 0005, unchanged),
 *   then the reservation, as one statement: admission and claim are atomic together.
 */
export const keysAndBudgets = /* sql */ `
CREATE TABLE autochat_settings (
  name text PRIMARY KEY,
  value text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE autochat_key_checks (
  key_id text PRIMARY KEY,
  sealed_check text,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO autochat_key_checks (key_id)
SELECT DISTINCT split_part(sealed.value, ':', 2) FROM (
  SELECT parts AS value FROM chat_messages WHERE parts LIKE 'enc1:%'
  UNION ALL SELECT metadata FROM chat_messages WHERE metadata LIKE 'enc1:%'
  UNION ALL SELECT title FROM chat_sessions WHERE title LIKE 'enc1:%'
  UNION ALL SELECT summary FROM chat_sessions WHERE summary LIKE 'enc1:%'
  UNION ALL SELECT checkpoint FROM chat_runs WHERE checkpoint LIKE 'enc1:%'
) AS sealed;

CREATE TABLE erased_usage (
  subject text NOT NULL,
  day date NOT NULL,
  total_tokens bigint NOT NULL CHECK (total_tokens >= 0),
  PRIMARY KEY (subject, day)
);
CREATE INDEX erased_usage_day ON erased_usage (day);

CREATE INDEX chat_sessions_user_created ON chat_sessions (user_id, created_at DESC, id DESC);

ALTER TABLE chat_runs ADD COLUMN reserved_tokens integer NOT NULL DEFAULT 0 CHECK (reserved_tokens >= 0);
CREATE INDEX chat_runs_running_user ON chat_runs (user_id) WHERE status = 'running';

CREATE FUNCTION autochat_budget_refusal(p_user text, p_subject text, p_daily_limit bigint, p_weekly_limit bigint,
  p_day timestamptz, p_week timestamptz)
RETURNS TABLE (refused text, daily_used bigint, weekly_used bigint, reserved bigint)
LANGUAGE plpgsql AS $$
DECLARE
  d bigint;
  w bigint;
  held bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(7301992, hashtext(p_user));
  SELECT coalesce(sum(u.total_tokens) FILTER (WHERE u.created_at >= p_day), 0), coalesce(sum(u.total_tokens), 0) INTO d, w
    FROM usage_events u WHERE u.user_id = p_user AND u.created_at >= p_week;
  SELECT d + coalesce(sum(e.total_tokens) FILTER (WHERE e.day >= (p_day AT TIME ZONE 'UTC')::date), 0),
      w + coalesce(sum(e.total_tokens), 0) INTO d, w
    FROM erased_usage e WHERE e.subject = p_subject AND e.day >= (p_week AT TIME ZONE 'UTC')::date;
  SELECT coalesce(sum(r.reserved_tokens), 0) INTO held FROM chat_runs r WHERE r.user_id = p_user AND r.status = 'running';
  daily_used := d;
  weekly_used := w;
  reserved := held;
  IF p_daily_limit > 0 AND d + held >= p_daily_limit THEN
    refused := 'daily';
  ELSIF p_weekly_limit > 0 AND w + held >= p_weekly_limit THEN
    refused := 'weekly';
  END IF;
  RETURN NEXT;
END
$$;

CREATE FUNCTION autochat_admit_run(p_message text, p_session uuid, p_user text, p_run uuid, p_owner text,
  p_lease interval, p_parts text, p_subject text, p_daily_limit bigint, p_weekly_limit bigint, p_day timestamptz,
  p_week timestamptz, p_reserve integer, p_context integer)
RETURNS TABLE (refused text, daily_used bigint, weekly_used bigint, reserved bigint, session_title text,
  session_summary text, summary_seq integer, history text)
LANGUAGE plpgsql AS $$
DECLARE
  budget record;
  begun record;
BEGIN
  IF p_daily_limit > 0 OR p_weekly_limit > 0 THEN
    SELECT * INTO budget FROM autochat_budget_refusal(p_user, p_subject, p_daily_limit, p_weekly_limit, p_day, p_week);
    IF budget.refused IS NOT NULL THEN
      RETURN QUERY SELECT budget.refused, budget.daily_used, budget.weekly_used, budget.reserved,
        NULL::text, NULL::text, NULL::integer, NULL::text;
      RETURN;
    END IF;
  END IF;
  FOR begun IN SELECT * FROM autochat_begin_run(p_message, p_session, p_user, p_run, p_owner, p_lease, p_parts) LOOP
    UPDATE chat_runs SET reserved_tokens = p_reserve + least(p_context, length(begun.history) / 4) WHERE id = p_run;
    RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::bigint, NULL::bigint,
      begun.session_title, begun.session_summary, begun.summary_seq, begun.history;
  END LOOP;
END
$$;
`;
