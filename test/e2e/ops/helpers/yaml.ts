/**
 * A reader for the YAML subset the files in deploy/ use (compose.yaml, Prometheus's
 * configuration and rule files): block maps and lists (a list item may be a map: `- key:
 * value` and its keys below; a key's list may stand at the key's own indent), quoted and
 * plain one-line scalars, flow lists of scalars, anchors, aliases and merge keys (`<<`).
 * Anything else (block scalars, flow maps, tags) is an error, never a silent misreading, so a
 * file this reader cannot read fails the test that reads it.
 */

export type Yaml = string | null | Yaml[] | { [key: string]: Yaml };

interface Line {
  indent: number;
  text: string;
  readonly no: number;
}

function stripComment(s: string): string {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if ((c === '"' || c === "'") && (i === 0 || /[\s:[,]/.test(s[i - 1]!))) quote = c;
    else if (c === '#' && (i === 0 || s[i - 1] === ' ')) return s.slice(0, i);
  }
  return s;
}

function scalar(raw: string, no: number): Yaml {
  const s = raw.trim();
  if (s === '' || s === '~' || s === 'null') return null;
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw new Error(`yaml line ${no}: bad quotes`);
    return JSON.parse(s) as string;
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new Error(`yaml line ${no}: bad quotes`);
    return s.slice(1, -1).replaceAll("''", "'");
  }
  if (s.startsWith('[')) {
    if (!s.endsWith(']')) throw new Error(`yaml line ${no}: a flow list must end on its line`);
    const inner = s.slice(1, -1).trim();
    if (inner === '') return [];
    // Split at the commas outside quotes.
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
    return items.map((item) => scalar(item, no));
  }
  if (/^[|>{&*!%@`]/.test(s)) throw new Error(`yaml line ${no}: unsupported YAML: ${s}`);
  return s;
}

/** Parses `text` (the subset in the file comment); merge keys are applied. */
export function readYaml(text: string): Yaml {
  const lines: Line[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.includes('\t')) throw new Error(`yaml line ${i + 1}: tab`);
    const body = stripComment(raw).trimEnd();
    if (body.trim() === '') return;
    lines.push({ indent: body.length - body.trimStart().length, text: body.trim(), no: i + 1 });
  });
  const anchors = new Map<string, Yaml>();
  let pos = 0;

  const block = (indent: number): Yaml => {
    const first = lines[pos]!;
    if (first.text === '-' || first.text.startsWith('- ')) {
      const list: Yaml[] = [];
      while (pos < lines.length && lines[pos]!.indent === indent) {
        const l = lines[pos]!;
        if (l.text !== '-' && !l.text.startsWith('- '))
          throw new Error(`yaml line ${l.no}: expected a list item`);
        const rest = l.text.slice(1).trimStart();
        if (/^("[^"]*"|'[^']*'|[^:\s"'[][^:]*?):(\s|$)/.test(rest)) {
          // A map as the item: its first key on this line, the others below at its indent.
          l.indent += l.text.length - rest.length;
          l.text = rest;
          list.push(block(l.indent));
        } else {
          list.push(scalar(rest, l.no));
          pos++;
        }
      }
      return list;
    }
    const map: Record<string, Yaml> = {};
    while (pos < lines.length && lines[pos]!.indent === indent) {
      const l = lines[pos]!;
      const m = /^("[^"]*"|'[^']*'|[^:\s][^:]*?):(?:\s+(.*))?$/.exec(l.text);
      if (m === null) throw new Error(`yaml line ${l.no}: expected key: value`);
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
        if (!anchors.has(name)) throw new Error(`yaml line ${l.no}: unknown alias ${name}`);
        value = anchors.get(name)!;
      } else if (rest === '') {
        const next = lines[pos];
        const nested =
          next !== undefined &&
          (next.indent > indent || (next.indent === indent && next.text.startsWith('- ')));
        value = nested ? block(next.indent) : null;
      } else value = scalar(rest, l.no);
      if (anchor !== undefined) anchors.set(anchor, value);
      if (key === '<<') {
        if (value === null || typeof value !== 'object' || Array.isArray(value))
          throw new Error(`yaml line ${l.no}: << needs a map`);
        for (const [k, v] of Object.entries(value)) if (!(k in map)) map[k] = v;
        continue;
      }
      if (key in map) throw new Error(`yaml line ${l.no}: duplicate key ${key}`);
      map[key] = value;
    }
    return map;
  };

  if (lines.length === 0) return null;
  const doc = block(lines[0]!.indent);
  if (pos !== lines.length) throw new Error(`yaml line ${lines[pos]!.no}: bad indentation`);
  return doc;
}
