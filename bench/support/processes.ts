/**
 * Runs each server of a benchmark (autochat, the bare AI SDK baseline, the scripted upstream) as its
 * own Node process, started the same way (`node --import tsx entry.ts`) so that none has an edge.
 * A server reports its URL over the IPC channel, and answers probes on it (memory, event-loop delay);
 * its logs go to /dev/null so that reading them costs the load generator nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** What a server process says about itself when probed. Sizes in KiB, delays in ms. */
export type ProcessStats = {
  rssKiB: number;
  heapUsedKiB: number;
  externalKiB: number;
  /** Event-loop delay since the previous probe: how long ready work waited for the loop. */
  loopDelay: { mean: number; p50: number; p99: number; max: number };
  /** True when a full garbage collection ran just before (needs `--expose-gc`). */
  collected: boolean;
};

export type ServerProcess = {
  name: string;
  url: string;
  pid: number;
  child: ChildProcess;
  /** Resident memory of the process now, in KiB (VmRSS from /proc). */
  rssKiB(): Promise<number>;
  /** CPU time (user + system) the process has used so far, in ms. */
  cpuMs(): Promise<number>;
  /** Asks the process for its memory and event-loop figures (after a full GC when `gc` and it can). */
  probe(gc?: boolean): Promise<ProcessStats>;
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
    cpuMs: () => cpuMsOf(pid),
    probe(gc = false) {
      return new Promise<ProcessStats>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} did not answer a probe`)), 10_000);
        const onMessage = (message: ProbeReply | ReadyMessage) => {
          if (!('stats' in message)) return;
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(message.stats);
        };
        child.on('message', onMessage);
        child.send({ probe: true, gc } satisfies ProbeRequest);
      });
    },
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

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

export async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

type ProbeRequest = { probe: true; gc: boolean };
type ProbeReply = { stats: ProcessStats };

/**
 * Inside a bench server: sends the ready message and answers probes; exits when the bench goes away.
 * The channel is unreferenced so that it never keeps the process alive by itself.
 */
export function announce(url: string): void {
  if (!process.send) {
    process.stdout.write(`${JSON.stringify({ url })}\n`);
    return;
  }
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const ms = (nanoseconds: number) => nanoseconds / 1e6;
  process.on('message', (message: ProbeRequest) => {
    if (!message.probe) return;
    const collect = (globalThis as { gc?: () => void }).gc;
    if (message.gc && collect) collect();
    const memory = process.memoryUsage();
    const reply: ProbeReply = {
      stats: {
        rssKiB: Math.round(memory.rss / 1024),
        heapUsedKiB: Math.round(memory.heapUsed / 1024),
        externalKiB: Math.round(memory.external / 1024),
        loopDelay: { mean: ms(delay.mean), p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
        collected: Boolean(message.gc && collect),
      },
    };
    delay.reset();
    process.send?.(reply);
  });
  // A bench that dies (or is killed by its watchdog) must not leave servers behind.
  process.once('disconnect', () => process.exit(0));
  const ready: ReadyMessage = { url };
  process.send(ready);
  process.channel?.unref();
}
