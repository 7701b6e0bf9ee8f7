/**
 * PBFT and HotStuff side by side in the simulator (issue #17, docs/HOTSTUFF.md): for each
 * validator count, the same seeds without faults under both protocols; prints messages and
 * bytes sent per committed block (every copy to every recipient counted, retransmissions
 * included) and the median block commit latency, as a Markdown table.
 *
 *   node scripts/sim-compare.ts [--validators 4,7,10,16,31] [--seeds 3]
 */

import { parseArgs } from 'node:util';
import { runSimulation } from '../src/consensus/sim/simulation.ts';
import { buildInfo } from '../src/node/build-info.ts';

const { values } = parseArgs({
  options: {
    validators: { type: 'string', default: '4,7,10,16,31' },
    seeds: { type: 'string', default: '3' },
  },
});
const validators = values.validators.split(',').map(Number);
const seeds = Number(values.seeds);
if (validators.some((n) => !Number.isInteger(n) || n < 1 || n > 64) || !(seeds >= 1)) {
  process.stderr.write('sim-compare: --validators 1..64 (comma-separated), --seeds ≥ 1\n');
  process.exit(2);
}

process.stdout.write(
  `commit ${buildInfo().commit}; seeds 1..${seeds}, no faults, fake signatures\n\n`,
);
process.stdout.write(
  '| n | PBFT msgs/block | HotStuff msgs/block | PBFT KiB/block | HotStuff KiB/block | PBFT p50 ms | HotStuff p50 ms |\n|---|---|---|---|---|---|---|\n',
);
for (const n of validators) {
  const row: Record<string, { messages: number; bytes: number; p50: number }> = {};
  for (const protocol of ['pbft', 'hotstuff'] as const) {
    let messages = 0;
    let bytes = 0;
    let blocks = 0;
    const p50s: number[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const r = runSimulation({ validators: n, seed, faults: [], protocol });
      if (r.violations.length > 0) throw new Error(`${protocol} n=${n} seed ${seed}: violations`);
      messages += r.messages.sent;
      bytes += r.messages.bytesSent;
      blocks += r.committedMax;
      if (r.commitLatencyMs.p50 !== null) p50s.push(r.commitLatencyMs.p50);
    }
    p50s.sort((a, b) => a - b);
    row[protocol] = {
      messages: messages / blocks,
      bytes: bytes / blocks / 1024,
      p50: p50s[Math.floor((p50s.length - 1) / 2)] ?? Number.NaN,
    };
  }
  const p = row.pbft!;
  const h = row.hotstuff!;
  process.stdout.write(
    `| ${n} | ${p.messages.toFixed(0)} | ${h.messages.toFixed(0)} | ${p.bytes.toFixed(1)} | ${h.bytes.toFixed(1)} | ${p.p50.toFixed(0)} | ${h.p50.toFixed(0)} |\n`,
  );
}
