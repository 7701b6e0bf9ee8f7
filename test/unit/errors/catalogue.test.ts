import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import {
  CivitasError,
  describeCode,
  ERROR_CATALOGUES,
  type ErrorCode,
  gossipVerdictOf,
  httpStatusOf,
  isCivitasError,
  isErrorCode,
  TX_REJECT_LABELS,
  txRejectLabelOf,
} from '../../../src/errors/index.ts';

const ROOT = join(import.meta.dirname, '../../..');
const ALL_CODES = Object.values(ERROR_CATALOGUES).flatMap((c) => Object.keys(c));

/**
 * Receipt codes the application modules brought after the old tables were replaced: the
 * tables never knew them, so they are not held to them. The five the bank had are.
 */
const BANK_ERA = new Set([
  'APP_UNKNOWN_METHOD',
  'BANK_BAD_ARGS',
  'BANK_BAD_NONCE',
  'BANK_BALANCE_OVERFLOW',
  'BANK_INSUFFICIENT_FUNDS',
]);
const LEGACY_CODES = ALL_CODES.filter(
  (code) => !(code in ERROR_CATALOGUES.execution) || BANK_ERA.has(code),
);

// The mapping as it was before the catalogue, copied from rpc-server.ts (statusFor and the
// statuses it passed), tx-intake.ts (admitGossiped) and metrics.ts (txRejectReason).
// The catalogue must answer every code as these did.
const HTTP_ERROR_STATUS: Record<string, number> = {
  RPC_NOT_FOUND: 404,
  RPC_BODY_TOO_LARGE: 413,
  RPC_BAD_JSON: 400,
  RPC_BAD_REQUEST: 400,
  RPC_TX_NOT_FOUND: 404,
  RPC_BLOCK_NOT_FOUND: 404,
  RPC_FAULT_INJECTION_DISABLED: 403,
  RPC_TOO_MANY_STREAMS: 503,
  RPC_BAD_HASH: 400,
  RPC_BAD_HEIGHT: 400,
  RPC_BAD_TIMEOUT: 400,
};

function legacyStatus(code: string): number {
  const fromHttpError = HTTP_ERROR_STATUS[code];
  if (fromHttpError !== undefined) return fromHttpError;
  if (code === 'MEMPOOL_FULL' || code === 'MEMPOOL_SENDER_FULL') return 429;
  if (code === 'MEMPOOL_BUSY') return 503;
  if (code === 'TX_WAIT_TIMEOUT') return 504;
  if (
    code === 'MEMPOOL_DUPLICATE' ||
    code === 'TX_ALREADY_COMMITTED' ||
    code === 'MEMPOOL_NONCE_TAKEN'
  )
    return 409;
  if (/^(CODEC|TX|MEMPOOL|BYTES|ADDRESS|RPC|FAULT)_/.test(code)) return 400;
  return 500;
}

function legacyVerdict(code: string): 'ignore' | 'reject' {
  if (/^(CODEC_|TX_BAD_SIGNATURE|TX_WRONG_CHAIN)/.test(code)) return 'reject';
  return 'ignore';
}

function legacyLabel(c: string): string {
  if (c === 'MEMPOOL_DUPLICATE') return 'duplicate';
  if (c === 'TX_ALREADY_COMMITTED') return 'committed';
  if (/NONCE/.test(c)) return 'nonce';
  if (c === 'MEMPOOL_FULL' || c === 'MEMPOOL_SENDER_FULL') return 'mempool_full';
  if (c === 'TX_BAD_SIGNATURE') return 'signature';
  if (c === 'TX_WRONG_CHAIN') return 'wrong_chain';
  if (c === 'TX_EXPIRED') return 'expired';
  if (/^(CODEC_|TX_)/.test(c)) return 'malformed';
  return 'other';
}

/**
 * Where the catalogue differs from the old tables on purpose: on paths that never consult
 * them, where the old answer was an accident of the regex.
 */
const DELIBERATE_CHANGES: Record<
  string,
  { status?: number; verdict?: 'ignore' | 'reject'; label?: string; why: string }
> = {
  RPC_LISTEN_FAILED: {
    status: 500,
    why: 'a startup failure, never an HTTP answer (the server is not listening)',
  },
  TX_WAIT_TIMEOUT: { label: 'other', why: 'raised by the commit wait, never by admission' },
  BANK_BAD_NONCE: { label: 'other', why: 'a receipt code, never an admission error' },
  BANK_BAD_ARGS: {
    status: 400,
    why: 'also thrown when the CLI or the API parses transfer args: a client mistake',
  },
  APP_UNKNOWN_METHOD: {
    status: 400,
    why: 'also thrown when the CLI or the API is asked for a method no module has',
  },
  RPC_METHOD_NOT_ALLOWED: {
    status: 405,
    why: 'a known route asked with another method: 405 was answered as RPC_NOT_FOUND before',
  },
  LEDGER_BLOCK_PRUNED: { status: 410, why: 'newer than the tables: pruned on purpose, Gone' },
  STATE_VERSION_PRUNED: { status: 410, why: 'newer than the tables: pruned on purpose, Gone' },
  HISTORY_NOT_INDEXED: {
    status: 410,
    why: 'newer than the tables: history made before a state-synced node joined, Gone here',
  },
  EXPLORER_NOT_BUILT: {
    status: 404,
    why: 'newer than the tables: /explorer/ of a node whose explorer was not built',
  },
  SNAPSHOT_NOT_FOUND: {
    status: 404,
    why: 'newer than the tables: no stored snapshot of that height',
  },
  TX_LIFETIME_TOO_LONG: {
    label: 'expired',
    why: 'newer than the tables: an expiry too far ahead is counted with the expired ones',
  },
  // Tx v2's shape rules: newer than the tables, whose TX_ regex answered 'ignore' for them.
  ...Object.fromEntries(
    [
      'TX_BAD_COSIGNATURE_COUNT',
      'TX_BAD_OP_COUNT',
      'TX_COSIGNER_IS_SENDER',
      'TX_DUPLICATE_COSIGNER',
      'TX_NOT_V1',
      'TX_TOO_MANY_COSIGNERS',
    ].map((code) => [
      code,
      {
        verdict: 'reject' as const,
        why: 'a tx breaking a shape rule does not decode: a peer relaying it misbehaves, as for CODEC_*',
      },
    ]),
  ),
};

describe('error catalogue', () => {
  test('every code has an HTTP error status, a gossip verdict and a one-line description', () => {
    const labels = new Set<string>(TX_REJECT_LABELS);
    for (const code of ALL_CODES) {
      const spec = describeCode(code);
      assert.ok(spec.status >= 400 && spec.status <= 599, `${code}: status ${spec.status}`);
      assert.ok(spec.gossip === 'ignore' || spec.gossip === 'reject', `${code}: ${spec.gossip}`);
      assert.ok(spec.txReject === undefined || labels.has(spec.txReject), code);
      assert.match(spec.description, /^[^\n]{8,100}$/, code);
      assert.match(code, /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
    }
  });

  test('no two domains define the same code', () => {
    const seen = new Map<string, string>();
    for (const [domain, catalogue] of Object.entries(ERROR_CATALOGUES)) {
      for (const code of Object.keys(catalogue)) {
        const other = seen.get(code);
        assert.equal(other, undefined, `${code} is in both ${other} and ${domain}`);
        seen.set(code, domain);
      }
    }
  });

  test('representative codes answer as the old regex tables did', () => {
    const table: [ErrorCode, number, 'ignore' | 'reject', string][] = [
      ['MEMPOOL_FULL', 429, 'ignore', 'mempool_full'],
      ['MEMPOOL_SENDER_FULL', 429, 'ignore', 'mempool_full'],
      ['MEMPOOL_BUSY', 503, 'ignore', 'other'],
      ['MEMPOOL_DUPLICATE', 409, 'ignore', 'duplicate'],
      ['MEMPOOL_NONCE_TAKEN', 409, 'ignore', 'nonce'],
      ['TX_ALREADY_COMMITTED', 409, 'ignore', 'committed'],
      ['TX_WAIT_TIMEOUT', 504, 'ignore', 'other'],
      ['TX_BAD_SIGNATURE', 400, 'reject', 'signature'],
      ['TX_WRONG_CHAIN', 400, 'reject', 'wrong_chain'],
      ['TX_EXPIRED', 400, 'ignore', 'expired'],
      ['TX_NONCE_TOO_LOW', 400, 'ignore', 'nonce'],
      ['TX_NONCE_TOO_HIGH', 400, 'ignore', 'nonce'],
      ['CODEC_TRUNCATED', 400, 'reject', 'malformed'],
      ['CODEC_TRAILING_BYTES', 400, 'reject', 'malformed'],
      ['CODEC_TOO_LARGE', 400, 'reject', 'malformed'],
      ['BYTES_BAD_HEX', 400, 'ignore', 'other'],
      ['ADDRESS_INVALID', 400, 'ignore', 'other'],
      ['RPC_BAD_JSON', 400, 'ignore', 'other'],
      ['RPC_NOT_FOUND', 404, 'ignore', 'other'],
      ['RPC_BODY_TOO_LARGE', 413, 'ignore', 'other'],
      ['RPC_FAULT_INJECTION_DISABLED', 403, 'ignore', 'other'],
      ['RPC_TOO_MANY_STREAMS', 503, 'ignore', 'other'],
      ['FAULT_BAD_REQUEST', 400, 'ignore', 'other'],
      ['BLOCK_BAD_TX_ROOT', 500, 'ignore', 'other'],
      ['LEDGER_CORRUPT', 500, 'ignore', 'other'],
      ['STATE_MISSING_NODE', 500, 'ignore', 'other'],
      ['P2P_SYNC_TIMEOUT', 500, 'ignore', 'other'],
      ['INTERNAL', 500, 'ignore', 'other'],
    ];
    for (const [code, status, verdict, label] of table) {
      assert.equal(httpStatusOf(code), status, code);
      assert.equal(gossipVerdictOf(code), verdict, code);
      assert.equal(txRejectLabelOf(code), label, code);
    }
  });

  test('every code answers as the old tables did, but for the listed deliberate changes', () => {
    for (const code of LEGACY_CODES) {
      const change = DELIBERATE_CHANGES[code];
      assert.equal(httpStatusOf(code), change?.status ?? legacyStatus(code), `${code} status`);
      assert.equal(
        gossipVerdictOf(code),
        change?.verdict ?? legacyVerdict(code),
        `${code} verdict`,
      );
      assert.equal(txRejectLabelOf(code), change?.label ?? legacyLabel(code), `${code} label`);
    }
    for (const [code, change] of Object.entries(DELIBERATE_CHANGES)) {
      assert.ok(isErrorCode(code), code);
      const old =
        change.status !== undefined
          ? legacyStatus(code)
          : change.verdict !== undefined
            ? legacyVerdict(code)
            : legacyLabel(code);
      const now = change.status ?? change.verdict ?? change.label;
      assert.notEqual(now, old, `${code} no longer differs: unlist it`);
    }
  });

  test('an unknown code (a worker, another version) is a 500, ignored, counted as other', () => {
    for (const code of ['NOT_A_CODE', '', 'constructor', '__proto__', undefined]) {
      assert.equal(httpStatusOf(code), 500);
      assert.equal(gossipVerdictOf(code), 'ignore');
      assert.equal(txRejectLabelOf(code), 'other');
      if (code !== undefined) assert.equal(isErrorCode(code), false);
    }
  });

  test('every code the sources raise, compare or table is in the catalogue', () => {
    // Code-shaped literals that are not error codes.
    const NOT_CODES = new Set([
      'CIVITAS_ENABLE_FAULT_INJECTION', // an environment variable
      'CIVITAS_FAULT_CLOCK_OFFSET_MS', // an environment variable
      'LEVEL_LOCKED', // abstract-level's code for a database another process holds
      'CIVITAS_KEY_FILE_MODE', // a process warning's code, not an error
      'CIVITAS_KEY_FILE_PLAINTEXT', // a process warning's code, not an error
      'CIVITAS_PASSPHRASE', // an environment variable
      'UND_ERR_SOCKET', // undici's code for a socket the server closed
      'CLK_TCK', // a getconf name
      'CODEC_ERROR', // consensus engine's reject reason for a decode failure of unknown kind
    ]);
    const files = ['src', 'bench', 'scripts'].flatMap((dir) => tsFiles(join(ROOT, dir)));
    assert.ok(files.length > 50);
    const unknown: string[] = [];
    let callSites = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const where = file.slice(ROOT.length + 1);
      // Any quoted code-shaped literal: thrown, compared, or kept in a table.
      for (const [, code] of text.matchAll(/['"]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"]/g)) {
        if (!isErrorCode(code!) && !NOT_CODES.has(code!)) unknown.push(`${where}: ${code}`);
      }
      // The first argument of a throw or a failed receipt, one-word codes included.
      const calls =
        /\b(?:CivitasError|HttpError|fail|failed)\(\s*(?:\d+\s*,\s*)?'([A-Z][A-Z0-9_]*)'/g;
      for (const [, code] of text.matchAll(calls)) {
        callSites++;
        if (!isErrorCode(code!)) unknown.push(`${where}: ${code}`);
      }
    }
    assert.ok(callSites > 150, `only ${callSites} call sites found: is the scan still right?`);
    assert.deepEqual(unknown, [], 'add these to a catalogue in src/errors/ (or to NOT_CODES)');
  });
});

describe('CivitasError', () => {
  const err = new CivitasError('MEMPOOL_FULL', 'mempool is full', { pending: 3 });

  test('serialises as {code, message, context} to JSON and through a message port', async () => {
    const json = JSON.parse(JSON.stringify(err));
    assert.deepEqual(json, {
      code: 'MEMPOOL_FULL',
      message: 'mempool is full',
      context: { pending: 3 },
    });
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<unknown>((resolve) => port2.once('message', resolve));
    port1.postMessage(err.toJSON());
    const posted = (await received) as { code: string; message: string };
    port1.close();
    const revived = CivitasError.fromJSON(posted);
    assert.ok(isCivitasError(revived, 'MEMPOOL_'));
    assert.deepEqual(revived.toJSON(), err.toJSON());
    assert.equal(httpStatusOf(revived.code), 429);
  });

  test('a revived error keeps a code this build does not know, and answers it as unknown', () => {
    const foreign = CivitasError.fromJSON({ code: 'FUTURE_THING', message: 'from a newer node' });
    assert.equal(foreign.code, 'FUTURE_THING');
    assert.deepEqual(foreign.context, {});
    assert.equal(httpStatusOf(foreign.code), 500);
  });

  test('isCivitasError checks the class and an optional code prefix', () => {
    assert.ok(isCivitasError(err));
    assert.ok(isCivitasError(err, 'MEMPOOL_'));
    assert.equal(isCivitasError(err, 'TX_'), false);
    assert.equal(isCivitasError(Object.assign(new Error('x'), { code: 'MEMPOOL_FULL' })), false);
  });
});

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}
