/**
 * A real deployment shape: three `autochat serve` processes on one PostgreSQL database and a private
 * Redis, behind HAProxy started with docs/deploy/haproxy.cfg (its addresses replaced by local ports),
 * under a steady chat load from the scripted upstream. The instances are restarted one at a time as a
 * rolling deploy does: SIGTERM, wait for the exit, start again on the same port, wait until HAProxy
 * has it up, next. Every answer a client was given must be stored whole (answers lost: 0), and no
 * request may fail; the test reports both and the p95 time to first token before and during the roll.
 *
 * Two of the clients ask for long answers (about 12 s, longer than the old fixed 10 s grace and
 * than the SHUTDOWN_GRACE_MS the instances get here): those running when their instance is stopped
 * either finish within the grace or are handed on and continued by another instance; a client whose
 * connection ends before `finish` re-attaches with GET …/stream, as useChat's resume does. None may be
 * cut: the client's text and the stored answer are the whole answer.
 *
 * Slow (about a minute). Needs TEST_DATABASE_URL, `haproxy` and `redis-server` (CI installs both).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../../src/http/middleware/jwt.js';
import { serveCli, type ServingCli } from '../support/cli-process.js';
import { TEST_DATABASE_URL, databaseTargets } from '../support/databases.js';
import { startFakeUpstream, say, type FakeUpstream } from '../support/fake-upstream.js';
import { parseSseText, textOf } from '../support/ui-stream.js';

const HAPROXY_CONFIG = fileURLToPath(new URL('../../docs/deploy/haproxy.cfg', import.meta.url));
const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const canRun = Boolean(TEST_DATABASE_URL) && has('haproxy') && has('redis-server');
if (!canRun) console.warn('rolling deploy test skipped: it needs TEST_DATABASE_URL, haproxy and redis-server (.ci/run installs them).');

const SECRET = 'rolling-deploy-secret';
const CLIENTS = 6;
const ANSWER = 'Rolling deploys keep every answer that was started, because a stopping instance lets its runs finish. ';
/** About 12 s at 250 ms a word. */
const LONG_ANSWER = `${Array.from({ length: 48 }, (_, index) => `long${index}`).join(' ')}.`;
const LONG_CLIENTS = 2;
const SHUTDOWN_GRACE_MS = 6000;
const headers = { 'content-type': 'application/json', authorization: `Bearer ${signJwt({ sub: 'roller' }, SECRET)}` };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts a process and resolves once a line of its output matches `ready` (at once without one). */
async function startProcess(command: string, args: string[], ready?: RegExp, env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        if (ready?.test(line)) resolve();
      });
    }
    if (!ready) child.once('spawn', () => resolve());
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}: ${output.slice(-20).join('\n')}`)));
  });
  return {
    child,
    output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** The HAProxy configuration shipped in docs/, with its example addresses replaced by ours. */
async function haproxyConfig(frontend: number, stats: number, instances: number[]): Promise<string> {
  let text = await readFile(HAPROXY_CONFIG, 'utf8');
  const replace = (pattern: RegExp, value: string) => {
    const matches = [...text.matchAll(new RegExp(pattern.source, `${pattern.flags}g`))].length;
    expect(matches, `docs/deploy/haproxy.cfg has ${pattern}`).toBe(1);
    text = text.replace(pattern, value);
  };
  replace(/^ {4}bind :80$/m, `    bind 127.0.0.1:${frontend}`);
  replace(/^ {4}bind 127\.0\.0\.1:8404$/m, `    bind 127.0.0.1:${stats}`);
  instances.forEach((port, index) =>
    replace(new RegExp(`^( {4}server autochat${index + 1}) 10\\.0\\.0\\.1${index + 1}:3000$`, 'm'), `$1 127.0.0.1:${port}`),
  );
  return text;
}

/** HAProxy's view of the backend's servers: name → status, retries and redispatches. */
async function backendServers(statsUrl: string) {
  const csv = await (await fetch(`${statsUrl};csv`)).text();
  const [header, ...rows] = csv.trim().split('\n');
  const columns = header!.replace(/^# /, '').split(',');
  const at = (row: string[], name: string) => row[columns.indexOf(name)]!;
  return rows
    .map((line) => line.split(','))
    .filter((row) => at(row, 'pxname') === 'autochat_instances' && at(row, 'svname').startsWith('autochat'))
    .map((row) => ({
      name: at(row, 'svname'),
      status: at(row, 'status'),
      retries: Number(at(row, 'wretr')),
      redispatches: Number(at(row, 'wredis')),
    }));
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

type Exchange = {
  sessionId: string;
  status: number;
  startedAt: number;
  firstTokenMs?: number;
  ended?: string;
  /** For a failure: which request failed, and its error code or the stream's error text. */
  failure?: string;
  text: string;
  phase: 'before' | 'roll' | 'after';
  long: boolean;
  /** How often the client re-attached to the answer after its connection ended early. */
  reattached: number;
};

/** One message through the load balancer: creates a session, sends, reads the stream to its end. */
async function exchange(url: string, phase: Exchange['phase'], long = false): Promise<Exchange> {
  const startedAt = performance.now();
  const created = await fetch(`${url}/api/chat/sessions`, { method: 'POST', headers });
  if (created.status !== 201)
    return {
      sessionId: '',
      status: created.status,
      startedAt,
      text: '',
      phase,
      long,
      reattached: 0,
      failure: `create: ${await created.text()}`,
    };
  const { sessionId } = (await created.json()) as { sessionId: string };
  const sent = performance.now();
  const message = long ? 'Tell me a long story about rolling deploys' : 'Tell me about rolling deploys';
  let response = await fetch(`${url}/api/chat/sessions/${sessionId}/stream`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ message }),
  });
  const result: Exchange = { sessionId, status: response.status, startedAt, text: '', phase, long, reattached: 0 };
  if (response.status !== 200 || !response.body) return { ...result, failure: `stream: ${await response.text()}` };
  let raw = '';
  for (;;) {
    raw = '';
    const decoder = new TextDecoder();
    try {
      for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
        raw += decoder.decode(bytes, { stream: true });
        if (result.firstTokenMs === undefined && raw.includes('"type":"text-delta"')) result.firstTokenMs = performance.now() - sent;
      }
    } catch {
      // the connection was cut (its instance stopped): re-attach below
    }
    const ended = (await parseSseText(raw)).chunks.at(-1)?.type;
    if (ended === 'finish' || ended === 'abort' || result.reattached >= 5) break;
    // Cut before its end: re-attach, as useChat's resume does; the answer replays from its start.
    result.reattached++;
    response = await fetch(`${url}/api/chat/sessions/${sessionId}/stream`, { headers });
    if (response.status === 204) {
      // Over already: what the client sees is the stored answer.
      const stored = (await (await fetch(`${url}/api/chat/sessions/${sessionId}`, { headers })).json()) as {
        lastRunStatus: string;
        messages: { role: string; parts: { text?: string }[] }[];
      };
      result.ended = stored.lastRunStatus === 'finished' ? 'finish' : stored.lastRunStatus;
      result.text =
        stored.messages
          .find((entry) => entry.role === 'assistant')
          ?.parts.map((part) => part.text ?? '')
          .join('') ?? '';
      if (result.ended !== 'finish') result.failure = `re-attached to a run that ended ${stored.lastRunStatus}`;
      return result;
    }
    if (response.status !== 200 || !response.body) return { ...result, failure: `re-attach: ${response.status} ${await response.text()}` };
  }
  const parsed = await parseSseText(raw);
  result.ended = parsed.chunks.at(-1)?.type;
  result.text = textOf(parsed.chunks);
  const error = parsed.chunks.find((chunk) => chunk.type === 'error');
  if (result.ended !== 'finish' || error)
    result.failure = `stream ended with ${result.ended}${error && 'errorText' in error ? `: ${error.errorText}` : ''}`;
  return result;
}

const p95 = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] ?? 0;
};

describe.runIf(canRun)('a rolling deploy behind HAProxy', () => {
  let upstream: FakeUpstream;
  let database: Awaited<ReturnType<(typeof databaseTargets)[number]['create']>>;
  let redis: Awaited<ReturnType<typeof startProcess>>;
  let haproxy: Awaited<ReturnType<typeof startProcess>>;
  let workDir: string;
  const instances: (ServingCli | undefined)[] = [];
  let ports: number[] = [];
  let env: Record<string, string>;
  let url: string;
  let statsUrl: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'autochat-deploy-'));
    upstream = await startFakeUpstream();
    upstream.setDefault((request) => {
      if (!request.body.stream) return say('Rolling deploys');
      const messages = request.body.messages;
      const long = JSON.stringify(messages.filter((entry) => entry.role === 'user').at(-1)?.content ?? '').includes('long story');
      const whole = long ? LONG_ANSWER : ANSWER.repeat(2);
      const last = messages.at(-1);
      // A continuation (the partial answer as a trailing assistant message): the rest of the answer.
      if (last?.role === 'assistant' && typeof last.content === 'string' && whole.startsWith(last.content)) {
        const rest = whole.slice(last.content.length);
        return {
          steps: (rest.match(/[\s\S]{1,8}/g) ?? []).map((text) => ({ text, delayMs: 40 })),
          finishReason: 'stop',
          usage: { prompt_tokens: 40, completion_tokens: 20 },
        };
      }
      return long ? say(LONG_ANSWER, 250) : say(whole, 20);
    });
    database = await databaseTargets.find((target) => target.name === 'postgres')!.create();
    const redisPort = await freePort();
    await mkdir(join(workDir, 'redis'));
    redis = await startProcess(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', join(workDir, 'redis')],
      /Ready to accept connections/,
    );
    ports = [await freePort(), await freePort(), await freePort()];
    env = {
      DATABASE_URL: database.databaseUrl!,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      AUTH_JWT_SECRET: SECRET,
      OPEN_ROUTER_API_KEY: 'test-key',
      LLM_BASE_URL: upstream.url,
      LLM_MAX_RETRIES: '0',
      RATE_LIMIT_PER_MINUTE: '0',
      SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
      RUN_LEASE_MS: '4000',
    };
    // The first instance applies the migrations; the others start together afterwards.
    instances[0] = await serveCli(env, { port: ports[0] });
    [instances[1], instances[2]] = await Promise.all([serveCli(env, { port: ports[1] }), serveCli(env, { port: ports[2] })]);
    const [frontend, stats] = [await freePort(), await freePort()];
    const config = join(workDir, 'haproxy.cfg');
    await writeFile(config, await haproxyConfig(frontend, stats, ports));
    haproxy = await startProcess('haproxy', ['-db', '-f', config]);
    url = `http://127.0.0.1:${frontend}`;
    statsUrl = `http://127.0.0.1:${stats}/stats`;
    await until(
      async () => (await backendServers(statsUrl)).every((server) => server.status === 'UP'),
      'all three instances up in HAProxy',
    );
  });

  afterAll(async () => {
    await haproxy?.stop('SIGUSR1');
    await Promise.all(instances.map((instance) => instance?.stop()));
    await redis?.stop();
    await upstream?.close();
    await database?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('loses no answer and fails no request while the instances restart one at a time', async () => {
    let phase: Exchange['phase'] = 'before';
    let running = true;
    const exchanges: Exchange[] = [];
    const clients = Array.from({ length: CLIENTS }, async (_, index) => {
      while (running) exchanges.push(await exchange(url, phase, index < LONG_CLIENTS));
    });

    const completed = (which: Exchange['phase']) => exchanges.filter((entry) => entry.phase === which).length;
    await until(async () => completed('before') >= CLIENTS * 5, 'a baseline of answers');
    phase = 'roll';
    for (const [index, port] of ports.entries()) {
      const code = await instances[index]!.stop();
      expect(code, `instance ${index + 1} exits 0 after SIGTERM`).toBe(0);
      instances[index] = await serveCli(env, { port });
      await until(async () => (await backendServers(statsUrl))[index]?.status === 'UP', `instance ${index + 1} up again in HAProxy`);
    }
    phase = 'after';
    await until(async () => completed('after') >= CLIENTS * 5, 'answers after the roll');
    running = false;
    await Promise.all(clients);

    // Every answer a client was given is stored whole, as a finished run.
    let lost = 0;
    let cut = 0;
    let continued = 0;
    for (const entry of exchanges.filter((item) => item.status === 200 && item.ended === 'finish')) {
      const session = (await (await fetch(`${url}/api/chat/sessions/${entry.sessionId}`, { headers })).json()) as {
        lastRunStatus: string;
        messages: { role: string; parts: { type: string; text?: string }[]; metadata?: { continuations?: number } }[];
      };
      const answer = session.messages.find((message) => message.role === 'assistant');
      const stored = answer?.parts.map((part) => part.text ?? '').join('');
      if (session.lastRunStatus !== 'finished' || stored !== entry.text) lost++;
      if (entry.text !== (entry.long ? LONG_ANSWER : ANSWER.repeat(2))) cut++;
      if (answer?.metadata?.continuations) continued++;
    }
    const longOnes = exchanges.filter((entry) => entry.long);
    const failed = exchanges.filter((entry) => entry.failure !== undefined);
    const ttft = (which: Exchange['phase']) =>
      exchanges.filter((entry) => entry.phase === which && entry.firstTokenMs !== undefined).map((entry) => entry.firstTokenMs!);
    // The reference is the steady state on either side of the roll (the first answers warm the instances up).
    const [steady, roll] = [p95([...ttft('before').slice(CLIENTS), ...ttft('after')]), p95(ttft('roll'))];
    const servers = await backendServers(statsUrl);
    const figures = {
      exchanges: exchanges.length,
      duringRoll: completed('roll'),
      answersLost: lost,
      answersCut: cut,
      longAnswers: longOnes.length,
      longAnswersDuringRoll: longOnes.filter((entry) => entry.phase === 'roll').length,
      continuedOnAnotherInstance: continued,
      clientReattachments: exchanges.reduce((sum, entry) => sum + entry.reattached, 0),
      requestsFailed: failed.length,
      p95TimeToFirstTokenMs: { steady: Math.round(steady), duringRoll: Math.round(roll), added: Math.round(roll - steady) },
      haproxyRetries: servers.reduce((sum, server) => sum + server.retries, 0),
      haproxyRedispatches: servers.reduce((sum, server) => sum + server.redispatches, 0),
    };
    console.log(`rolling deploy: ${JSON.stringify(figures)}`);
    await mkdir('test-results', { recursive: true });
    await writeFile('test-results/rolling-deploy.json', `${JSON.stringify(figures, null, 2)}\n`);

    expect(completed('roll')).toBeGreaterThan(0);
    expect(failed.map((entry) => ({ phase: entry.phase, status: entry.status, failure: entry.failure }))).toEqual([]);
    expect(lost).toBe(0);
    expect(cut).toBe(0);
    expect(longOnes.filter((entry) => entry.phase === 'roll').length).toBeGreaterThan(0);
  }, 300_000);
});
