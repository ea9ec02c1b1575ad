/**
 * What a scenario hands back, and how it is stored: one JSON file per scenario under the results
 * directory, stamped with the date, machine, Node version and commit so that figures can be compared.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Summary } from './stats.js';

export type Cell = string | number | null;

/** One table of the report: a title, column names, and rows (numbers are rendered by the report). */
export type Table = { title: string; columns: string[]; rows: Cell[][]; note?: string };

export type TargetCheck = { target: string; measured: string; met: boolean | null };

export type ScenarioResult = {
  scenario: string;
  title: string;
  /** What was measured, and how, in a sentence or two. */
  method: string;
  tables: Table[];
  targets: TargetCheck[];
  notes: string[];
  /** Every summary by a stable key, for anyone comparing runs by script. */
  data: Record<string, Summary | number | string | null>;
};

export type Machine = { cpu: string; cores: number; memoryGiB: number; node: string; platform: string };

export type StoredResult = ScenarioResult & {
  date: string;
  machine: Machine;
  commit: string;
  quick: boolean;
  durationSeconds: number;
  /** 1-minute load average before and after: the machine is shared, so this says how noisy it was. */
  loadAverage: { before: number; after: number };
};

export function machine(): Machine {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

export function commit(): string {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    // The bench's own outputs do not count (a run rewrites them), nor does prose (Markdown).
    const outputs = [':(exclude)bench/results', ':(exclude)*.md'];
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ...outputs], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return dirty ? `${hash}+dirty` : hash;
  } catch {
    return 'unknown';
  }
}

export const currentLoad = () => Math.round(loadavg()[0]! * 100) / 100;

export async function writeResult(directory: string, result: StoredResult): Promise<string> {
  await mkdir(directory, { recursive: true });
  const file = join(directory, `${result.scenario}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
