/**
 * Readers for the files in deploy/: the Dockerfile's instructions, the compose file (a YAML
 * subset: block maps and lists, quoted and plain scalars, flow lists, anchors and merge keys;
 * anything else is an error, never a silent misreading) and the systemd unit's directives.
 * No Docker engine or systemd runs the tests, so these are what the tests compare and run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../helpers/process.ts';

export const DEPLOY_DIR = join(REPO_ROOT, 'deploy');

// ---- Dockerfile ----

export interface DockerInstruction {
  readonly op: string;
  readonly args: string;
  /** The stage (0-based) the instruction belongs to. */
  readonly stage: number;
}

/** Instructions with continuation lines joined and comments dropped. */
export function readDockerfile(path = join(DEPLOY_DIR, 'Dockerfile')): DockerInstruction[] {
  const out: DockerInstruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (pending !== '' && line.startsWith('#')) continue; // comments inside a continuation
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^([A-Za-z]+)\s+(.*)$/s.exec(full);
    if (m === null) throw new Error(`Dockerfile: cannot read line: ${full}`);
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2]!.trim(), stage });
  }
  if (pending !== '') throw new Error('Dockerfile: ends inside a continuation line');
  return out;
}

/** The JSON (exec) form of CMD / ENTRYPOINT / HEALTHCHECK CMD; the shell form is refused. */
export function execForm(args: string, what: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new Error(`${what} is not in exec (JSON array) form: ${args}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string') || parsed.length === 0)
    throw new Error(`${what} is not a non-empty JSON array of strings: ${args}`);
  return parsed as string[];
}

/** The last value of `op` in the final stage (or undefined). */
export function finalStage(instructions: readonly DockerInstruction[], op: string) {
  const last = Math.max(...instructions.map((i) => i.stage));
  return instructions.filter((i) => i.stage === last && i.op === op).at(-1);
}

// ---- compose (YAML subset) ----

export type Yaml = string | null | Yaml[] | { [key: string]: Yaml };

interface Line {
  readonly indent: number;
  readonly text: string;
  readonly no: number;
}

function stripComment(s: string): string {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || s[i - 1] === ' ')) return s.slice(0, i);
  }
  return s;
}

function scalar(raw: string, no: number): Yaml {
  const s = raw.trim();
  if (s === '' || s === '~' || s === 'null') return null;
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw new Error(`compose line ${no}: bad quotes`);
    return JSON.parse(s) as string;
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new Error(`compose line ${no}: bad quotes`);
    return s.slice(1, -1).replaceAll("''", "'");
  }
  if (s.startsWith('[')) {
    if (!s.endsWith(']')) throw new Error(`compose line ${no}: a flow list must end on its line`);
    const inner = s.slice(1, -1).trim();
    if (inner === '') return [];
    const items: string[] = [];
    let cur = '';
    let quote: string | undefined;
    for (const c of inner) {
      if (quote !== undefined) {
        cur += c;
        if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") {
        quote = c;
        cur += c;
      } else if (c === ',') {
        items.push(cur);
        cur = '';
      } else cur += c;
    }
    items.push(cur);
    return items.map((i) => scalar(i, no));
  }
  if (/^[|>{&*!%@`]/.test(s)) throw new Error(`compose line ${no}: unsupported YAML: ${s}`);
  return s;
}

/** Parses the compose file's YAML subset (see the file comment); merge keys are applied. */
export function parseYaml(text: string): Yaml {
  const lines: Line[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.includes('\t')) throw new Error(`compose line ${i + 1}: tab`);
    const body = stripComment(raw).trimEnd();
    if (body.trim() === '') return;
    lines.push({ indent: body.length - body.trimStart().length, text: body.trim(), no: i + 1 });
  });
  const anchors = new Map<string, Yaml>();
  let pos = 0;

  const block = (indent: number): Yaml => {
    const first = lines[pos];
    if (first === undefined || first.indent < indent) return null;
    if (first.text.startsWith('- ') || first.text === '-') {
      const list: Yaml[] = [];
      while (pos < lines.length && lines[pos]!.indent === first.indent) {
        const l = lines[pos]!;
        if (!l.text.startsWith('-')) throw new Error(`compose line ${l.no}: expected a list item`);
        if (/^-\s+[\w.-]+:(\s|$)/.test(l.text))
          throw new Error(`compose line ${l.no}: maps in lists are not supported`);
        list.push(scalar(l.text.slice(1), l.no));
        pos++;
      }
      return list;
    }
    const map: Record<string, Yaml> = {};
    while (pos < lines.length && lines[pos]!.indent === first.indent) {
      const l = lines[pos]!;
      const m = /^("[^"]*"|'[^']*'|[^:\s][^:]*?):(?:\s+(.*))?$/.exec(l.text);
      if (m === null) throw new Error(`compose line ${l.no}: expected key: value`);
      const key = scalar(m[1]!, l.no) as string;
      let rest = (m[2] ?? '').trim();
      pos++;
      let anchor: string | undefined;
      const a = /^&([\w-]+)\s*(.*)$/.exec(rest);
      if (a !== null) {
        anchor = a[1];
        rest = a[2]!;
      }
      let value: Yaml;
      if (rest.startsWith('*')) {
        const name = rest.slice(1);
        if (!anchors.has(name)) throw new Error(`compose line ${l.no}: unknown alias ${name}`);
        value = anchors.get(name)!;
      } else if (rest === '') {
        const next = lines[pos];
        value = next !== undefined && next.indent > l.indent ? block(next.indent) : null;
      } else value = scalar(rest, l.no);
      if (anchor !== undefined) anchors.set(anchor, value);
      if (key === '<<') {
        if (value === null || typeof value !== 'object' || Array.isArray(value))
          throw new Error(`compose line ${l.no}: << needs a map`);
        for (const [k, v] of Object.entries(value)) if (!(k in map)) map[k] = v;
        continue;
      }
      if (key in map) throw new Error(`compose line ${l.no}: duplicate key ${key}`);
      map[key] = value;
    }
    return map;
  };

  const doc = block(0);
  if (pos !== lines.length) throw new Error(`compose line ${lines[pos]!.no}: bad indentation`);
  return doc;
}

export function readCompose(path = join(DEPLOY_DIR, 'compose.yaml')): Record<string, Yaml> {
  const doc = parseYaml(readFileSync(path, 'utf8'));
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error('compose: not a map');
  return doc;
}

// ---- systemd unit ----

/** Every `Key=value` per section, in order (systemd allows keys to repeat). */
export function readUnit(
  path = join(DEPLOY_DIR, 'civitas.service'),
): Map<string, Array<[string, string]>> {
  const sections = new Map<string, Array<[string, string]>>();
  let current: Array<[string, string]> | undefined;
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s !== null) {
      current = [];
      sections.set(s[1]!, current);
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (kv === null || current === undefined) throw new Error(`unit: cannot read: ${line}`);
    current.push([kv[1]!, kv[2]!.trim()]);
  }
  return sections;
}

/** The last value of `key` in `section` (systemd: later lines win, an empty one resets). */
export function unitValue(
  unit: Map<string, Array<[string, string]>>,
  section: string,
  key: string,
): string | undefined {
  return unit
    .get(section)
    ?.filter(([k]) => k === key)
    .at(-1)?.[1];
}
