/**
 * Readers for the files in deploy/: the Dockerfile's instructions, the compose file (through
 * ./yaml.ts's reader: anything outside its YAML subset is an error, never a silent
 * misreading) and the systemd unit's directives.
 * No Docker engine or systemd runs the tests, so these are what the tests compare and run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../helpers/process.ts';
import { readYaml, type Yaml } from './yaml.ts';

export type { Yaml };

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

// ---- compose ----

export function readCompose(path = join(DEPLOY_DIR, 'compose.yaml')): Record<string, Yaml> {
  const doc = readYaml(readFileSync(path, 'utf8'));
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
