/** What every scenario file exports, and what it is given to run. */
import { join } from 'node:path';
import type { ScenarioResult } from './results.js';
import type { Availability } from './support/services.js';

export type ScenarioContext = {
  /** Brief run: every code path once or a few times, figures not meant to be compared. */
  quick: boolean;
  /** When set, autochat server processes write CPU profiles (`--cpu-prof`) into this directory. */
  profileDir?: string;
  services: Availability;
  log(message: string): void;
};

export type Scenario = {
  name: string;
  title: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
};

/**
 * Node flags that make a server process write CPU profiles into `<profileDir>/<label>/` when it exits:
 * one file per thread (tsx's module loader has its own); the main thread's is the largest.
 */
export const profileArgs = (context: ScenarioContext, label: string): string[] =>
  context.profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(context.profileDir, label)] : [];
