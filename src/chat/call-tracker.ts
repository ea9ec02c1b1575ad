/**
 * Whether an upstream call of a run may be in flight, so that a run closed in the middle of one is
 * charged for it (RunProgress.calling). Chat runs and agent executions both follow their chunks here.
 * A call starts with a step; a step that ran tools is followed by another call with their results;
 * the owner marks a call ended when its usage arrives.
 */
import type { UIMessageChunk } from 'ai';

export class CallTracker {
  calling = false;
  private toolsRan = false;

  /** Follows one chunk; true when a step that ran tools ended, so that another call begins now. */
  observe(chunk: UIMessageChunk): boolean {
    if (chunk.type === 'start-step') this.calling = true;
    if (chunk.type === 'tool-output-available' || chunk.type === 'tool-output-error') this.toolsRan = true;
    if (chunk.type !== 'finish-step') return false;
    this.calling = this.toolsRan;
    this.toolsRan = false;
    return this.calling;
  }
}
