/**
 * Prints the functions with the most self time in a V8 CPU profile (`node --cpu-prof`):
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile | directory> [top=30] [--inclusive <path part, e.g. /src/>]
 * Self time is summed per function (name, file, line); totals by package are printed too, which is
 * usually the quickest way to see whether the time goes to our code, the AI SDK, PGlite or Node.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] };
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };

export type SelfTime = { name: string; where: string; ms: number; share: number };

export function selfTimes(profile: Profile): { functions: SelfTime[]; packages: SelfTime[]; totalMs: number } {
  const byNode = new Map<number, number>();
  profile.samples.forEach((nodeId, index) => byNode.set(nodeId, (byNode.get(nodeId) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000));
  const totalMs = [...byNode.values()].reduce((sum, ms) => sum + ms, 0);
  const functions = new Map<string, SelfTime>();
  const packages = new Map<string, SelfTime>();
  for (const node of profile.nodes) {
    const ms = byNode.get(node.id) ?? 0;
    if (ms === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = shorten(url);
    const key = `${functionName}@${where}:${lineNumber}`;
    const entry = functions.get(key) ?? { name: functionName || '(anonymous)', where: `${where}:${lineNumber + 1}`, ms: 0, share: 0 };
    entry.ms += ms;
    functions.set(key, entry);
    const pkg = packageOf(url, functionName);
    const total = packages.get(pkg) ?? { name: pkg, where: '', ms: 0, share: 0 };
    total.ms += ms;
    packages.set(pkg, total);
  }
  const finish = (map: Map<string, SelfTime>) =>
    [...map.values()].map((entry) => ({ ...entry, share: entry.ms / totalMs })).sort((a, b) => b.ms - a.ms);
  return { functions: finish(functions), packages: finish(packages), totalMs };
}

/**
 * Inclusive time of every function whose file path contains `filter`: the time of all samples with
 * that function anywhere on the stack (counted once per sample, even when recursive).
 */
export function inclusiveTimes(profile: Profile, filter: string): SelfTime[] {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, SelfTime>();
  let totalMs = 0;
  profile.samples.forEach((nodeId, index) => {
    const ms = (profile.timeDeltas[index] ?? 0) / 1000;
    totalMs += ms;
    const seen = new Set<string>();
    for (let id: number | undefined = nodeId; id !== undefined; id = parent.get(id)) {
      const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
      if (!url.includes(filter)) continue;
      const key = `${functionName}@${shorten(url)}:${lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = totals.get(key) ?? { name: functionName || '(anonymous)', where: `${shorten(url)}:${lineNumber + 1}`, ms: 0, share: 0 };
      entry.ms += ms;
      totals.set(key, entry);
    }
  });
  return [...totals.values()].map((entry) => ({ ...entry, share: entry.ms / totalMs })).sort((a, b) => b.ms - a.ms);
}

function shorten(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) return url.slice(modules + 'node_modules/'.length);
  const source = url.indexOf('/src/');
  if (source !== -1) return url.slice(source + 1);
  return url.replace(/^file:\/\//, '') || '(native)';
}

function packageOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native / V8)';
  // In autochat the WebAssembly is PGlite's PostgreSQL (the large module) and its extensions.
  if (url.startsWith('wasm://')) return '(WebAssembly: PGlite)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node (built-in)';
  if (url.includes('/src/')) return 'autochat src';
  if (url.includes('/bench/')) return 'bench';
  return url;
}

/** A profile file, or the largest profile in a directory (the main thread's; tsx's loader thread writes a small one). */
async function profileFile(path: string): Promise<string> {
  if (!(await stat(path)).isDirectory()) return path;
  const files = (await readdir(path)).filter((name) => name.endsWith('.cpuprofile')).map((name) => join(path, name));
  const sized = await Promise.all(files.map(async (file) => ({ file, size: (await stat(file)).size })));
  const largest = sized.sort((a, b) => b.size - a.size)[0];
  if (!largest) throw new Error(`no .cpuprofile in ${path}`);
  return largest.file;
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  process.stdout.on('error', () => process.exit(0)); // e.g. piped into `head`
  const given = process.argv[2];
  if (!given) {
    console.error('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile | directory> [top] [--inclusive <path part>]');
    process.exit(2);
  }
  const file = await profileFile(given);
  const inclusiveFilter = process.argv.indexOf('--inclusive');
  const top = Number(process.argv[3] && !process.argv[3].startsWith('--') ? process.argv[3] : 30);
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
  if (inclusiveFilter !== -1) {
    const filter = process.argv[inclusiveFilter + 1] ?? '/src/';
    console.log(`Inclusive time of functions in files matching "${filter}":`);
    for (const entry of inclusiveTimes(profile, filter).slice(0, top)) {
      console.log(`${(entry.share * 100).toFixed(1).padStart(5)} %  ${entry.ms.toFixed(0).padStart(7)} ms  ${entry.name}  ${entry.where}`);
    }
    process.exit(0);
  }
  const { functions, packages, totalMs } = selfTimes(profile);
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)} %`;
  console.log(`${file}: ${(totalMs / 1000).toFixed(1)} s sampled\n\nBy package (self time):`);
  for (const entry of packages.slice(0, 15)) console.log(`${pct(entry.share)}  ${entry.ms.toFixed(0).padStart(7)} ms  ${entry.name}`);
  console.log(`\nTop ${top} functions (self time):`);
  for (const entry of functions.slice(0, top))
    console.log(`${pct(entry.share)}  ${entry.ms.toFixed(0).padStart(7)} ms  ${entry.name}  ${entry.where}`);
}
