/**
 * Runs each server of a benchmark (autochat, the bare AI SDK baseline, the scripted upstream) as its
 * own Node process, started the same way (`node --import tsx entry.ts`) so that none has an edge.
 * A server reports its URL over the IPC channel; its logs go to /dev/null so that reading them costs
 * the load generator nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export type ServerProcess = {
  name: string;
  url: string;
  pid: number;
  child: ChildProcess;
  /** Resident memory of the process now, in KiB (VmRSS from /proc). */
  rssKiB(): Promise<number>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
};

export type SpawnOptions = { env?: Record<string, string>; nodeArgs?: string[]; startTimeoutMs?: number };

export const benchFile = (relative: string) => fileURLToPath(new URL(`../${relative}`, import.meta.url));

/** The ready message every bench server sends over IPC once it listens. */
export type ReadyMessage = { url: string };

export async function spawnServer(name: string, entry: string, options: SpawnOptions = {}): Promise<ServerProcess> {
  const devNull = openSync('/dev/null', 'w');
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', entry], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', ...options.env },
    stdio: ['ignore', devNull, 'pipe', 'ipc'],
  });
  closeSync(devNull);
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start in time: ${stderr}`));
    }, options.startTimeoutMs ?? 60_000);
    child.once('message', (message: ReadyMessage) => {
      clearTimeout(timer);
      resolve(message.url);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready: ${stderr}`));
    });
  });
  const pid = child.pid!;
  return {
    name,
    url,
    pid,
    child,
    rssKiB: () => rssKiBOf(pid),
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function rssKiBOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

/** Sends the ready message from inside a bench server, then drops the channel so it costs nothing. */
export function announce(url: string): void {
  if (!process.send) {
    process.stdout.write(`${JSON.stringify({ url })}\n`);
    return;
  }
  const ready: ReadyMessage = { url };
  process.send(ready, () => process.disconnect());
}
