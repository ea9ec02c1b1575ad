/** What every scenario file exports, and what it is given to run. */
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

/** Node flags that make a server process write a CPU profile when it exits. */
export const profileArgs = (context: ScenarioContext, label: string): string[] =>
  context.profileDir ? ['--cpu-prof', '--cpu-prof-dir', context.profileDir, '--cpu-prof-name', `${label}.cpuprofile`] : [];
