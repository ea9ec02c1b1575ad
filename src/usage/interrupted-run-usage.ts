/**
 * The usage to charge for a run closed without its owner (its process crashed, its lease expired,
 * its session was deleted from another instance): the measured rows of the calls that completed, as
 * its last saved progress has them, and an estimate for the call that was in flight — so that every
 * upstream call is charged, once, whoever ends the run.
 */
import type { RunProgress } from '../store/run-progress.js';
import type { NewUsage } from '../store/runs-repository.js';

export function interruptedRunUsage(input: {
  /** The run's last saved progress, if it saved any. */
  progress?: RunProgress;
  /** Characters the call in flight had produced (from the event log, or the progress itself). */
  inFlightChars?: number;
  /** For a run that saved no progress: the model, and a prompt estimate from the stored history. */
  model: string;
  fallbackPromptTokens: number;
}): NewUsage[] {
  const { progress } = input;
  const usage: NewUsage[] = progress ? progress.usage.map((entry) => ({ ...entry })) : [];
  // No progress saved: it died before its first renewal, while its first call was (probably) in flight.
  const inFlight = progress ? progress.calling : true;
  if (!inFlight) return usage;
  const promptTokens = progress?.promptEstimate ?? input.fallbackPromptTokens;
  const completionTokens = Math.ceil(Math.max(input.inFlightChars ?? 0, progress?.pendingChars ?? 0) / 4);
  usage.push({
    kind: 'chat',
    model: progress?.model ?? input.model,
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens,
    estimated: true,
  });
  return usage;
}
