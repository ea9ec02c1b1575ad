/**
 * A running answer's spending so far (JSON of `RunProgress`: usage of completed calls, the prompt
 * estimate and whether a call is in flight), renewed with its lease, so that a run closed by someone
 * other than its owner is still charged for every upstream call. Counts and model names only — no
 * content — so it is stored as plain JSON.
 */
export const runProgress = /* sql */ `
ALTER TABLE chat_runs ADD COLUMN progress text;
`;
