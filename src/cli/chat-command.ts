/**
 * `autochat chat`: a terminal chat with a running autochat server. With `-m` it sends one message,
 * streams the answer to stdout and exits; otherwise it reads lines (from a terminal or a pipe),
 * answers each, and understands a few slash commands. Ctrl-C stops a streaming answer on the server
 * too, not just on the screen.
 */
import { createInterface, type Interface } from 'node:readline';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  AutochatClientError,
  createAutochatClient,
  isAbort,
  type AutochatClient,
  type SessionSummary,
  type StreamRequest,
} from './autochat-client.js';
import { createAnswerRenderer, createStyle, renderHistory, wantsColor, type AnswerOutcome, type Terminal } from './chat-renderer.js';
import { readToEnd } from './sse-events.js';

/** The server `autochat serve` would start with the same environment: HOST and PORT, as it reads them. */
export function defaultServerUrl(env: { HOST?: string; PORT?: string }): string {
  const port = /^\d{1,5}$/.test(env.PORT?.trim() ?? '') ? env.PORT!.trim() : '3000';
  let host = env.HOST?.trim() || '127.0.0.1';
  // A server listening on every address is reached on this machine through loopback.
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::' || host === '[::]') host = '::1';
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

const HELP = `autochat chat — chat with a running autochat server in the terminal

Usage:
  autochat chat [--session ID] [--url URL] [--token JWT]     interactive chat
  autochat chat -m TEXT [--session ID] [--url URL]           send one message, print the answer, exit

Options:
  -m, --message TEXT   send TEXT, stream the answer to stdout and exit (1 on any error)
      --session ID     continue this session (default: a new one)
      --url URL        the server (default: $AUTOCHAT_URL, else http://$HOST:$PORT as
                       \`autochat serve\` reads them, else http://127.0.0.1:3000)
      --token JWT      bearer token for a server with AUTH_JWT_SECRET (default: $AUTOCHAT_TOKEN)
  -h, --help           this help

In the chat: Ctrl-C stops an answer; Ctrl-C twice or Ctrl-D quits. When the answer wants to use a
tool that needs your approval, you are asked \`Allow TOOL {input}? [y/N]\` (anything but y denies).
${commandHelp()}`;

function commandHelp(): string {
  return `Commands:
  /new          start a new session
  /sessions     list your recent sessions
  /open ID|N    open a session by id, or by its number in the last /sessions list
  /retry        answer your last message again (the earlier answer is kept as another version)
  /edit TEXT    replace your last message with TEXT and answer it (the original is kept as another version)
  /help         this list
  /quit         leave (also Ctrl-D)`;
}

/** The settings the chat command takes from its environment. */
const chatEnvSchema = z.object({
  AUTOCHAT_URL: z.string().trim().optional(),
  AUTOCHAT_TOKEN: z.string().trim().optional(),
  HOST: z.string().optional(),
  PORT: z.string().optional(),
  NO_COLOR: z.string().optional(),
});

type Readable = NodeJS.ReadableStream & { isTTY?: boolean };
type Writable = NodeJS.WritableStream & { isTTY?: boolean };

/** Where the command reads and writes; the real process by default. */
export type ChatCommandIo = {
  env: Record<string, string | undefined>;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Subscribes to interrupts that arrive as signals (a pipe, `kill -INT`); returns the unsubscribe. */
  onSignal: (handler: () => void) => () => void;
};

export const processIo = (): ChatCommandIo => ({
  // The CLI entry point is where the process environment enters, as `serve` hands it to config.ts.
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  onSignal: (handler) => {
    process.on('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  },
});

export async function runChatCommand(args: string[], io: ChatCommandIo = processIo()): Promise<number> {
  let values: { message?: string; session?: string; url?: string; token?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        message: { type: 'string', short: 'm' },
        session: { type: 'string' },
        url: { type: 'string' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }

  const env = chatEnvSchema.parse(io.env);
  const baseUrl = values.url ?? (env.AUTOCHAT_URL || defaultServerUrl(env));
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    io.stderr.write(`error: --url must be an http:// or https:// URL, not "${baseUrl}"\n`);
    return 2;
  }
  const token = values.token ?? (env.AUTOCHAT_TOKEN || undefined);
  const terminal: Terminal = {
    out: io.stdout,
    err: io.stderr,
    style: createStyle(wantsColor(io.stdout, io.env)),
    errStyle: createStyle(wantsColor(io.stderr, io.env)),
    // A person reading a terminal gets the Markdown rendered; a pipe gets it as the model wrote it.
    markdown: Boolean(io.stdout.isTTY),
  };
  const client = createAutochatClient({ baseUrl, token });

  if (values.message !== undefined) {
    if (values.message.trim() === '') {
      io.stderr.write('error: the message is empty\n');
      return 2;
    }
    return sendOneMessage({ client, terminal, io }, values.message, values.session);
  }
  return chatInteractively({ client, terminal, io }, { sessionId: values.session, hasToken: Boolean(token) });
}

type Context = { client: AutochatClient; terminal: Terminal; io: ChatCommandIo };

/** Asks the person a question and resolves with their line, or undefined when there is none (input ended, or `signal` aborted). */
type Ask = (question: string, signal: AbortSignal) => Promise<string | undefined>;

async function sendOneMessage({ client, terminal, io }: Context, message: string, sessionId: string | undefined): Promise<number> {
  // Made only if the answer asks something: reading stdin otherwise would keep a piped process waiting.
  let rl: Interface | undefined;
  let lines: ReturnType<typeof lineQueue> | undefined;
  const ask: Ask = (question, signal) => {
    if (!rl) {
      rl = createInterface({ input: io.stdin, terminal: false });
      lines = lineQueue(rl);
    }
    io.stdout.write(question);
    return echoed(nextLine(lines!, signal), io);
  };
  try {
    const id = sessionId ?? (await client.createSession()).sessionId;
    const answer = startAnswer(client, terminal, id, message, { showUsage: false, ask });
    const unsubscribe = io.onSignal(() => void answer.stop());
    const outcome = await answer.done.finally(() => {
      unsubscribe();
      rl?.close();
    });
    if (outcome.stopped) return 130;
    return outcome.finished && outcome.errors.length === 0 ? 0 : 1;
  } catch (error) {
    printError(terminal, error);
    return 1;
  }
}

type Answer = { done: Promise<AnswerOutcome>; stop(): Promise<void>; readonly stopping: boolean };

/**
 * Streams one answer. `stop()` aborts the request and asks the server to stop the run, since a
 * reader going away does not stop it; the outcome is reported after the server has answered.
 */
function startAnswer(
  client: AutochatClient,
  terminal: Terminal,
  sessionId: string,
  message: StreamRequest,
  options: { showUsage: boolean; ask: Ask },
): Answer {
  const controller = new AbortController();
  const renderer = createAnswerRenderer(terminal, options);
  let responded = false;
  let stopping: Promise<void> | undefined;

  const done = (async () => {
    try {
      let response: Response | undefined = await client.stream(sessionId, message, controller.signal);
      responded = true;
      const calls = new Map<string, { toolName: string; input: unknown }>();
      // An answer that waits for tool approvals ends its stream; each answer given goes on with the next.
      while (response) {
        const asked: { approvalId: string; toolCallId: string }[] = [];
        let ended = false;
        const chunks = readToEnd(response, (signal) => client.attach(sessionId, signal), { signal: controller.signal });
        for await (const chunk of chunks) {
          renderer.render(chunk);
          if (chunk.type === 'tool-input-available') calls.set(chunk.toolCallId, { toolName: chunk.toolName, input: chunk.input });
          if (chunk.type === 'tool-approval-request') asked.push({ approvalId: chunk.approvalId, toolCallId: chunk.toolCallId });
          if (chunk.type === 'finish' || chunk.type === 'abort') ended = true;
        }
        response = undefined;
        if (!ended && !controller.signal.aborted) renderer.failed('the connection closed before the answer was finished');
        if (!ended || asked.length === 0 || controller.signal.aborted) break;
        renderer.settle();
        for (const request of asked) {
          const call = calls.get(request.toolCallId);
          const question = `${terminal.style.bold(`Allow ${call?.toolName ?? 'this tool'} ${approvalPreview(call?.input)}?`)} [y/N] `;
          const reply = await options.ask(question, controller.signal);
          if (controller.signal.aborted) break;
          const approved = /^\s*y(es)?\s*$/i.test(reply ?? '');
          const answered = await client.answerApproval(sessionId, request.approvalId, approved, controller.signal);
          if ((answered.headers.get('content-type') ?? '').includes('text/event-stream')) response = answered;
          else await answered.body?.cancel();
        }
      }
    } catch (error) {
      // A request that failed before the stream started (4xx/5xx, unreachable) is the caller's to report.
      if (!controller.signal.aborted && !responded) throw error;
      if (!controller.signal.aborted) renderer.failed(messageOf(error));
    }
    if (stopping) await stopping;
    return renderer.end();
  })();

  return {
    done,
    get stopping() {
      return stopping !== undefined;
    },
    stop() {
      stopping ??= (async () => {
        renderer.stopped();
        controller.abort();
        try {
          let stopped = await client.stop(sessionId, AbortSignal.timeout(5000));
          // Interrupted before the server answered: the run may only just be starting, so ask once more.
          if (!stopped && !responded) {
            await new Promise((resolve) => setTimeout(resolve, 500));
            stopped = await client.stop(sessionId, AbortSignal.timeout(5000));
          }
        } catch (error) {
          terminal.err.write(`${terminal.errStyle.yellow(`warning: could not ask the server to stop the answer: ${messageOf(error)}`)}\n`);
        }
      })();
      return stopping;
    },
  };
}

type InteractiveOptions = { sessionId?: string; hasToken: boolean };

async function chatInteractively({ client, terminal, io }: Context, options: InteractiveOptions): Promise<number> {
  const { out, style } = terminal;
  let sessionId = options.sessionId;
  try {
    const info = await client.info();
    if (info.authRequired && !options.hasToken) {
      printError(terminal, new AutochatClientError('unauthorized', 'the server requires a token: pass --token or set AUTOCHAT_TOKEN'));
      return 1;
    }
    const model = info.demoModel
      ? `${info.model} ${style.yellow('(offline demo model — set OPEN_ROUTER_API_KEY on the server for real answers)')}`
      : info.model;
    out.write(
      `${style.bold('autochat')} ${style.dim(`v${info.version} ·`)} ${client.baseUrl} ${style.dim('·')} ${model} ${style.dim('· /help for commands')}\n`,
    );
    if (sessionId) await openSession(sessionId);
  } catch (error) {
    printError(terminal, error);
    return 1;
  }

  const terminalMode = Boolean(io.stdin.isTTY && io.stdout.isTTY);
  const rl = createInterface({ input: io.stdin, output: terminalMode ? io.stdout : undefined, terminal: terminalMode });
  rl.setPrompt(`${style.bold('you ›')} `);
  const lines = lineQueue(rl);
  let answer: Answer | undefined;
  let lastListing: SessionSummary[] = [];
  let interruptedOnce = false;

  // Lines typed ahead are answered first: a prompt between them would only interleave with output.
  const prompt = () => {
    if (terminalMode && !lines.hasPending()) rl.prompt();
  };
  const onInterrupt = () => {
    if (answer) {
      if (!answer.stopping) void answer.stop();
      return;
    }
    if (interruptedOnce) {
      if (terminalMode) out.write('\n');
      lines.end();
      return;
    }
    interruptedOnce = true;
    if (terminalMode) {
      // Forget the half-typed line, as a shell does.
      rl.write(null, { ctrl: true, name: 'e' });
      rl.write(null, { ctrl: true, name: 'u' });
      out.write('\n');
    }
    out.write(`${style.dim('(press Ctrl-C again to quit, or type /quit)')}\n`);
    prompt();
  };
  rl.on('SIGINT', onInterrupt);
  const unsubscribe = io.onSignal(onInterrupt);

  async function openSession(id: string): Promise<void> {
    const session = await client.getSession(id);
    sessionId = session.sessionId;
    out.write(`${style.dim(`session ${session.sessionId} · ${session.title ?? '(untitled)'} · ${session.messages.length} message(s)`)}\n`);
    renderHistory(terminal, session.messages);
  }

  const ask: Ask = (question, signal) => {
    out.write(question);
    return echoed(nextLine(lines, signal), io);
  };

  async function send(text: StreamRequest): Promise<void> {
    sessionId ??= (await client.createSession()).sessionId;
    answer = startAnswer(client, terminal, sessionId, text, { showUsage: true, ask });
    try {
      await answer.done;
    } finally {
      answer = undefined;
    }
  }

  async function runCommand(text: string): Promise<'quit' | undefined> {
    const [command = '', ...rest] = text.split(/\s+/);
    const argument = rest.join(' ');
    switch (command) {
      case '/quit':
      case '/exit':
      case '/q':
        return 'quit';
      case '/help':
      case '/?':
        out.write(`${commandHelp()}\n`);
        return;
      case '/new':
        sessionId = undefined;
        out.write(`${style.dim('new session: it is saved with your first message')}\n`);
        return;
      case '/sessions': {
        lastListing = await client.listSessions(20);
        if (lastListing.length === 0) out.write(`${style.dim('no sessions yet')}\n`);
        lastListing.forEach((session, index) => {
          const marker = session.sessionId === sessionId ? '*' : ' ';
          out.write(
            `${marker}${String(index + 1).padStart(3)}  ${session.sessionId}  ${session.title ?? style.dim('(untitled)')}  ${style.dim(ago(session.updatedAt))}\n`,
          );
        });
        return;
      }
      case '/open': {
        if (!argument) {
          out.write('usage: /open ID, or /open N for the N-th session of the last /sessions\n');
          return;
        }
        await openSession(resolveSession(argument, lastListing));
        return;
      }
      case '/retry':
        if (!sessionId) {
          out.write('nothing to retry yet: send a message first\n');
          return;
        }
        await send({ regenerate: true });
        return;
      case '/edit': {
        if (!argument) {
          out.write('usage: /edit TEXT — replaces your last message with TEXT\n');
          return;
        }
        const last = sessionId ? (await client.getSession(sessionId)).messages.findLast((message) => message.role === 'user') : undefined;
        if (!last) {
          out.write('nothing to edit yet: send a message first\n');
          return;
        }
        await send({ message: argument, parentId: last.parentId ?? null });
        return;
      }
      default:
        out.write(`unknown command ${command} — /help lists them\n`);
        return;
    }
  }

  try {
    prompt();
    for (;;) {
      const line = await lines.next();
      if (line === undefined) break;
      interruptedOnce = false;
      const text = line.trim();
      if (text !== '') {
        try {
          if (text.startsWith('/')) {
            if ((await runCommand(text)) === 'quit') break;
          } else {
            await send(text);
          }
        } catch (error) {
          printError(terminal, error);
        }
      }
      prompt();
    }
  } finally {
    unsubscribe();
    rl.close();
  }
  return 0;
}

/** Lines in the order typed or piped, one at a time, so each is handled after the previous one finished. */
function lineQueue(rl: Interface) {
  const pending: string[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  rl.on('line', (line) => {
    pending.push(line);
    notify();
  });
  rl.on('close', () => {
    ended = true;
    notify();
  });
  return {
    async next(): Promise<string | undefined> {
      while (pending.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
      return pending.shift();
    },
    hasPending: () => pending.length > 0,
    end() {
      ended = true;
      pending.length = 0;
      notify();
    },
  };
}

/** The next line, or undefined when input ends or `signal` aborts first. */
function nextLine(lines: ReturnType<typeof lineQueue>, signal: AbortSignal): Promise<string | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    void lines.next().then((line) => {
      signal.removeEventListener('abort', onAbort);
      resolve(line);
    });
  });
}

/** Writes the reply after its question when input is not a terminal (which would have echoed it). */
async function echoed(reply: Promise<string | undefined>, io: ChatCommandIo): Promise<string | undefined> {
  const line = await reply;
  if (!io.stdin.isTTY) io.stdout.write(`${line ?? ''}\n`);
  return line;
}

/** A tool call's input as the approval question shows it: compact JSON, cut at 200 characters. */
function approvalPreview(input: unknown): string {
  const text = JSON.stringify(input ?? {}) ?? '';
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** `/open 2` means the second session of the last listing; an id prefix from it works too. */
function resolveSession(argument: string, listing: SessionSummary[]): string {
  if (/^\d+$/.test(argument)) {
    const session = listing[Number(argument) - 1];
    if (!session)
      throw new AutochatClientError(
        'not_found',
        listing.length === 0 ? 'run /sessions first, then /open N' : `there is no session number ${argument} in the last /sessions list`,
      );
    return session.sessionId;
  }
  const matches = listing.filter((session) => session.sessionId.startsWith(argument.toLowerCase()));
  if (matches.length === 1) return matches[0]!.sessionId;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(argument)) {
    throw new AutochatClientError('not_found', `"${argument}" is neither a session id nor a number from the last /sessions list`);
  }
  return argument;
}

function ago(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (Number.isNaN(seconds)) return '';
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} d ago`;
}

function printError(terminal: Terminal, error: unknown): void {
  terminal.err.write(`${terminal.errStyle.red(`error: ${messageOf(error)}`)}\n`);
}

function messageOf(error: unknown): string {
  if (AutochatClientError.isInstance(error)) return error.message;
  if (isAbort(error)) return 'the request timed out';
  if (error instanceof Error) return error.message;
  return String(error);
}
