/**
 * The documentation stays true: the configuration reference is exactly what the generator makes from
 * `envSchema` today, every operation of the served OpenAPI document has a runnable example in
 * docs/api.md, and every runnable `curl` example
 * there (a fenced block ```sh title="…" expect=NNN) gets the status it documents from a live server
 * running the offline demo model — and, for JSON answers, the fields its example response shows.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envSchema } from '../src/config.js';
import type { OpenApiDocument } from '../src/http/openapi-document.js';
import type { RunningServer } from '../src/http/server.js';
import { createMcpEndpoint } from '../src/mcp/mcp-http-endpoint.js';
import { descriptionProblems, descriptions, REFERENCE_PATH, renderConfigurationReference } from '../scripts/config-reference.js';
import { startTestServer } from './support/test-service.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const API_DOC = fileURLToPath(new URL('../docs/api.md', import.meta.url));

describe('docs/configuration.md', () => {
  it('is exactly what scripts/config-reference.ts generates from envSchema', async () => {
    const committed = await readFile(REFERENCE_PATH, 'utf8');
    expect(committed, 'regenerate it: node --import tsx scripts/config-reference.ts --write').toBe(renderConfigurationReference());
  });

  it('describes every variable of envSchema, and no variable that is gone', () => {
    expect(descriptionProblems(Object.keys(envSchema.shape))).toEqual([]);
    const problems = descriptionProblems(['PORT', 'NEW_SETTING'], {
      PORT: descriptions.PORT!,
      OLD_SETTING: { group: 'Server', text: 'Replaced by `NEW_SETTING`; see also `GONE_TOO`.' },
    });
    expect(problems).toEqual([
      'NEW_SETTING is in envSchema but has no description in scripts/config-reference.ts',
      'OLD_SETTING has a description but is no longer in envSchema',
      'the description of OLD_SETTING names GONE_TOO, which is not in envSchema',
    ]);
  });

  it('the generator command exits 0 and reports the committed file as current', async () => {
    const { stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/config-reference.ts', '--check'], { cwd: ROOT });
    expect(stderr).toBe('');
  });
});

type Example = { title: string; expect: number; command: string; documented?: unknown; line: number };

/** The runnable examples of a Markdown file, each with the JSON example response that follows it, if any. */
function runnableExamples(markdown: string): Example[] {
  const fences = [...markdown.matchAll(/^```(\S*)([^\n]*)\n([\s\S]*?)^```\s*$/gm)];
  const examples: Example[] = [];
  fences.forEach((fence, index) => {
    const [, lang, info, body] = fence as unknown as [string, string, string, string];
    const status = /\bexpect=(\d{3})\b/.exec(info)?.[1];
    if (lang !== 'sh' || !status) return;
    const next = fences[index + 1];
    let documented: unknown;
    // The example response is the JSON block right below the command, with nothing in between.
    if (next && next[1] === 'json' && markdown.slice(fence.index + fence[0].length, next.index).trim() === '') {
      try {
        documented = JSON.parse(next[3]!);
      } catch {
        documented = undefined; // shortened with … : only the status is checked
      }
    }
    examples.push({
      title: /title="([^"]*)"/.exec(info)?.[1] ?? '(untitled)',
      expect: Number(status),
      command: body,
      documented,
      line: markdown.slice(0, fence.index).split('\n').length,
    });
  });
  return examples;
}

/** The last status code curl wrote (each curl call prints `\n<status>` after its output). */
function lastStatus(stdout: string): { status: number; body: string } {
  const lines = stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  return { status, body: lines.join('\n').trim() };
}

/** The text under each heading of level 1–3 (its heading first, without the #s), up to the next such heading outside code. */
function headedSections(markdown: string): string[] {
  const sections: string[] = [];
  let inCode = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inCode = !inCode;
    const heading = inCode ? null : /^#{1,3} (.*)$/.exec(line);
    if (heading) sections.push(heading[1]!);
    else if (sections.length > 0) sections[sections.length - 1] += `\n${line}`;
  }
  return sections;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

describe('docs/api.md', () => {
  let server: RunningServer;
  let markdown: string;

  beforeAll(async () => {
    markdown = await readFile(API_DOC, 'utf8');
    // A short word delay keeps the demo answer running long enough for the stop and resume examples.
    server = await startTestServer({ dataDir: 'memory://', demoDelayMs: 15, mcp: createMcpEndpoint });
  });
  afterAll(async () => server?.close());

  it('has a section with a tested curl example (expect=NNN) for every operation of the OpenAPI document the server serves', async () => {
    const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument;
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations).toContain('POST /mcp');
    const sections = headedSections(markdown);
    const missing: string[] = [];
    for (const operation of operations) {
      const heading = `\`${operation}\``;
      const section = sections.find((text) => text.startsWith(heading));
      if (!section) missing.push(`docs/api.md has no "### ${heading}" section`);
      else if (!/```sh[^\n]*\bexpect=\d{3}\b[^\n]*\n[^`]*\bcurl\b/.test(section))
        missing.push(`the ${heading} section has no curl example marked expect=NNN`);
    }
    expect(missing).toEqual([]);
  });

  // Some fifty examples run one after another (several change the same user's data), each a bash and
  // a few curls: on a busy machine that takes longer than the default minute.
  it('runs every example marked expect=NNN and gets that status (and the documented fields)', async () => {
    const examples = runnableExamples(markdown);
    expect(examples.length).toBeGreaterThanOrEqual(25);
    const failures: string[] = [];
    for (const example of examples) {
      const created = await fetch(`${server.url}/api/chat/sessions`, { method: 'POST' });
      const session = ((await created.json()) as { sessionId: string }).sessionId;
      const script = `set -e\ncurl() { command curl --max-time 20 "$@" -w '\\n%{http_code}\\n'; }\n${example.command}`;
      let stdout: string;
      try {
        ({ stdout } = await run('bash', ['-c', script], {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AUTOCHAT: server.url, SESSION: session },
          timeout: 30_000,
          maxBuffer: 16 * 1024 * 1024,
        }));
      } catch (error) {
        failures.push(`line ${example.line} "${example.title}": the command failed: ${(error as Error).message.split('\n')[0]}`);
        continue;
      }
      const { status, body } = lastStatus(stdout);
      if (status !== example.expect) {
        failures.push(`line ${example.line} "${example.title}": expected ${example.expect}, got ${status}: ${body.slice(0, 300)}`);
        continue;
      }
      if (!isRecord(example.documented)) continue;
      let actual: unknown;
      try {
        actual = JSON.parse(body);
      } catch {
        failures.push(`line ${example.line} "${example.title}": documented a JSON response, got: ${body.slice(0, 200)}`);
        continue;
      }
      const missing = Object.keys(example.documented).filter((key) => !isRecord(actual) || !(key in actual));
      if (missing.length > 0) failures.push(`line ${example.line} "${example.title}": the response lacks ${missing.join(', ')}`);
      const documentedCode = isRecord(example.documented.error) ? example.documented.error.code : undefined;
      const actualCode = isRecord(actual) && isRecord(actual.error) ? actual.error.code : undefined;
      if (documentedCode !== actualCode)
        failures.push(`line ${example.line} "${example.title}": error code ${String(actualCode)}, documented ${String(documentedCode)}`);
    }
    expect(failures).toEqual([]);
  }, 180_000);
});
