/**
 * Agents you can run: the catalog keeps each agent's runnable definition (so the database, not the
 * shipped file, is the source), and `agent_executions` records every run of an agent — who ran it,
 * its inputs and output (sealed like message content), its state and its lease.
 *
 * - An execution goes `queued` → `running` → `finished` | `failed` | `stopped` | `interrupted` (or
 *   from `queued` straight to an end), once; the trigger refuses every other change, whichever
 *   instance tries, as migration 0003 does for chat runs.
 * - `autochat_start_execution`: the budget check (`autochat_budget_refusal`, migration 0007, which
 *   holds the user's advisory lock to the end of the statement), then the limit on a user's live
 *   executions, then the insert — one statement, so two instances cannot both take the last place.
 * - `autochat_end_execution`: moves a live execution to its end, storing its output and its usage
 *   rows (kind `execution`, `run_id` the execution's id) together. False, writing nothing, when it
 *   had already ended.
 */
export const agentExecutions = /* sql */ `
ALTER TABLE agents ADD COLUMN definition text;

ALTER TABLE usage_events DROP CONSTRAINT IF EXISTS usage_events_kind_check;
ALTER TABLE usage_events ADD CONSTRAINT usage_events_kind_check CHECK (kind IN ('chat', 'title', 'summary', 'execution'));

CREATE TABLE agent_executions (
  id uuid PRIMARY KEY,
  user_id text NOT NULL,
  slug text NOT NULL,
  agent_name text NOT NULL,
  inputs text NOT NULL,
  status text NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'finished', 'failed', 'stopped', 'interrupted')),
  reason text,
  error text,
  output text,
  owner text NOT NULL,
  lease_expires_at timestamptz NOT NULL,
  checkpoint text,
  progress text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  ended_at timestamptz,
  CHECK ((status IN ('queued', 'running')) = (ended_at IS NULL))
);
CREATE INDEX agent_executions_user_created ON agent_executions (user_id, created_at DESC, id DESC);
CREATE INDEX agent_executions_live ON agent_executions (user_id) WHERE status IN ('queued', 'running');

CREATE FUNCTION autochat_guard_execution_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
    (OLD.status = 'queued' AND NEW.status <> 'queued')
    OR (OLD.status = 'running' AND NEW.status NOT IN ('queued', 'running'))
  ) THEN
    RAISE EXCEPTION 'illegal execution transition % -> %', OLD.status, NEW.status USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER agent_executions_transition BEFORE UPDATE OF status ON agent_executions
  FOR EACH ROW EXECUTE FUNCTION autochat_guard_execution_transition();

CREATE FUNCTION autochat_start_execution(p_id uuid, p_user text, p_slug text, p_name text, p_inputs text,
  p_owner text, p_lease interval, p_max_live integer,
  p_subject text, p_daily_limit bigint, p_weekly_limit bigint, p_day timestamptz, p_week timestamptz)
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
  INSERT INTO agent_executions (id, user_id, slug, agent_name, inputs, owner, lease_expires_at)
    VALUES (p_id, p_user, p_slug, p_name, p_inputs, p_owner, now() + p_lease);
  RETURN QUERY SELECT NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, n + 1;
END
$$;

CREATE FUNCTION autochat_end_execution(p_id uuid, p_status text, p_reason text, p_error text, p_output text, p_usage jsonb)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  owner_id text;
BEGIN
  UPDATE agent_executions e SET status = p_status, reason = p_reason, error = p_error, output = p_output,
      ended_at = now(), started_at = coalesce(e.started_at, now()), checkpoint = NULL
    WHERE e.id = p_id AND e.status IN ('queued', 'running')
    RETURNING e.user_id INTO owner_id;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO usage_events (user_id, session_id, run_id, kind, model, prompt_tokens, completion_tokens, total_tokens, cost_usd, estimated)
    SELECT owner_id, NULL, p_id, 'execution', u.model, u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cost_usd, u.estimated
    FROM jsonb_to_recordset(p_usage) AS u(kind text, model text, prompt_tokens integer, completion_tokens integer,
      total_tokens integer, cost_usd numeric, estimated boolean);
  RETURN true;
END
$$;
`;
