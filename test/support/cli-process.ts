/**
 * Runs the `autochat` command (src/cli.ts through tsx) as a person would: `serve` until it says it is
 * listening, or any other command driven through its stdin to its exit, with the exit code and what
 * it printed. The child sees nothing of this machine's environment but PATH, HOME and what a test gives.
 */
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** tsx by path, so that a command run in another working directory still finds it. */
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

export type ServingCli = {
  url: string;
  pid: number;
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
};
export type FinishedCli = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };
export type RunningCli = {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout contains `text`; rejects, with what was printed, if the command exits first or `timeoutMs` passes. */
  waitForStdout(text: string, timeoutMs?: number): Promise<void>;
  exited: Promise<FinishedCli>;
};
export type CliOptions = { env?: Record<string, string>; cwd?: string };

/** Servers still running when the test process ends (a test that timed out) are killed with it. */
const serving = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of serving) child.kill('SIGKILL');
});

const baseEnv = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn' });

/** Starts `autochat serve`; rejects with `{code, stderr}` if it exits before listening. */
export function serveCli(env: Record<string, string>, options: { args?: string[]; cwd?: string; port?: number } = {}): Promise<ServingCli> {
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'serve', '--port', String(options.port ?? 0), ...(options.args ?? [])], {
    cwd: options.cwd ?? ROOT,
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  serving.add(child);
  child.once('exit', () => serving.delete(child));
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start: ${stderr}`)), 60_000);
    child.stderr!.on('data', (data: Buffer) => {
      stderr += data.toString();
      const url = stderr.match(/listening on (\S+)/)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({
          url,
          pid: child.pid!,
          child,
          exited,
          stderr: () => stderr,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            return exited;
          },
          async kill() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
            await exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`exited ${code}: ${stderr}`), { code, stderr }));
    });
  });
}

/** Starts an `autochat` command with its stdin open, for a test to write to and read from as it runs. */
export function startCli(args: string[], options: CliOptions = {}): RunningCli {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...baseEnv(), ...options.env },
    stdio: 'pipe',
  });
  serving.add(child);
  let stdout = '';
  let stderr = '';
  let ended = false;
  const waiters = new Set<{ text: string; resolve: () => void; reject: (error: Error) => void }>();
  const printed = () => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  child.stdout.setEncoding('utf8').on('data', (data: string) => {
    stdout += data;
    for (const waiter of waiters) if (stdout.includes(waiter.text)) waiter.resolve();
  });
  child.stderr.setEncoding('utf8').on('data', (data: string) => (stderr += data));
  const exited = new Promise<FinishedCli>((resolve) =>
    child.once('close', (code, signal) => {
      serving.delete(child);
      ended = true;
      for (const waiter of waiters)
        waiter.reject(new Error(`the command exited (${code ?? signal}) before printing ${JSON.stringify(waiter.text)}; ${printed()}`));
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStdout(text, timeoutMs = 30_000) {
      if (stdout.includes(text)) return Promise.resolve();
      if (ended) return Promise.reject(new Error(`the command exited before printing ${JSON.stringify(text)}; ${printed()}`));
      return new Promise((resolve, reject) => {
        const waiter = {
          text,
          resolve: () => settle(resolve),
          reject: (error: Error) => settle(() => reject(error)),
        };
        const timer = setTimeout(() => waiter.reject(new Error(`stdout never contained ${JSON.stringify(text)}; ${printed()}`)), timeoutMs);
        const settle = (then: () => void) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          then();
        };
        waiters.add(waiter);
      });
    },
    exited,
  };
}

/** Runs an `autochat` command to its end, with `input` (or nothing) on its stdin. */
export function runCli(args: string[], options: CliOptions & { input?: string } = {}): Promise<FinishedCli> {
  const cli = startCli(args, options);
  cli.child.stdin.end(options.input ?? '');
  return cli.exited;
}
