/**
 * The lab's tidy CSV and resuming: a folder holding some runs runs only the rest; a folder of
 * another experiment, or a run made with other settings, is refused before anything is
 * written. Runners are stand-ins here (the e2e test runs the simulator).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { SimRunParams } from '../../../bench/lab/experiment.ts';
import {
  CSV_COLUMNS,
  csvCell,
  type Experiment,
  parseExperiment,
  type RunOutcome,
  type RunRecord,
  runLab,
  toCsv,
} from '../../../bench/lab/index.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { tempDir } from '../../helpers/temp.ts';

function outcome(p: SimRunParams): RunOutcome {
  return {
    metrics: {
      committed: 10 * p.validators + p.seed,
      throughput: p.seed,
      throughputUnit: 'blocks/s',
      latencyP50Ms: 40,
      latencyP90Ms: 50,
      latencyP99Ms: 60,
      latencyMaxMs: 70,
      latencyMeanMs: 45,
      viewChanges: p.seed,
      messagesSent: 100,
      bytesSent: 1000,
      messagesPerBlock: 10,
      bytesPerBlock: 100,
      crashes: 0,
      lossRate: p.seed / 10,
      recoveryAfterGstMs: 30,
      rejectedBenign: 5,
      rejectedOther: 0,
      violations: 0,
    },
    latenciesMs: [40, 50, 60],
    problems: [],
  };
}

const experiment = (seeds: number, extra: object = {}): Experiment =>
  parseExperiment(
    JSON.stringify({ name: 'resume', kind: 'sim', validators: [4, 7], seeds, ...extra }),
    'resume.json',
  );

async function run(dir: string, e: Experiment, maxRuns?: number) {
  const ran: string[] = [];
  const summary = await runLab({
    experiment: e,
    experimentFile: 'resume.json',
    outDir: dir,
    command: 'test',
    ...(maxRuns !== undefined ? { maxRuns } : {}),
    runners: {
      sim: (p) => {
        ran.push(`n${p.validators}/seed${p.seed}`);
        return outcome(p);
      },
    },
  });
  return { ran, summary };
}

describe('lab CSV', () => {
  it('quotes as RFC 4180 says', () => {
    assert.equal(csvCell('crash,loss'), '"crash,loss"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell(null), '');
    assert.equal(csvCell(4), '4');
  });

  it('one row per run, one cell per column', () => {
    const p = {
      kind: 'sim',
      protocol: 'pbft',
      validators: 4,
      faults: ['crash', 'loss'],
      faultMix: 'crash,loss',
      seed: 3,
      durationMs: 19_200,
      byzantine: null,
      signatures: 'fake',
    } as const;
    const record: RunRecord = { key: 'k', params: p, session: 0, wallMs: 12.4, ...outcome(p) };
    const lines = toCsv('e', [record, record]).trimEnd().split('\r\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[0], CSV_COLUMNS.join(','));
    assert.equal(lines[1], lines[2]);
    assert.match(
      lines[1]!,
      /^e,k,sim,pbft,4,"crash,loss",3,,,,300,2400,19200,43,3,blocks\/s,40,50,60,70,45,3,/,
    );
    // Every row has exactly as many cells as there are columns (the quoted comma is one cell).
    assert.equal(lines[1]!.replace(/"[^"]*"/g, 'x').split(',').length, CSV_COLUMNS.length);
    // A run with its own view timeouts shows them; a cluster run shows its nodes' settings.
    const timed = { ...p, viewTimeoutMs: 1_000, maxViewTimeoutMs: 8_000 };
    const cluster = {
      kind: 'cluster',
      protocol: 'pbft',
      validators: 4,
      faults: [],
      faultMix: 'none',
      blockSize: 1000,
      rate: 100,
      repetition: 2,
      durationS: 30,
      viewTimeoutMs: 1_500,
      blockIntervalMs: null,
    } as const;
    const [, timedRow, clusterRow] = toCsv('e', [
      { key: 't', params: timed, session: 0, wallMs: 1, ...outcome(timed) },
      { key: 'c', params: cluster, session: 0, wallMs: 1, ...outcome(p) },
    ]).split('\r\n');
    assert.match(timedRow!, /^e,t,sim,pbft,4,"crash,loss",3,,,,1000,8000,19200,/);
    assert.match(clusterRow!, /^e,c,cluster,pbft,4,none,,2,1000,100,1500,30000,30000,/);
  });
});

describe('lab resume', () => {
  it('runs only what the folder lacks: stopped after some runs, then the rest', async (t) => {
    const dir = await tempDir(t);
    const first = await run(dir, experiment(2), 3);
    assert.deepEqual(first.ran, ['n4/seed1', 'n4/seed2', 'n7/seed1']);
    assert.equal(first.summary.remaining, 1);
    const second = await run(dir, experiment(2));
    assert.deepEqual(second.ran, ['n7/seed2']);
    assert.equal(second.summary.skipped, 3);
    const third = await run(dir, experiment(2));
    assert.deepEqual(third.ran, []);
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    assert.equal(results.runs.length, 4);
    assert.equal(results.sessions.length, 3);
    assert.deepEqual(
      results.sessions.map((s: { ran: number }) => s.ran),
      [3, 1, 0],
    );
    assert.deepEqual(
      results.runs.map((r: RunRecord) => r.session),
      [0, 0, 0, 1],
    );
    assert.equal(
      readFileSync(join(dir, 'runs.csv'), 'utf8').trimEnd().split('\r\n').length,
      5,
      'header + 4 runs',
    );
  });

  it('more seeds later run only the new seeds', async (t) => {
    const dir = await tempDir(t);
    await run(dir, experiment(1));
    const more = await run(dir, experiment(3));
    assert.deepEqual(more.ran, ['n4/seed2', 'n4/seed3', 'n7/seed2', 'n7/seed3']);
  });

  it('refuses another experiment, or changed settings, before writing anything', async (t) => {
    const dir = await tempDir(t);
    await run(dir, experiment(1));
    const before = readFileSync(join(dir, 'results.json'), 'utf8');
    const other = parseExperiment(
      JSON.stringify({ name: 'other', kind: 'sim', validators: [4], seeds: 1 }),
      'o.json',
    );
    await assert.rejects(run(dir, other), (err: unknown) => {
      assert.ok(isCivitasError(err, 'LAB_RESULTS_CONFLICT'));
      assert.match((err as Error).message, /holds experiment "resume"/);
      return true;
    });
    await assert.rejects(run(dir, experiment(1, { durationMs: 40_000 })), (err: unknown) => {
      assert.ok(isCivitasError(err, 'LAB_RESULTS_CONFLICT'));
      assert.match(
        (err as Error).message,
        /sim\/pbft\/none\/n4\/seed1 was made with other settings \(durationMs\)/,
      );
      return true;
    });
    assert.equal(readFileSync(join(dir, 'results.json'), 'utf8'), before);
  });

  it('refuses a folder whose results.json is not a lab results file', async (t) => {
    const dir = await tempDir(t);
    writeFileSync(join(dir, 'results.json'), '{"version": 2, "run": {}}');
    await assert.rejects(run(dir, experiment(1)), (err: unknown) =>
      isCivitasError(err, 'LAB_RESULTS_CONFLICT'),
    );
    assert.ok(!existsSync(join(dir, 'runs.csv')));
  });
});
