/**
 * Runs the `autochat` command (src/cli.ts through tsx) as a person would: `serve` until it says it is
 * listening, or any other command to its exit, with the exit code and what it printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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
export type FinishedCli = { code: number | null; stdout: string; stderr: string };

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

/** Runs an `autochat` command to its end. */
export function runCli(args: string[], env: Record<string, string>, options: { cwd?: string } = {}): Promise<FinishedCli> {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}
