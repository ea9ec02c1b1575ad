/** Starts and stops autochat server processes (see server-process.ts) for multi-instance tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export type ServerProcess = { url: string; child: ChildProcess; stop(): Promise<void>; kill(): Promise<void> };

const ENTRY = fileURLToPath(new URL('./server-process.ts', import.meta.url));

/**
 * Servers still running when the test process ends (a test that timed out never reached its
 * `finally`) are killed with it, rather than left listening after the suite.
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * The settings the multi-instance tests give their servers, with `extra` on top: a scripted upstream
 * at `upstreamUrl` (no retries), no rate limit, and a short lease, so that another instance finds a
 * dead owner's run within seconds.
 */
export function instanceEnv(upstreamUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OPEN_ROUTER_API_KEY: 'test-key',
    LLM_BASE_URL: upstreamUrl,
    CHAT_MODEL: 'test/chat',
    TITLE_MODEL: 'test/title',
    LLM_MAX_RETRIES: '0',
    RATE_LIMIT_PER_MINUTE: '0',
    RUN_LEASE_MS: '1500',
    ...extra,
  };
}

/** Creates a chat session on the server at `url` (local mode), returning its id. */
export async function newSession(url: string): Promise<string> {
  const response = await fetch(`${url}/api/chat/sessions`, { method: 'POST' });
  if (response.status !== 201) throw new Error(`creating a session answered ${response.status}`);
  return ((await response.json()) as { sessionId: string }).sessionId;
}

export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time: ${stderr.slice(-2000)}`)), 60_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { url?: string };
        if (parsed.url) {
          clearTimeout(timer);
          resolve(parsed.url);
        }
      } catch {
        // not our line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${stderr.slice(-2000)}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
