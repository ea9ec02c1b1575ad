/**
 * The layer rule (docs/architecture.md, "Modules and layers"): the store is the lowest layer, so no
 * module under src/store/ (tests aside) imports from the layers built on it. A failure names the file and import.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..');
const STORE = join(SRC, 'store');
/** The layers above the store. */
const HIGHER = ['chat', 'http', 'executions', 'mcp', 'cli', 'tools', 'llm', 'streams'];

/** Every import specifier of a module: static imports and exports, and dynamic `import()`. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g)) found.push(match[1]!);
  for (const match of source.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(match[1]!);
  for (const match of source.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) found.push(match[1]!);
  return found;
}

async function modulesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('the store layer', () => {
  it('finds the imports of a module, static and dynamic', () => {
    const source = `import type { A } from '../chat/types.js';\nexport { B } from "./b.js";\nconst c = await import('../http/app.js');\nimport './side.js';`;
    expect(importsOf(source).sort()).toEqual(['../chat/types.js', '../http/app.js', './b.js', './side.js']);
  });

  it('imports nothing from the layers above it', async () => {
    const offending: string[] = [];
    for (const file of await modulesUnder(STORE)) {
      for (const specifier of importsOf(await readFile(file, 'utf8'))) {
        if (!specifier.startsWith('.')) continue;
        const layer = relative(SRC, resolve(dirname(file), specifier)).split(/[\\/]/)[0]!;
        if (HIGHER.includes(layer)) offending.push(`${relative(SRC, file)} imports ${specifier}`);
      }
    }
    expect(offending).toEqual([]);
  });
});
