import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCivitasError } from '../../../src/errors/index.ts';
import { lineColumn, parseJsonText } from '../../../src/errors/json-text.ts';

function where(text: string): string {
  try {
    parseJsonText(text, 'config.json', 'CONFIG_INVALID');
  } catch (err) {
    assert.ok(isCivitasError(err, 'CONFIG_INVALID'));
    return err.message;
  }
  throw new Error('parsed');
}

test('valid JSON parses as JSON.parse does', () => {
  assert.deepEqual(parseJsonText('{"a": [1, "x\\n", true, null]}', 'f', 'CLI_BAD_JSON'), {
    a: [1, 'x\n', true, null],
  });
});

test('a syntax error names the file, the line and the column, and what was expected', () => {
  assert.equal(
    where('{\n  "a": 1,\n  "b": ,\n}'),
    'config.json:3:8: not valid JSON: expected a value (object, array, string, number, true, false or null), found ","',
  );
  assert.match(where('{\n  "a": 1,\n}'), /^config\.json:3:1: .*no trailing commas/);
  assert.match(
    where('{"a": 1'),
    /^config\.json:1:8: .*expected "," or "}", found the end of the file/,
  );
  assert.match(where('{"a": tru}'), /^config\.json:1:10: .*expected "true"/);
  assert.match(where('{"a": 01}'), /^config\.json:1:8: .*expected "," or "}"/);
  assert.match(where('{"a": "\\q"}'), /^config\.json:1:9: .*an escape/);
  assert.match(where('{} {}'), /^config\.json:1:4: .*the end of the file after the value/);
  assert.match(where(''), /^config\.json:1:1: .*expected a value/);
});

test('lineColumn counts from 1', () => {
  assert.deepEqual(lineColumn('ab\ncd', 0), { line: 1, column: 1 });
  assert.deepEqual(lineColumn('ab\ncd', 4), { line: 2, column: 2 });
});
