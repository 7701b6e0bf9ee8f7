/**
 * JSON files people edit by hand (config.json, genesis.json, key files, manifests): parsed by
 * the platform's JSON.parse, and when that fails, one error naming the file, the line and the
 * column where the text stops being JSON (JSON.parse's own message often names neither).
 */
import { CivitasError, type ErrorCode } from './index.ts';

/** Parses `text`; on a syntax error throws `code` with "path:line:column: …" in its message. */
export function parseJsonText(text: string, path: string, code: ErrorCode): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const { offset, expected } = firstError(text);
    const { line, column } = lineColumn(text, offset);
    const found = offset >= text.length ? 'the end of the file' : JSON.stringify(text[offset]);
    throw new CivitasError(
      code,
      `${path}:${line}:${column}: not valid JSON: expected ${expected}, found ${found}`,
      { path, line, column },
    );
  }
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

class Stop {
  readonly offset: number;
  readonly expected: string;
  constructor(offset: number, expected: string) {
    this.offset = offset;
    this.expected = expected;
  }
}

/** Where a strict JSON reading of `text` first fails, and what it expected there. */
function firstError(text: string): { offset: number; expected: string } {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (expected: string): never => {
    throw new Stop(i, expected);
  };
  const literal = (word: string): void => {
    for (const c of word) {
      if (text[i] !== c) fail(`"${word}"`);
      i++;
    }
  };
  const string = (): void => {
    if (text[i] !== '"') fail('a string');
    i++;
    for (;;) {
      if (i >= text.length) fail('a closing quote');
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c < ' ') fail('a character allowed in a string (escape control characters)');
      if (c === '\\') {
        i++;
        const e = text[i];
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) {
              i += k;
              fail('four hex digits after \\u');
            }
          }
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail('an escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
      } else i++;
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (m === null || m[0] === '-' || m[0] === '') fail('a number');
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        if (text[i] !== ':') fail('":"');
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === '}') fail('another member after "," (no trailing commas in JSON)');
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail('"," or "}"');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') fail('another value after "," (no trailing commas in JSON)');
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail('"," or "]"');
      }
    }
    if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else fail('a value (object, array, string, number, true, false or null)');
  };
  try {
    value();
    ws();
    if (i < text.length) fail('the end of the file after the value');
  } catch (err) {
    if (err instanceof Stop) return { offset: err.offset, expected: err.expected };
    throw err;
  }
  // JSON.parse failed where this reading did not (it should not happen): point at the start.
  return { offset: 0, expected: 'JSON' };
}
