import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

// Code cites the validity rules of docs/CONSENSUS.md as `Rule N4` or `Rules NV2–NV5`; the doc
// defines each once as its tag and a colon (`N4: prepared — …`).

const ROOT = join(import.meta.dirname, '../../..');
const SOURCE_DIR = join(ROOT, 'src/consensus');
const SPEC = join(ROOT, 'docs/CONSENSUS.md');

const CITATION = /\bRules? ([A-Z]{1,3})(\d+)(?:\s*[–-]\s*([A-Z]{1,3})?(\d+))?/g;
const DEFINITION = /(?<![\w*])([A-Z]{1,3}\d+):/g;

interface Citation {
  readonly tag: string;
  readonly at: string;
}

/** Every rule tag cited in `text`, ranges expanded. */
function citedRules(text: string, file: string): Citation[] {
  const out: Citation[] = [];
  for (const match of text.matchAll(CITATION)) {
    const [, prefix, first, rangePrefix, last] = match;
    const line = text.slice(0, match.index).split('\n').length;
    const at = `${file}:${line}`;
    if (rangePrefix !== undefined && rangePrefix !== prefix) {
      throw new Error(`${at}: a range spans two rule families: ${match[0]}`);
    }
    const to = last === undefined ? Number(first) : Number(last);
    for (let n = Number(first!); n <= to; n++) out.push({ tag: `${prefix}${n}`, at });
  }
  return out;
}

/** Rule tags defined in the spec, with how often; inline code spans are examples, not rules. */
function definedRules(markdown: string): Map<string, number> {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  const counts = new Map<string, number>();
  for (const [, tag] of prose.matchAll(DEFINITION)) counts.set(tag!, (counts.get(tag!) ?? 0) + 1);
  return counts;
}

function consensusSources(): Array<{ file: string; text: string }> {
  return readdirSync(SOURCE_DIR, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => ({ file: `src/consensus/${f}`, text: readFileSync(join(SOURCE_DIR, f), 'utf8') }));
}

describe('rule tags', () => {
  it('every rule cited in src/consensus is defined once in docs/CONSENSUS.md', () => {
    const cited = consensusSources().flatMap(({ file, text }) => citedRules(text, file));
    const tags = new Set(cited.map((c) => c.tag));
    // Guards the scan itself: if it found nothing, the check below would pass vacuously.
    for (const known of ['P1', 'N1', 'V1', 'NV1', 'NV5']) assert.ok(tags.has(known), known);
    const defined = definedRules(readFileSync(SPEC, 'utf8'));
    const undefinedRules = cited
      .filter((c) => !defined.has(c.tag))
      .map((c) => `${c.tag} (${c.at})`);
    assert.deepEqual(undefinedRules, [], 'cited but not defined in docs/CONSENSUS.md');
    const twice = [...defined].filter(([, n]) => n > 1).map(([tag]) => tag);
    assert.deepEqual(twice, [], 'defined more than once in docs/CONSENSUS.md');
  });

  it('reads single citations and ranges, and definitions outside code spans', () => {
    const text = '// Rule P1: x\n/** Rules NV2–NV4. */\n// Rule V10 and the NV3 comment';
    assert.deepEqual(
      citedRules(text, 'f.ts').map((c) => `${c.tag}@${c.at}`),
      ['P1@f.ts:1', 'NV2@f.ts:2', 'NV3@f.ts:2', 'NV4@f.ts:2', 'V10@f.ts:3'],
    );
    assert.throws(() => citedRules('Rules P1–N3', 'f.ts'), /two rule families/);
    const spec = '- **VOTE** — N1: one. N2: two, as in `N3: example`; see N1.\n```\nP1: code\n```';
    assert.deepEqual(
      [...definedRules(spec)],
      [
        ['N1', 1],
        ['N2', 1],
      ],
    );
  });
});
