/**
 * `autochat run <slug> --input key=value …`: runs a store agent on a running server and streams its
 * output to stdout; Ctrl-C stops the execution on the server (what it wrote so far is kept), a second
 * Ctrl-C leaves at once. `autochat executions` lists your executions.
 */
import { parseArgs } from 'node:util';
import { AutochatClientError, createAutochatClient, type AutochatClient } from './autochat-client.js';
import { defaultServerUrl, type ChatCommandIo } from './chat-command.js';
import { readToEnd } from './sse-events.js';

const RUN_HELP = `autochat run — run a store agent on a running autochat server

Usage:
  autochat run SLUG [--input NAME=VALUE …] [--url URL] [--token JWT]

Options:
  -i, --input NAME=VALUE   one of the agent's inputs; repeat it for several, or for the items of a list
      --url URL            the server (default: $AUTOCHAT_URL, else http://$HOST:$PORT, else http://127.0.0.1:3000)
      --token JWT          bearer token for a server with AUTH_JWT_SECRET (default: $AUTOCHAT_TOKEN)
  -h, --help               this help

The output streams to stdout; tool calls and errors go to stderr. Ctrl-C stops the execution.
Exit status: 0 when the agent finished, 1 when it failed or was stopped, 2 for a usage error.`;

const LIST_HELP = `autochat executions — list your agent executions, newest first

Usage:
  autochat executions [--limit N] [--url URL] [--token JWT]`;

type Connection = { client: AutochatClient };

function connect(io: ChatCommandIo, values: { url?: string; token?: string }): Connection | string {
  const env = io.env;
  const baseUrl = values.url ?? (env.AUTOCHAT_URL?.trim() || defaultServerUrl({ HOST: env.HOST, PORT: env.PORT }));
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol))
    return `--url must be an http:// or https:// URL, not "${baseUrl}"`;
  return { client: createAutochatClient({ baseUrl, token: values.token ?? (env.AUTOCHAT_TOKEN?.trim() || undefined) }) };
}

/** `NAME=VALUE` pairs as the inputs object; a name given twice becomes a list. */
export function parseInputs(pairs: string[]): Record<string, string | string[]> | string {
  const inputs: Record<string, string | string[]> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) return `--input takes NAME=VALUE, not "${pair}"`;
    const name = pair.slice(0, at).trim();
    const value = pair.slice(at + 1);
    const before = inputs[name];
    inputs[name] = before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value];
  }
  return inputs;
}

export async function runRunCommand(args: string[], io: ChatCommandIo): Promise<number> {
  let parsed: { values: { input?: string[]; url?: string; token?: string; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: {
        input: { type: 'string', short: 'i', multiple: true },
        url: { type: 'string' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${RUN_HELP}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${RUN_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr.write(`error: name one agent to run, by its slug\n\n${RUN_HELP}\n`);
    return 2;
  }
  const inputs = parseInputs(values.input ?? []);
  const connection = connect(io, values);
  if (typeof inputs === 'string' || typeof connection === 'string') {
    io.stderr.write(`error: ${typeof inputs === 'string' ? inputs : connection}\n`);
    return 2;
  }
  const { client } = connection;
  let executionId: string;
  try {
    ({ executionId } = await client.startExecution(positionals[0]!, inputs));
  } catch (error) {
    return failed(io, error);
  }
  io.stderr.write(`Running ${positionals[0]} (execution ${executionId}). Ctrl-C stops it.\n`);

  const reading = new AbortController();
  let interrupts = 0;
  const unsubscribe = io.onSignal(() => {
    interrupts++;
    if (interrupts === 1) {
      io.stderr.write('\nStopping the execution…\n');
      client
        .stopExecution(executionId)
        .catch((error: unknown) => io.stderr.write(`error: could not stop it: ${(error as Error).message}\n`));
    } else {
      reading.abort();
    }
  });
  let ended: 'finish' | 'abort' | undefined;
  let lastText = '';
  try {
    const response = await client.streamExecution(executionId, reading.signal);
    const reattach = (signal?: AbortSignal) => client.streamExecution(executionId, signal);
    for await (const chunk of readToEnd(response, reattach, { signal: reading.signal })) {
      if (chunk.type === 'text-delta') {
        io.stdout.write(chunk.delta);
        lastText = chunk.delta;
      } else if (chunk.type === 'tool-input-available') io.stderr.write(`\n[${chunk.toolName}]\n`);
      else if (chunk.type === 'error') io.stderr.write(`\nerror: ${chunk.errorText}\n`);
      else if (chunk.type === 'finish' || chunk.type === 'abort') ended = chunk.type;
    }
  } catch (error) {
    if (!reading.signal.aborted) return failed(io, error);
  } finally {
    unsubscribe();
  }
  if (lastText && !lastText.endsWith('\n')) io.stdout.write('\n');
  if (reading.signal.aborted) {
    io.stderr.write(`Left execution ${executionId}; it was asked to stop.\n`);
    return 1;
  }
  try {
    const execution = await client.getExecution(executionId);
    if (execution.status !== 'finished') io.stderr.write(`The execution ended ${execution.status}.\n`);
    return execution.status === 'finished' ? 0 : 1;
  } catch (error) {
    return ended === 'finish' ? 0 : failed(io, error);
  }
}

export async function runExecutionsCommand(args: string[], io: ChatCommandIo): Promise<number> {
  let values: { limit?: string; url?: string; token?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: { limit: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${LIST_HELP}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(`${LIST_HELP}\n`);
    return 0;
  }
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  const connection = connect(io, values);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100 || typeof connection === 'string') {
    io.stderr.write(`error: ${typeof connection === 'string' ? connection : '--limit takes a whole number from 1 to 100'}\n`);
    return 2;
  }
  try {
    const executions = await connection.client.listExecutions(limit);
    if (executions.length === 0) io.stdout.write('No executions yet. Run an agent with: autochat run SLUG --input NAME=VALUE\n');
    for (const execution of executions) {
      io.stdout.write(
        `${execution.executionId}  ${execution.status.padEnd(11)}  ${execution.createdAt.slice(0, 19).replace('T', ' ')}  ${execution.agentName} (${execution.slug})\n`,
      );
    }
    return 0;
  } catch (error) {
    return failed(io, error);
  }
}

function failed(io: ChatCommandIo, error: unknown): number {
  io.stderr.write(`error: ${AutochatClientError.isInstance(error) ? error.message : (error as Error).message}\n`);
  return 1;
}
