/**
 * Generates `docs/configuration.md` from the environment schema in `src/config.ts`: every variable,
 * its default (what parsing an empty environment gives) and what it means. zod schemas carry no
 * descriptions, so they live here, keyed by variable name; the script refuses to run (exit 1) when
 * a variable has no description, or a description is kept for a variable that no longer exists.
 *
 *   node --import tsx scripts/config-reference.ts            print the reference on stdout
 *   node --import tsx scripts/config-reference.ts --write    write docs/configuration.md
 *   node --import tsx scripts/config-reference.ts --check    exit 1 if docs/configuration.md is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { envSchema } from '../src/config.js';

export const REFERENCE_PATH = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));

const groups = ['Server', 'Model', 'Tools', 'Storage and scaling', 'Limits', 'Security and privacy', 'Logging'] as const;
type Group = (typeof groups)[number];

export type Description = {
  group: Group;
  /** What the variable does and what values it takes (Markdown, one paragraph). */
  text: string;
  /** What leaving it unset means, when it has no default value. */
  unset?: string;
};

/** Variables that are not autochat server settings but may be named in a description. */
const OTHER_VARIABLES = new Set(['AUTOCHAT_URL', 'AUTOCHAT_TOKEN']);

export const descriptions: Record<string, Description> = {
  PORT: {
    group: 'Server',
    text: 'TCP port the server listens on (0–65535; `0` picks a free port). `autochat serve --port N` overrides it.',
  },
  HOST: {
    group: 'Server',
    text:
      'Address the server binds to. Without `AUTH_JWT_SECRET` the server refuses to start on anything but a loopback ' +
      'address (`127.0.0.x`, `localhost`, `::1`). `autochat serve --host H` overrides it.',
  },
  TLS_CERT_FILE: {
    group: 'Server',
    text:
      'PEM certificate (chain) file. When it and `TLS_KEY_FILE` are both set the server speaks HTTPS only — HTTP/2 ' +
      'and HTTP/1.1, TLS 1.2 or newer — and sends `Strict-Transport-Security`. Setting only one of the two is a ' +
      'configuration error.',
    unset: 'plain HTTP',
  },
  TLS_KEY_FILE: {
    group: 'Server',
    text: 'PEM private key file that goes with `TLS_CERT_FILE`.',
    unset: 'plain HTTP',
  },
  CORS_ORIGINS: {
    group: 'Server',
    text:
      'Comma-separated browser origins (e.g. `https://app.example.com`) allowed to call `/api/*` cross-origin. The ' +
      'web UI served by autochat itself is same-origin and needs nothing here.',
    unset: 'no cross-origin access',
  },
  OPEN_ROUTER_API_KEY: {
    group: 'Model',
    text: 'API key for the OpenAI-compatible upstream at `LLM_BASE_URL` (OpenRouter by default).',
    unset: 'the built-in offline demo model answers, and says so in every reply and in the UI',
  },
  OPENROUTER_API_KEY: {
    group: 'Model',
    text: 'Alternative spelling of `OPEN_ROUTER_API_KEY`; used only when that one is unset.',
    unset: 'see `OPEN_ROUTER_API_KEY`',
  },
  LLM_BASE_URL: {
    group: 'Model',
    text: 'Base URL of any OpenAI-compatible chat-completions API (the path `/chat/completions` is appended).',
  },
  CHAT_MODEL: {
    group: 'Model',
    text: 'Model id for answers, as the upstream names it.',
  },
  TITLE_MODEL: {
    group: 'Model',
    text: 'Model id for session titles (one short call after the first answer) and for condensing old turns of long sessions.',
  },
  CONTEXT_WINDOW_TOKENS: {
    group: 'Model',
    text:
      'Context window of `CHAT_MODEL`, in tokens (at least 1000). When the history would take more than 60 % of it, ' +
      'older turns are condensed into a summary (stored with the session and extended later) and only the recent ' +
      'turns are sent verbatim. The stored history is never shortened.',
  },
  LLM_TIMEOUT_MS: {
    group: 'Model',
    text:
      'Longest silence from the upstream — before the response starts, and between chunks — before the call is ' +
      'abandoned, its socket closed, and the run ends with an `error` event (partial answer kept).',
  },
  LLM_MAX_RETRIES: {
    group: 'Model',
    text:
      'Retries of an upstream call that fails before its response starts (429, 5xx, network), with exponential ' +
      'backoff that honours `Retry-After`. A stream that breaks after the first byte is not retried: the partial ' +
      'answer is stored and the client gets an `error` event.',
  },
  MAX_TOOL_STEPS: {
    group: 'Tools',
    text: 'Most model steps in one run (each tool round is one step), so a model cannot loop on tools forever.',
  },
  MAX_RUNNING_EXECUTIONS: {
    group: 'Tools',
    text:
      'Agent executions one user may have queued or running at once (counted in the database, so across every ' +
      'instance). One more is refused with 429 `rate_limited` and `Retry-After` until one ends or is stopped.',
  },
  EXECUTION_MAX_STEPS: {
    group: 'Tools',
    text: 'Most model calls in one agent execution (each round of tool calls is one), so an agent cannot loop on its tools forever.',
  },
  EXECUTION_TIMEOUT_MS: {
    group: 'Tools',
    text:
      'Longest an agent execution may run, in ms. One that runs longer is cut short and ends `failed`, saying so; ' +
      'what it wrote so far is kept and every call it made is charged.',
  },
  MCP_SERVERS: {
    group: 'Tools',
    text:
      'JSON object naming external MCP servers whose tools the model may call, as `<name>__<tool>`. Each value is a ' +
      'command line (`"npx -y some-mcp-server"`), an `http(s)://` URL (streamable HTTP), `{"command", "args"?, ' +
      '"env"?}` or `{"url", "headers"?}`. Names are 1–32 of `A–Z a–z 0–9 _ -`. A server that does not connect and ' +
      'list its tools within 5 s is left out with a warning; chat keeps working without it.',
    unset: 'only the built-in tools',
  },
  TOOL_APPROVAL: {
    group: 'Tools',
    text:
      'Tools whose calls wait for your approval before they run: comma-separated tool names or glob patterns ' +
      '(`*` any run of characters, `?` one; e.g. `run_*,add_agent_to_library`), where `@mcp` stands for every tool ' +
      'of `MCP_SERVERS` (they act on the outside world), or `none`. The answer pauses — holding no server process — ' +
      'until every such call is approved or denied (in the web UI, `autochat chat`, `useChat`, or `POST ' +
      '/api/chat/sessions/{id}/approvals/{approvalId}`); a denied call is shown to the model as denied. A value that ' +
      'is not a list of names or patterns stops the start with an error naming it.',
  },
  TOOL_APPROVAL_EXEMPT: {
    group: 'Tools',
    text:
      'Tools that never wait for approval, whatever `TOOL_APPROVAL` says (same syntax). `*` turns approvals off; ' +
      '`echo__*` exempts the tools of the MCP server named `echo`.',
    unset: 'none',
  },
  TOOL_APPROVAL_TIMEOUT_MS: {
    group: 'Tools',
    text:
      'How long a tool call waits for an answer (at least 1000). When it expires unanswered the answer ends, its ' +
      'waiting calls shown as denied (`lastRunStatus: "stopped"`), and the chat takes messages again. Any instance ' +
      'sweeps expired requests (every `RUN_LEASE_MS` / 2).',
  },
  DATABASE_URL: {
    group: 'Storage and scaling',
    text:
      '`postgres://` or `postgresql://` URL of a PostgreSQL server (add `?sslmode=require` for TLS). The same ' +
      'migrations run on it as on the embedded database, under an advisory lock so that instances starting ' +
      'together do not race. Required when you run more than one instance.',
    unset: 'embedded PGlite (PostgreSQL in WebAssembly) under `DATA_DIR`',
  },
  DATA_DIR: {
    group: 'Storage and scaling',
    text:
      'Directory for the embedded database (in `pgdata/` under it); unused when `DATABASE_URL` is set. The special ' +
      'value `memory://` keeps everything in memory (lost on exit; tests use it). Never point two running processes at one directory.',
  },
  REDIS_URL: {
    group: 'Storage and scaling',
    text:
      '`redis://` or `rediss://` (TLS) URL. Runs write their event log to Redis Streams and stop requests travel ' +
      'over Redis pub/sub, so any instance can resume or stop any run; the per-minute rate limit becomes one shared ' +
      'counter. Token budgets are counted in the database, so they are shared through `DATABASE_URL`.',
    unset: 'in-process event log, stop signal and rate limit (one instance)',
  },
  RUN_LEASE_MS: {
    group: 'Storage and scaling',
    text:
      'Lease of a running answer (at least 500). The instance generating it renews the lease every third of this ' +
      'time, saving what the answer has spent so far (and, without Redis, the partial answer); every instance ' +
      'sweeps every half of it, and takes over a run whose lease has expired (its owner died): it continues it ' +
      '(see `RUN_CONTINUE_MAX`) or, where that is impossible, closes it as `interrupted`, ' +
      'storing what had been written and charging every upstream call it made — or, if the run had ended while ' +
      'the database was away, stores it as it ended.',
  },
  RUN_CONTINUE_MAX: {
    group: 'Storage and scaling',
    text:
      'How many times one answer may be continued on another instance after its own stopped before it ended ' +
      '(killed: once its lease expires; stopped with SIGTERM: when `SHUTDOWN_GRACE_MS` is over). The taking ' +
      'instance asks the model again with the partial answer and appends to the same answer, which readers see go ' +
      'on. Needs `REDIS_URL` (the shared event log) and a real model (not the offline demo). `0` never continues: ' +
      'such answers end `interrupted` (killed) or `stopped` (grace over) with what they had. An agent execution ' +
      'whose instance was killed is continued the same way, as often. See ' +
      '[operations](operations.md#continuing-an-answer-elsewhere).',
  },
  SHUTDOWN_GRACE_MS: {
    group: 'Storage and scaling',
    text:
      'On SIGTERM (or SIGINT), how long running answers get to finish (default 5 minutes) before the instance lets ' +
      'them go: with `REDIS_URL` they are handed to another instance, which continues them; without, they are ' +
      'stopped with their partial answers stored. Give your orchestrator a stop timeout of this plus 30 s ' +
      '(Kubernetes `terminationGracePeriodSeconds`, systemd `TimeoutStopSec`). See ' +
      '[Graceful shutdown](operations.md#graceful-shutdown).',
  },
  PENDING_SAVES_MAX_BYTES: {
    group: 'Storage and scaling',
    text:
      'Bound on the answers one instance keeps while the database does not take them (a database outage as ' +
      'answers end), in bytes of their JSON. Each such answer is kept in Redis (no expiry) when `REDIS_URL` is ' +
      'set, else fsynced to `pending-saves.journal` under `DATA_DIR`, and stored as soon as the database answers ' +
      "again — however long that takes. Past the bound an answer is kept in this process's memory only (lost if " +
      'the process also dies before the database returns), an error is logged and ' +
      '`autochat_pending_save_overflows_total` counts it. `0` keeps nothing durably.',
  },
  DAILY_TOKEN_LIMIT: {
    group: 'Limits',
    text:
      'Tokens one user may spend per UTC day (answers, titles and summaries; estimated for stopped or failed ' +
      'calls). It is checked before each message: once spent, new messages get 429 `usage_limit_exceeded` with ' +
      '`Retry-After` until 00:00 UTC (an answer already running is not cut off). `0` disables the limit.',
  },
  WEEKLY_TOKEN_LIMIT: {
    group: 'Limits',
    text: 'The same per week, which starts on Monday 00:00 UTC. `0` disables the limit.',
  },
  RATE_LIMIT_PER_MINUTE: {
    group: 'Limits',
    text:
      'Stream requests (`POST …/stream`) one user may make per clock minute; more get 429 `rate_limited` with ' +
      '`Retry-After`. Shared across instances when `REDIS_URL` is set. `0` disables the limit.',
  },
  MAX_MESSAGE_CHARS: {
    group: 'Limits',
    text: 'Longest user message, in characters; longer ones are refused with 413 `payload_too_large` and not stored.',
  },
  REQUEST_HEADERS_TIMEOUT_MS: {
    group: 'Limits',
    text:
      'Milliseconds a client has to send a request line and headers, from the first byte of the request. A slower ' +
      'client gets 408 `request_timeout` and its connection is closed. An idle keep-alive connection between ' +
      'requests is not counted. Applies to HTTP/1.1 (also over TLS).',
  },
  REQUEST_BODY_TIMEOUT_MS: {
    group: 'Limits',
    text:
      'Milliseconds a client has to send a request body once its headers are in. A body that trickles slower is ' +
      'cut off with 408 `request_timeout` (HTTP/1.1: the connection is closed; HTTP/2: the stream is reset). ' +
      'Responses are not limited: a long answer streams for as long as it takes.',
  },
  AUTH_JWT_SECRET: {
    group: 'Security and privacy',
    text:
      'HS256 secret. Every `/api/*` request (but `/api/info`) and every `/mcp` request must carry `Authorization: Bearer <jwt>` signed with it; the ' +
      "token's `sub` is the user id, and `exp`/`nbf` are enforced (30 s leeway). Other algorithms, including " +
      '`none`, are refused.',
    unset: 'single-user local mode: every request acts as user `local`; allowed only on a loopback `HOST`',
  },
  ENCRYPTION_KEY: {
    group: 'Security and privacy',
    text:
      '32 random bytes, base64 (`openssl rand -base64 32`). Message content and metadata, tool inputs and outputs, session ' +
      'titles and summaries and run checkpoints are stored encrypted with AES-256-GCM. Rows written before the key ' +
      'was set stay readable.',
    unset: 'stored as plain JSON',
  },
  ENCRYPTION_KEYS_PREVIOUS: {
    group: 'Security and privacy',
    text:
      'Comma-separated earlier values of `ENCRYPTION_KEY`, used only to read rows written with them, so a key can ' +
      'be rotated (see docs/operations.md). There is no job that re-encrypts old rows with the new key.',
    unset: 'only `ENCRYPTION_KEY` can read',
  },
  LOG_LEVEL: {
    group: 'Logging',
    text:
      'One of `fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`. Logs are JSON lines on stdout with ' +
      '`requestId`, `sessionId`, `runId` and `userId` where known — never message content, tokens or keys.',
  },
};

/** What is wrong with the descriptions, given the variables the schema has; empty when nothing is. */
export function descriptionProblems(variables: readonly string[], given: Record<string, Description> = descriptions): string[] {
  const known = new Set(variables);
  const problems: string[] = [];
  for (const name of variables) {
    if (!given[name]) problems.push(`${name} is in envSchema but has no description in scripts/config-reference.ts`);
  }
  for (const [name, description] of Object.entries(given)) {
    if (!known.has(name)) problems.push(`${name} has a description but is no longer in envSchema`);
    for (const mentioned of mentionedVariables(`${description.text} ${description.unset ?? ''}`)) {
      if (!known.has(mentioned) && !OTHER_VARIABLES.has(mentioned)) {
        problems.push(`the description of ${name} names ${mentioned}, which is not in envSchema`);
      }
    }
  }
  return problems;
}

/** Names in backticks that look like environment variables (`SOME_NAME`). */
function mentionedVariables(text: string): string[] {
  return [...text.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`/g)].map((match) => match[1]!);
}

/** The default of each variable: the value an empty environment parses to, shown as set in env. */
function defaultsOf(): Record<string, string | undefined> {
  const parsed = envSchema.parse({}) as Record<string, unknown>;
  const shown: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (value === undefined || (Array.isArray(value) && value.length === 0)) shown[name] = undefined;
    else if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0)
      shown[name] = undefined;
    else shown[name] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return shown;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderConfigurationReference(): string {
  const variables = Object.keys(envSchema.shape);
  const problems = descriptionProblems(variables);
  if (problems.length > 0) throw new Error(`The configuration reference is out of date:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  const defaults = defaultsOf();

  const lines = [
    '<!-- Generated by scripts/config-reference.ts from envSchema in src/config.ts. Do not edit by hand: -->',
    '<!-- change the schema or the descriptions, then run `node --import tsx scripts/config-reference.ts --write`. -->',
    '',
    '# Configuration reference',
    '',
    'autochat reads its settings from environment variables, once, at start-up (`src/config.ts`). All are',
    'optional: with none set, `npm start` serves on http://127.0.0.1:3000 with the embedded database and the',
    'offline demo model. A value autochat cannot use stops the start with a message naming the variable.',
    '',
    'The library takes the same settings as options of `createChatService(options)` (camelCase, e.g.',
    '`{ dataDir, llm: { apiKey }, limits: { dailyTokens } }`); the environment is the fallback.',
    '',
    `${variables.length} variables:`,
    '',
  ];
  for (const group of groups) {
    const names = variables.filter((name) => descriptions[name]!.group === group);
    if (names.length === 0) continue;
    lines.push(`## ${group}`, '', '| variable | default | meaning |', '| --- | --- | --- |');
    for (const name of names) {
      const description = descriptions[name]!;
      const value = defaults[name];
      const shownDefault = value === undefined ? `unset (${description.unset ?? 'not used'})` : `\`${value}\``;
      lines.push(`| \`${name}\` | ${cell(shownDefault)} | ${cell(description.text)} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function main(args: string[]): number {
  let text: string;
  try {
    text = renderConfigurationReference();
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  if (args.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(REFERENCE_PATH, 'utf8');
    } catch {
      // a missing file is stale too
    }
    if (current === text) return 0;
    console.error('docs/configuration.md is out of date: run `node --import tsx scripts/config-reference.ts --write`.');
    return 1;
  }
  if (args.includes('--write')) {
    writeFileSync(REFERENCE_PATH, text);
    console.error(`wrote ${REFERENCE_PATH}`);
    return 0;
  }
  process.stdout.write(text);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
