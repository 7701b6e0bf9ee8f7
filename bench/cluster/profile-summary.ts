/**
 * Where a node's CPU time went, from a V8 .cpuprofile (`bench cluster --profile-node I`):
 * self time grouped by component (a package in node_modules, a folder of src/, Node's own
 * internals, GC) and the top functions.
 *
 *   node_modules/.bin/node bench/cluster/profile-summary.ts FILE.cpuprofile [--top N]
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The component a stack frame belongs to. */
export function componentOf(url: string, functionName: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    return `native: ${functionName || '(anonymous)'}`;
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg !== null) return pkg[1]!;
  const src = /\/(src|bench)\/([^/]+)\//.exec(url);
  if (src !== null) return `${src[1]}/${src[2]}`;
  if (url.startsWith('node:')) return 'node internals';
  return url;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly components: Array<{ name: string; ms: number; share: number }>;
  readonly functions: Array<{ name: string; where: string; ms: number; share: number }>;
}

export function summariseProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  const components = new Map<string, number>();
  const functions = new Map<string, { where: string; ms: number }>();
  let idle = 0;
  let total = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const component = componentOf(url, functionName);
    total += ms;
    if (component === 'idle') {
      idle += ms;
      continue;
    }
    components.set(component, (components.get(component) ?? 0) + ms);
    const key = `${functionName || '(anonymous)'} ${url}:${lineNumber + 1}`;
    const f = functions.get(key) ?? {
      where: `${url.replace(/^.*\/(node_modules|src|bench)\//, '$1/')}:${lineNumber + 1}`,
      ms: 0,
    };
    f.ms += ms;
    functions.set(key, f);
  }
  const busy = total - idle;
  return {
    totalMs: total,
    idleMs: idle,
    components: [...components]
      .map(([name, ms]) => ({ name, ms, share: ms / busy }))
      .sort((a, b) => b.ms - a.ms),
    functions: [...functions]
      .map(([key, f]) => ({
        name: key.split(' ')[0]!,
        where: f.where,
        ms: f.ms,
        share: f.ms / busy,
      }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  };
}

if (import.meta.main) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: profile-summary.ts FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  const topIndex = process.argv.indexOf('--top');
  const top = topIndex === -1 ? 25 : Number(process.argv[topIndex + 1]);
  const s = summariseProfile(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, top);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `profile: ${(s.totalMs / 1000).toFixed(1)} s sampled, ${((s.totalMs - s.idleMs) / 1000).toFixed(1)} s busy (${pct(1 - s.idleMs / s.totalMs)})`,
    '',
    'busy time by component:',
    ...s.components
      .slice(0, 20)
      .map(
        (c) =>
          `  ${pct(c.share).padStart(6)}  ${(c.ms / 1000).toFixed(2).padStart(7)} s  ${c.name}`,
      ),
    '',
    `top ${top} functions by self time:`,
    ...s.functions.map((f) => `  ${pct(f.share).padStart(6)}  ${f.name}  ${f.where}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
