/**
 * Agent executions hold a budget reservation as chat runs do (migration 0007): admission counts what
 * running answers and live executions hold together, so several started at once cannot together spend
 * past the budget.
 *
 * - `agent_executions.reserved_tokens`: the execution's estimate, held while it is `queued` or
 *   `running`; its end (one transition, whichever instance makes it) releases it.
 * - `autochat_budget_refusal`: also counts the reservations of the user's live executions.
 * - `autochat_start_execution`: takes the reservation (`p_reserve`) and stores it with the insert, in
 *   the statement that checked the budget under the user's advisory lock.
 */
export const executionReservations = /* sql */ `
ALTER TABLE agent_executions ADD COLUMN reserved_tokens integer NOT NULL DEFAULT 0 CHECK (reserved_tokens >= 0);

CREATE OR REPLACE FUNCTION autochat_budget_refusal(p_user text, p_subject text, p_daily_limit bigint, p_weekly_limit bigint,
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
  SELECT coalesce(sum(r.reserved_tokens), 0)
      + (SELECT coalesce(sum(x.reserved_tokens), 0) FROM agent_executions x
         WHERE x.user_id = p_user AND x.status IN ('queued', 'running'))
    INTO held FROM chat_runs r WHERE r.user_id = p_user AND r.status = 'running';
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

DROP FUNCTION autochat_start_execution(uuid, text, text, text, text, text, interval, integer, text, bigint, bigint, timestamptz, timestamptz);

CREATE FUNCTION autochat_start_execution(p_id uuid, p_user text, p_slug text, p_name text, p_inputs text,
  p_owner text, p_lease interval, p_max_live integer,
  p_subject text, p_daily_limit bigint, p_weekly_limit bigint, p_day timestamptz, p_week timestamptz, p_reserve integer)
RETURNS TABLE (refused text, daily_used bigint, weekly_used bigint, reserved bigint, live integer)
LANGUAGE plpgsql AS $$
DECLARE
  budget record;
  n integer;
BEGIN
  IF p_daily_limit > 0 OR p_weekly_limit > 0 THEN
    SELECT * INTO budget FROM autochat_budget_refusal(p_user, p_subject, p_daily_limit, p_weekly_limit, p_day, p_week);
    IF budget.refused IS NOT NULL THEN
      RETURN QUERY SELECT budget.refused, budget.daily_used, budget.weekly_used, budget.reserved, NULL::integer;
      RETURN;
    END IF;
  ELSE
    PERFORM pg_advisory_xact_lock(7301992, hashtext(p_user));
  END IF;
  SELECT count(*)::integer INTO n FROM agent_executions e WHERE e.user_id = p_user AND e.status IN ('queued', 'running');
  IF n >= p_max_live THEN
    RETURN QUERY SELECT 'executions'::text, NULL::bigint, NULL::bigint, NULL::bigint, n;
    RETURN;
  END IF;
  INSERT INTO agent_executions (id, user_id, slug, agent_name, inputs, owner, lease_expires_at, reserved_tokens)
    VALUES (p_id, p_user, p_slug, p_name, p_inputs, p_owner, now() + p_lease, greatest(p_reserve, 0));
  RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, n + 1;
END
$$;
`;
