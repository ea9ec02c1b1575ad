/**
 * Agent executions that go on after their instance died, as chat answers do (migration 0014):
 * `agent_executions.continuations` counts how often another instance took the execution over and
 * continued it; the claim raises it in the statement that moves the owner and lease, so one instance
 * continues, never more than RUN_CONTINUE_MAX times.
 */
export const executionContinuation = /* sql */ `
ALTER TABLE agent_executions ADD COLUMN continuations integer NOT NULL DEFAULT 0 CHECK (continuations >= 0);
`;
