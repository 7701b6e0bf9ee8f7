/**
 * Micro-benchmark of the crypto backends on one core: ed25519 verifications per second on
 * libsodium, node:crypto and @noble/curves (each behind the same encoding rules, as the node
 * calls them), and SHA-256 per call (plain and tagged) on each backend, at the input sizes the
 * chain hashes most.
 *
 *   npx node src/crypto/bench-backends.ts [--json] [--seconds 0.3] [--rounds 5]
 *
 * The machine is shared, so contenders run in short interleaved slices (A, B, C, A, B, C, ...)
 * and each reports its median; ratios compare medians of the same run. Rates are given per
 * wall-clock second and per CPU second of this thread (process.threadCpuUsage), the latter
 * less moved by other load. Signatures: 64 keys that repeat (node:crypto caches its key
 * objects, as a node does for repeat senders) over 32-byte messages (what a tx signature
 * covers: its tx-signing hash).
 */
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { cryptoBackends } from './backends.ts';
import { verifyNoble, verifyNodeCrypto, verifySodium } from './ed25519.ts';
import { DomainTag, type HashBackend, sha256With, taggedHashWith } from './hash.ts';

interface Rate {
  readonly perWallSecond: number;
  readonly perCpuSecond: number;
}

export interface BackendBenchResult {
  readonly date: string;
  readonly machine: { cpu: string; cores: number; loadavgBefore: number[]; loadavgAfter: number[] };
  readonly node: string;
  readonly backends: ReturnType<typeof cryptoBackends>;
  readonly sliceSeconds: number;
  readonly rounds: number;
  /** Verifications per second on one core, by backend. */
  readonly verify: Record<'sodium' | 'node:crypto' | 'noble', Rate>;
  /** µs per call (median, wall and CPU), by input length then backend. */
  readonly sha256: Record<string, Record<HashBackend, { wallMicros: number; cpuMicros: number }>>;
  readonly taggedHash: Record<
    string,
    Record<HashBackend, { wallMicros: number; cpuMicros: number }>
  >;
}

const KEYS = 64;

function signedItems(count: number) {
  const keys = Array.from({ length: KEYS }, () => generateKeyPairSync('ed25519'));
  const raw = keys.map((k) => {
    const der = k.publicKey.export({ format: 'der', type: 'spki' });
    return new Uint8Array(der.subarray(der.length - 32));
  });
  return Array.from({ length: count }, (_, i) => {
    const message = new Uint8Array(32);
    new DataView(message.buffer).setUint32(0, i);
    const signature = new Uint8Array(nodeSign(null, message, keys[i % KEYS]!.privateKey));
    return { signature, message, publicKey: raw[i % KEYS]! };
  });
}

function cpuMicros(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

/** Runs `op` in batches of `batch` calls for about `seconds`; returns calls per wall/CPU second. */
function slice(seconds: number, batch: number, op: (i: number) => unknown): Rate {
  let calls = 0;
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < batch; i++) op(calls + i);
    calls += batch;
    elapsed = performance.now() - t0;
  } while (elapsed < seconds * 1000);
  const cpu = Math.max(1, cpuMicros() - cpu0);
  return { perWallSecond: calls / (elapsed / 1000), perCpuSecond: calls / (cpu / 1e6) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Interleaved slices of every contender; the median rate of each. */
function interleaved<K extends string>(
  contenders: Record<K, { batch: number; op: (i: number) => unknown }>,
  seconds: number,
  rounds: number,
): Record<K, Rate> {
  const names = Object.keys(contenders) as K[];
  for (const name of names) slice(seconds / 2, contenders[name].batch, contenders[name].op);
  const samples = new Map<K, Rate[]>(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      samples.get(name)!.push(slice(seconds, contenders[name].batch, contenders[name].op));
    }
  }
  const out = {} as Record<K, Rate>;
  for (const name of names) {
    const xs = samples.get(name)!;
    out[name] = {
      perWallSecond: median(xs.map((x) => x.perWallSecond)),
      perCpuSecond: median(xs.map((x) => x.perCpuSecond)),
    };
  }
  return out;
}

const HASH_BACKENDS: readonly HashBackend[] = ['sodium', 'node:crypto', 'noble'];

function hashTable(
  lengths: readonly number[],
  seconds: number,
  rounds: number,
  hashOf: (backend: HashBackend, data: Uint8Array) => Uint8Array,
): BackendBenchResult['sha256'] {
  const table: BackendBenchResult['sha256'] = {};
  for (const length of lengths) {
    const data = Uint8Array.from({ length }, (_, i) => i & 0xff);
    const op = (b: HashBackend) => ({ batch: 1_000, op: () => hashOf(b, data) });
    const contenders = {
      sodium: op('sodium'),
      'node:crypto': op('node:crypto'),
      noble: op('noble'),
    };
    const rates = interleaved(contenders, seconds, rounds);
    table[String(length)] = Object.fromEntries(
      HASH_BACKENDS.map((b) => [
        b,
        { wallMicros: 1e6 / rates[b].perWallSecond, cpuMicros: 1e6 / rates[b].perCpuSecond },
      ]),
    ) as Record<HashBackend, { wallMicros: number; cpuMicros: number }>;
  }
  return table;
}

export function benchBackends(
  opts: { seconds?: number; rounds?: number } = {},
): BackendBenchResult {
  const seconds = opts.seconds ?? 0.3;
  const rounds = opts.rounds ?? 5;
  const loadavgBefore = loadavg();
  const backends = cryptoBackends();
  const items = signedItems(1_024);
  const at = (i: number) => items[i & 1023]!;
  const verify = interleaved(
    {
      sodium: {
        batch: 64,
        op: (i) => verifySodium(at(i).signature, at(i).message, at(i).publicKey),
      },
      'node:crypto': {
        batch: 64,
        op: (i) => verifyNodeCrypto(at(i).signature, at(i).message, at(i).publicKey),
      },
      noble: { batch: 8, op: (i) => verifyNoble(at(i).signature, at(i).message, at(i).publicKey) },
    },
    seconds,
    rounds,
  );
  for (const item of items) {
    const a = verifySodium(item.signature, item.message, item.publicKey);
    if (!a || a !== verifyNodeCrypto(item.signature, item.message, item.publicKey)) {
      throw new Error('the backends disagree on a benchmark signature');
    }
  }
  // Plain: 32 (a hash), 64, 100, 200 and 1,000 bytes. Tagged: the data after the 32-byte tag
  // prefix; 64 is the state tree's inner node (two child hashes), 87 the last length that
  // libsodium takes (119 bytes with the prefix), 200 about a transfer tx.
  const sha256 = hashTable([32, 64, 100, 200, 1_000], seconds, rounds, sha256With);
  const taggedHash = hashTable([32, 64, 87, 88, 200, 1_000], seconds, rounds, (b, data) =>
    taggedHashWith(b, DomainTag.stateInner, data),
  );
  return {
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: availableParallelism(),
      loadavgBefore,
      loadavgAfter: loadavg(),
    },
    node: process.version,
    backends,
    sliceSeconds: seconds,
    rounds,
    verify,
    sha256,
    taggedHash,
  };
}

function formatReport(r: BackendBenchResult): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const us = (x: number) => x.toFixed(2);
  const lines = [
    `${r.date}, ${r.machine.cpu} (${r.machine.cores} cores), Node ${r.node}, load ` +
      `${r.machine.loadavgBefore.map((x) => x.toFixed(1)).join(' ')} → ` +
      `${r.machine.loadavgAfter.map((x) => x.toFixed(1)).join(' ')}; sodium-native ` +
      `${r.backends.sodium.version ?? `not loaded (${r.backends.sodium.error})`}`,
    '',
    '| ed25519 verify, one core | verify/s (wall) | verify/s (CPU) | vs node:crypto (CPU) |',
    '| --- | ---: | ---: | ---: |',
  ];
  const base = r.verify['node:crypto'].perCpuSecond;
  for (const [name, rate] of Object.entries(r.verify)) {
    lines.push(
      `| ${name} | ${n(rate.perWallSecond)} | ${n(rate.perCpuSecond)} | ${(rate.perCpuSecond / base).toFixed(2)}× |`,
    );
  }
  for (const [title, table] of [
    ['sha256, µs per call (CPU)', r.sha256],
    ['taggedHash, µs per call (CPU); bytes after the 32-byte tag prefix', r.taggedHash],
  ] as const) {
    lines.push('', `| ${title} | sodium | node:crypto | noble |`, '| --- | ---: | ---: | ---: |');
    for (const [length, row] of Object.entries(table)) {
      lines.push(
        `| ${length} B | ${us(row.sodium.cpuMicros)} | ${us(row['node:crypto'].cpuMicros)} | ${us(row.noble.cpuMicros)} |`,
      );
    }
  }
  return lines.join('\n');
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const result = benchBackends({ seconds: value('--seconds'), rounds: value('--rounds') });
  process.stdout.write(
    `${args.includes('--json') ? JSON.stringify(result, null, 2) : formatReport(result)}\n`,
  );
}
