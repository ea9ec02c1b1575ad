/**
 * The run state machine, guarded in the database too: a run leaves `running` once, for one of the
 * four outcomes, and an ended run never changes status again — whichever instance tries.
 */
export const runTransitions = /* sql */ `
CREATE FUNCTION autochat_guard_run_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND OLD.status <> 'running' THEN
    RAISE EXCEPTION 'illegal run transition % -> %', OLD.status, NEW.status USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER chat_runs_transition BEFORE UPDATE OF status ON chat_runs
  FOR EACH ROW EXECUTE FUNCTION autochat_guard_run_transition();
`;
