/**
 * The monitoring kit in deploy/ (the Grafana dashboard, Prometheus's scrape configuration and
 * alerting rules) asks only for what a node serves:
 * - The dashboard is a Grafana (10 and later) import: a Prometheus data source input, a uid,
 *   job and instance variables from civitas_build_info, every panel with a data source,
 *   queries and a place on the grid (no two overlap), unique ids.
 * - prometheus.yml scrapes the four services of deploy/compose.yaml on their API port and
 *   loads alerts.yml; each alert has a severity and a summary, and docs/OPERATIONS.md's table
 *   names it with the same expression.
 * - A running node's GET /metrics, after a few blocks and a tx, holds every metric that every
 *   panel query, variable query and alert expression names, with the type its functions need
 *   (rate() and increase() on counters, _bucket inside histogram_quantile(), no raw counter),
 *   and the labels they group by. A metric renamed in src/node/metrics.ts fails here.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { httpJson, waitUntil } from '../../helpers/http.ts';
import { REPO_ROOT } from '../../helpers/process.ts';
import { editConfig, startSingleNode, transfer } from '../../helpers/single-node.ts';
import { DEPLOY_DIR, readCompose } from './helpers/deploy-files.ts';
import { exprProblems, type MetricFamily, metricRefs, parseExposition } from './helpers/promql.ts';
import { readYaml, type Yaml } from './helpers/yaml.ts';

// ---- the files ----

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: Panel[];
  collapsed?: boolean;
}
interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { type: string; uid: string };
  current?: { value?: string };
  multi?: boolean;
  includeAll?: boolean;
}
interface Dashboard {
  __inputs: Array<{ name: string; type: string; pluginId: string }>;
  __requires: Array<{ type: string; id: string; version: string }>;
  uid: string;
  title: string;
  id: number | null;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

const DASHBOARD_FILE = join(DEPLOY_DIR, 'grafana/civitas-dashboard.json');
const PROMETHEUS_FILE = join(DEPLOY_DIR, 'prometheus/prometheus.yml');
const ALERTS_FILE = join(DEPLOY_DIR, 'prometheus/alerts.yml');

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;

/** Every panel, those inside rows included. */
function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}
const panels = allPanels(dashboard.panels);
const queryPanels = panels.filter((p) => p.type !== 'row');

function variableQuery(v: Variable): string {
  return typeof v.query === 'string' ? v.query : v.query.query;
}

/** Label names a legend template uses: {{instance}} {{reason}}. */
function legendLabels(legend: string | undefined): string[] {
  return [...(legend ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!);
}

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

function asMap(v: Yaml | undefined, what: string): Record<string, Yaml> {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `${what} is a map`);
  return v;
}
function asList(v: Yaml | undefined, what: string): Yaml[] {
  assert.ok(Array.isArray(v), `${what} is a list`);
  return v;
}

function alertRules(): AlertRule[] {
  const doc = asMap(readYaml(readFileSync(ALERTS_FILE, 'utf8')), 'alerts.yml');
  return asList(doc.groups, 'groups').flatMap((g, i) =>
    asList(asMap(g, `group ${i}`).rules, `group ${i} rules`).map((r, j) => {
      const rule = asMap(r, `rule ${j}`);
      return {
        alert: rule.alert as string,
        expr: rule.expr as string,
        for: (rule.for ?? undefined) as string | undefined,
        labels: asMap(rule.labels, `rule ${j} labels`) as Record<string, string>,
        annotations: asMap(rule.annotations, `rule ${j} annotations`) as Record<string, string>,
      };
    }),
  );
}

/** How every query names its data source: the dashboard's variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** Series Prometheus writes itself for every target; no node serves them. */
const SYNTHETIC = new Set(['up']);

/**
 * Every problem of every query in the kit against the node's families: panel queries (with
 * their legends' labels), variable queries, alert expressions (with the labels their
 * annotations print).
 */
function kitProblems(families: ReadonlyMap<string, MetricFamily>): string[] {
  const problems: string[] = [];
  for (const p of queryPanels) {
    for (const t of p.targets ?? []) {
      for (const why of exprProblems(t.expr, families, {
        extraLabels: legendLabels(t.legendFormat),
      }))
        problems.push(`panel "${p.title}" ${t.refId}: ${why}`);
    }
  }
  for (const v of dashboard.templating.list.filter((v) => v.type === 'query')) {
    const m = /^label_values\((.+),\s*(\w+)\)$/.exec(variableQuery(v));
    if (m === null) {
      problems.push(`variable ${v.name}: not label_values(selector, label)`);
      continue;
    }
    for (const why of exprProblems(m[1]!, families, { extraLabels: [m[2]!] }))
      problems.push(`variable ${v.name}: ${why}`);
  }
  for (const rule of alertRules()) {
    const printed = Object.values(rule.annotations).flatMap((a) =>
      [...a.matchAll(/\$labels\.(\w+)/g)].map((m) => m[1]!),
    );
    for (const why of exprProblems(rule.expr, families, {
      extraLabels: printed,
      synthetic: SYNTHETIC,
    }))
      problems.push(`alert ${rule.alert}: ${why}`);
  }
  return problems;
}

// ---- the dashboard's form ----

test('the dashboard imports into Grafana 10+: a Prometheus input, uid, job and instance variables', () => {
  const input = dashboard.__inputs.find((i) => i.type === 'datasource');
  assert.ok(input, 'a data source input');
  assert.equal(input.pluginId, 'prometheus');
  const grafana = dashboard.__requires.find((r) => r.type === 'grafana');
  assert.ok(grafana && Number(grafana.version.split('.')[0]) >= 10, 'requires Grafana >= 10');
  for (const type of new Set(queryPanels.map((p) => p.type))) {
    assert.ok(
      dashboard.__requires.some((r) => r.type === 'panel' && r.id === type),
      `__requires lists the ${type} panel`,
    );
  }
  assert.match(dashboard.uid, /^[a-zA-Z0-9_-]{1,40}$/, 'a uid Grafana accepts');
  assert.ok(dashboard.title.length > 0);
  assert.equal(dashboard.id, null, 'no database id: import makes one');
  assert.ok(dashboard.schemaVersion >= 36, `schemaVersion ${dashboard.schemaVersion}`);

  const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  const ds = vars.get('datasource');
  assert.ok(ds, 'a data source variable');
  assert.equal(ds.type, 'datasource');
  assert.equal(ds.query, 'prometheus');
  // Import replaces ${DS_PROMETHEUS} with the data source picked; provisioning falls back to
  // the default Prometheus.
  assert.equal(ds.current?.value, `\${${input.name}}`, 'the input becomes the chosen source');
  const instance = vars.get('instance');
  assert.ok(instance, 'an instance variable');
  assert.match(
    variableQuery(instance),
    /^label_values\(civitas_build_info(\{[^}]*\})?, instance\)$/,
  );
  assert.ok(instance.multi && instance.includeAll, 'one, several or all nodes');
  assert.match(variableQuery(vars.get('job')!), /^label_values\(civitas_build_info, job\)$/);
  for (const v of dashboard.templating.list.filter((v) => v.type === 'query')) {
    assert.deepEqual(v.datasource, DATASOURCE, v.name);
  }
});

test('every dashboard panel has a unique id, a place on the grid and Prometheus queries', () => {
  const ids = panels.map((p) => p.id);
  assert.ok(
    ids.every((id) => Number.isInteger(id) && id > 0),
    'positive integer ids',
  );
  assert.equal(new Set(ids).size, ids.length, 'unique panel ids');

  const defined = new Set(dashboard.templating.list.map((v) => v.name));
  const builtIn = new Set(['__rate_interval', '__interval', '__range']);
  const cells = new Map<string, string>();
  for (const p of panels) {
    const { x, y, w, h } = p.gridPos ?? {};
    for (const n of [x, y, w, h]) assert.ok(Number.isInteger(n) && n! >= 0, `${p.title}: gridPos`);
    assert.ok(w! > 0 && h! > 0 && x! + w! <= 24, `${p.title}: fits the 24-column grid`);
    for (let cx = x!; cx < x! + w!; cx++) {
      for (let cy = y!; cy < y! + h!; cy++) {
        const other = cells.get(`${cx},${cy}`);
        assert.equal(other, undefined, `"${p.title}" overlaps "${other}"`);
        cells.set(`${cx},${cy}`, p.title);
      }
    }
    assert.ok(p.title.trim().length > 0, `panel ${p.id} has a title`);
    if (p.type === 'row') {
      assert.equal(p.targets, undefined, `row ${p.title} has no queries`);
      continue;
    }
    assert.deepEqual(p.datasource, DATASOURCE, p.title);
    assert.ok(Array.isArray(p.targets) && p.targets.length > 0, `${p.title}: targets`);
    const refIds = p.targets.map((t) => t.refId);
    assert.equal(new Set(refIds).size, refIds.length, `${p.title}: unique refIds`);
    for (const t of p.targets) {
      assert.ok(typeof t.expr === 'string' && t.expr.trim() !== '', `${p.title}: an expr`);
      assert.deepEqual(t.datasource ?? p.datasource, p.datasource, `${p.title}: one data source`);
      for (const m of t.expr.matchAll(/\$\{?(\w+)/g)) {
        assert.ok(defined.has(m[1]!) || builtIn.has(m[1]!), `${p.title}: $${m[1]} is defined`);
      }
      // Every node picked in the variables, and only those.
      for (const ref of metricRefs(t.expr).metrics) {
        assert.ok(ref.matchers.includes('job'), `${p.title}: ${ref.name} filtered by $job`);
      }
    }
  }
});

test('the dashboard shows what an operator watches', () => {
  const asked = new Set(
    queryPanels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricRefs(t.expr).metrics)),
  );
  const names = new Set([...asked].map((r) => r.name));
  for (const must of [
    'civitas_chain_height',
    'civitas_blocks_committed_total',
    'civitas_txs_committed_total',
    'civitas_block_commit_latency_seconds_bucket',
    'civitas_tx_commit_latency_seconds_bucket',
    'civitas_mempool_txs',
    'civitas_mempool_queued_txs',
    'civitas_p2p_peers',
    'civitas_consensus_view',
    'civitas_consensus_view_changes_total',
    'civitas_clock_offset_ms',
    'civitas_tx_signatures_verified_total',
    'civitas_sync_blocks_total',
    'civitas_consensus_evidence_total',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'nodejs_eventloop_lag_p99_seconds',
    'civitas_build_info',
  ]) {
    assert.ok(names.has(must), `a panel shows ${must}`);
  }
  const builds = queryPanels.find((p) =>
    p.targets?.some((t) => /^civitas_build_info\{/.test(t.expr)),
  );
  assert.equal(builds?.type, 'table', 'build info as a table (version, commit per node)');
});

// ---- Prometheus ----

test('prometheus.yml scrapes the compose services on their API port and loads alerts.yml', () => {
  const config = asMap(readYaml(readFileSync(PROMETHEUS_FILE, 'utf8')), 'prometheus.yml');
  for (const file of asList(config.rule_files, 'rule_files')) {
    assert.ok(existsSync(join(dirname(PROMETHEUS_FILE), file as string)), `${file} exists`);
  }
  assert.ok(
    asList(config.rule_files, 'rule_files').includes('alerts.yml'),
    'the alerts are loaded',
  );
  const jobs = asList(config.scrape_configs, 'scrape_configs').map((j) => asMap(j, 'job'));
  const civitas = jobs.find((j) => j.job_name === 'civitas');
  assert.ok(civitas, 'job civitas (the alerts and the dashboard name it)');
  assert.equal(civitas.metrics_path ?? '/metrics', '/metrics');
  const targets = asList(civitas.static_configs, 'static_configs').flatMap((s) =>
    asList(asMap(s, 'static_config').targets, 'targets'),
  );

  const services = readCompose().services as Record<string, Record<string, Yaml>>;
  const expected = Object.keys(services)
    .filter((name) => /^node\d+$/.test(name))
    .map((name) => {
      const ports = services[name]!.ports as string[];
      // host:port:container-port; inside the compose network the container port answers.
      return `${name}:${ports[0]!.split(':').at(-1)}`;
    });
  assert.equal(expected.length, 4);
  assert.deepEqual(targets, expected, 'every compose node, by service name, on its API port');

  // Prometheus's own checker, where it is installed (`check config` reads the rules too).
  const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
  if (promtool !== undefined) {
    execFileSync(promtool, ['check', 'config', PROMETHEUS_FILE], { stdio: 'pipe' });
  }
});

test('alerts.yml: named rules with a severity and a summary, each in OPERATIONS.md with its expression', () => {
  const rules = alertRules();
  assert.ok(rules.length >= 10, `${rules.length} rules`);
  const names = rules.map((r) => r.alert);
  assert.equal(new Set(names).size, names.length, 'unique alert names');
  const doc = readFileSync(join(REPO_ROOT, 'docs/OPERATIONS.md'), 'utf8');
  const tableRows = doc.split('\n').filter((l) => l.startsWith('| '));
  for (const r of rules) {
    assert.match(r.alert, /^Civitas[A-Z]\w+$/, 'alert names start with Civitas');
    assert.ok(['critical', 'warning', 'info'].includes(r.labels.severity!), `${r.alert}: severity`);
    assert.ok(r.annotations.summary, `${r.alert}: a summary`);
    if (r.for !== undefined) assert.match(r.for, /^\d+[smh]$/, `${r.alert}: for`);
    const row = tableRows.find((l) => l.includes(`\`${r.alert}\``));
    assert.ok(row, `OPERATIONS.md's table names ${r.alert}`);
    assert.ok(row.includes(`\`${r.expr}\``), `OPERATIONS.md shows ${r.alert} as \`${r.expr}\``);
  }
});

// ---- the reader itself ----

test('the PromQL reader finds metric names, functions and labels, and flags misuse', () => {
  const refs = metricRefs(
    'histogram_quantile(0.99, sum by (instance, le) (rate(a_bucket{job=~"$job"}[$__rate_interval]))) ' +
      '/ on (instance) group_left max(b) - count(count by (commit) (c)) > bool 2 offset 5m',
  );
  assert.deepEqual(
    refs.metrics.map((m) => [m.name, m.within.join('<'), m.matchers.join()]),
    [
      ['a_bucket', 'rate<sum<histogram_quantile', 'job'],
      ['b', 'max', ''],
      ['c', 'count<count', ''],
    ],
  );
  assert.deepEqual(refs.grouping, ['instance', 'le', 'instance', 'commit']);
  assert.throws(() => metricRefs('ratez(x[5m])'), /unknown function ratez/);
  assert.throws(() => metricRefs('sum(x'), /unbalanced/);

  const families = parseExposition(
    [
      '# TYPE g gauge',
      'g{path="a"} 1',
      '# TYPE c_total counter',
      'c_total 3',
      '# TYPE h_seconds histogram',
      'h_seconds_bucket{le="1"} 1',
      'h_seconds_bucket{le="+Inf"} 1',
      'h_seconds_sum 0.5',
      'h_seconds_count 1',
      '',
    ].join('\n'),
  );
  assert.deepEqual(exprProblems('sum by (path) (g) + rate(c_total[5m])', families), []);
  assert.deepEqual(
    exprProblems('histogram_quantile(0.5, rate(h_seconds_bucket[1m]))', families),
    [],
  );
  const flagged = (expr: string) => exprProblems(expr, families).join('\n');
  assert.match(flagged('rate(g[5m])'), /rate\(\) of g, a gauge/);
  assert.match(flagged('c_total'), /counter shown raw/);
  assert.match(flagged('deriv(c_total[5m])'), /deriv\(\) of c_total, a counter/);
  assert.match(flagged('rate(h_seconds_bucket[5m])'), /outside histogram_quantile/);
  assert.match(flagged('h_seconds'), /a histogram: query its _bucket/);
  assert.match(flagged('g_renamed'), /g_renamed is not in the node's \/metrics/);
  assert.match(flagged('sum by (stage) (g)'), /label stage is on none of the metrics/);
});

// ---- against a running node ----

test("every metric the dashboard and the alerts ask for is in a running node's /metrics, with a type that fits", async (t) => {
  // Empty blocks often, so a few blocks come without waiting long.
  const { rpc: api, summary: network } = await startSingleNode(t, {
    configure: ({ home }) =>
      editConfig(home, (config) => {
        config.consensus.emptyBlockIntervalMs = 200;
      }),
  });
  await transfer(api, network.accounts[0]!.file, network.accounts[1]!.address, '5');
  await waitUntil(
    async () => (await httpJson<{ height: number }>(`${api}/status`)).body.height >= 3,
    'three blocks',
    20_000,
  );
  const res = await fetch(`${api}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const families = parseExposition(text);
  assert.ok(families.size >= 30, `${families.size} metric families`);
  const committed = families.get('civitas_txs_committed_total');
  assert.equal(committed?.type, 'counter');

  assert.deepEqual(kitProblems(families), [], 'the kit asks only for what the node serves');

  // The same check on the same output with one metric renamed and one retyped, as a change
  // to src/node/metrics.ts would make them: both are caught.
  const renamed = parseExposition(text.replace(/\bcivitas_chain_height\b/g, 'civitas_height'));
  const retyped = parseExposition(
    text.replace('# TYPE civitas_p2p_peers gauge', '# TYPE civitas_p2p_peers counter'),
  );
  const renamedProblems = kitProblems(renamed);
  assert.ok(
    renamedProblems.some((p) => p.includes('civitas_chain_height is not in')),
    renamedProblems.join('\n'),
  );
  assert.ok(
    renamedProblems.some((p) => p.startsWith('alert CivitasHeightStalled')),
    'the alert on the renamed metric is caught too',
  );
  assert.ok(
    kitProblems(retyped).some((p) => /civitas_p2p_peers is a counter shown raw/.test(p)),
    'a gauge turned counter is caught',
  );
});
