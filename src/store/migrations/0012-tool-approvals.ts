/**
 * Tool approvals: a run may pause, holding no process, until the user approves or denies the tool
 * calls it asked about. `awaiting-approval` is a run state like the others, guarded by the same
 * trigger: running → awaiting-approval → running (resumed, by any instance) or → stopped /
 * interrupted (expired, stopped, or its session deleted). The session stays claimed while it waits.
 * Each asked-about call is a row of `tool_approvals`; its input and the answer's reason are sealed
 * like message content.
 */
export const toolApprovals = /* sql */ `
DO $$
DECLARE
  found record;
BEGIN
  FOR found IN SELECT conname FROM pg_constraint
    WHERE conrelid = 'chat_runs'::regclass AND contype = 'c'
      AND (pg_get_constraintdef(oid) LIKE '%interrupted%' OR pg_get_constraintdef(oid) LIKE '%ended_at%') LOOP
    EXECUTE format('ALTER TABLE chat_runs DROP CONSTRAINT %I', found.conname);
  END LOOP;
END
$$;
ALTER TABLE chat_runs ADD CONSTRAINT chat_runs_status_check
  CHECK (status IN ('running', 'awaiting-approval', 'finished', 'failed', 'stopped', 'interrupted'));
ALTER TABLE chat_runs ADD CONSTRAINT chat_runs_ended_check CHECK ((status IN ('running', 'awaiting-approval')) = (ended_at IS NULL));
ALTER TABLE chat_runs ADD COLUMN approval_expires_at timestamptz;
ALTER TABLE chat_runs ADD COLUMN resumes integer NOT NULL DEFAULT 0;
CREATE INDEX chat_runs_awaiting_approval ON chat_runs (approval_expires_at) WHERE status = 'awaiting-approval';
CREATE OR REPLACE FUNCTION autochat_guard_run_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
    OLD.status = 'running'
    OR (OLD.status = 'awaiting-approval' AND NEW.status IN ('running', 'stopped', 'interrupted'))
  ) THEN
    RAISE EXCEPTION 'illegal run transition % -> %', OLD.status, NEW.status USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TABLE tool_approvals (
  id text PRIMARY KEY,
  run_id uuid NOT NULL REFERENCES chat_runs (id) ON DELETE CASCADE,
  session_id uuid NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
  user_id text NOT NULL,
  tool_call_id text NOT NULL,
  tool_name text NOT NULL,
  input text NOT NULL,
  approved boolean,
  reason text,
  requested_at timestamptz NOT NULL DEFAULT now(),
  answered_at timestamptz,
  expires_at timestamptz NOT NULL,
  CHECK ((approved IS NULL) = (answered_at IS NULL))
);
CREATE INDEX tool_approvals_run ON tool_approvals (run_id);
CREATE INDEX tool_approvals_user ON tool_approvals (user_id, requested_at);
`;
