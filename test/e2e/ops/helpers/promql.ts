/**
 * What the monitoring files ask of a node, checked against what the node serves: the metric
 * names in PromQL expressions (Grafana panels, alerting rules), with the functions around each
 * and the label names they use, and the families of a Prometheus text exposition (GET
 * /metrics) with their types and labels. Not a PromQL parser: a tokenizer that knows which
 * identifiers are functions, aggregations, keywords, label names or Grafana variables, so
 * that what is left is a metric name. An expression it cannot read is an error, never a
 * silent pass. Prometheus's own files are read with ./yaml.ts.
 */

// ---- the exposition (GET /metrics) ----

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface MetricFamily {
  readonly type: MetricType;
  /** Label names seen on its samples (none when it has no series yet). */
  readonly labels: Set<string>;
  readonly samples: number;
}

/** Families by name, from `# TYPE` lines and the samples under them. */
export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily & { samples: number }>();
  const familyOf = (sample: string): (MetricFamily & { samples: number }) | undefined => {
    const direct = families.get(sample);
    if (direct !== undefined) return direct;
    const m = /^(.*)_(bucket|sum|count)$/.exec(sample);
    const base = m === null ? undefined : families.get(m[1]!);
    return base !== undefined && (base.type === 'histogram' || base.type === 'summary')
      ? base
      : undefined;
  };
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type !== null) {
      families.set(type[1]!, { type: type[2] as MetricType, labels: new Set(), samples: 0 });
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+( \d+)?$/.exec(line);
    if (sample === null) throw new Error(`exposition: cannot read ${JSON.stringify(line)}`);
    const family = familyOf(sample[1]!);
    if (family === undefined) throw new Error(`exposition: sample without a TYPE: ${sample[1]}`);
    family.samples++;
    for (const l of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) {
      if (l[1] !== 'le' && l[1] !== 'quantile') family.labels.add(l[1]!);
    }
  }
  return families;
}

// ---- PromQL ----

const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

/** Functions that take a range of a counter (or of a histogram's buckets, sum, count). */
const COUNTER_RANGE_FUNCTIONS = new Set(['rate', 'irate', 'increase', 'resets']);
/** Functions whose answer means nothing on a counter. */
const GAUGE_RANGE_FUNCTIONS = new Set([
  'delta',
  'idelta',
  'deriv',
  'predict_linear',
  'holt_winters',
  'double_exponential_smoothing',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'quantile_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'mad_over_time',
]);
/** Functions that take a range of anything. */
const ANY_RANGE_FUNCTIONS = new Set([
  'changes',
  'count_over_time',
  'last_over_time',
  'present_over_time',
  'absent_over_time',
]);
const BUCKET_FUNCTIONS = new Set(['histogram_quantile', 'histogram_fraction']);
const OTHER_FUNCTIONS = new Set([
  'abs',
  'absent',
  'ceil',
  'clamp',
  'clamp_max',
  'clamp_min',
  'day_of_month',
  'day_of_week',
  'day_of_year',
  'days_in_month',
  'exp',
  'floor',
  'histogram_avg',
  'histogram_count',
  'histogram_stddev',
  'histogram_stdvar',
  'histogram_sum',
  'hour',
  'label_join',
  'label_replace',
  'ln',
  'log2',
  'log10',
  'minute',
  'month',
  'round',
  'scalar',
  'sgn',
  'sort',
  'sort_desc',
  'sort_by_label',
  'sort_by_label_desc',
  'sqrt',
  'time',
  'timestamp',
  'vector',
  'year',
  'acos',
  'acosh',
  'asin',
  'asinh',
  'atan',
  'atanh',
  'cos',
  'cosh',
  'deg',
  'pi',
  'rad',
  'sin',
  'sinh',
  'tan',
  'tanh',
]);
const FUNCTIONS = new Set([
  ...COUNTER_RANGE_FUNCTIONS,
  ...GAUGE_RANGE_FUNCTIONS,
  ...ANY_RANGE_FUNCTIONS,
  ...BUCKET_FUNCTIONS,
  ...OTHER_FUNCTIONS,
]);
const BINARY_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'atan2']);
const GROUPING = new Set(['by', 'without']);
const MATCHING = new Set(['on', 'ignoring', 'group_left', 'group_right']);
const NUMBER_WORDS = new Set(['inf', 'nan']);

type Token =
  | { kind: 'ident'; text: string }
  | { kind: 'string' | 'number' | 'variable' | 'range' | 'op'; text: string }
  | { kind: 'matchers'; labels: string[] }
  | { kind: '(' | ')' | ','; text: string };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`PromQL: ${why} at ${i} in ${JSON.stringify(expr)}`);
  };
  const readString = (): string => {
    const quote = expr[i]!;
    let j = i + 1;
    while (j < expr.length && expr[j] !== quote) j += expr[j] === '\\' && quote !== '`' ? 2 : 1;
    if (j >= expr.length) fail('unterminated string');
    const s = expr.slice(i, j + 1);
    i = j + 1;
    return s;
  };
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if (c === '"' || c === "'" || c === '`') {
      tokens.push({ kind: 'string', text: readString() });
    } else if (c === '$') {
      // Grafana's variables: $name, ${name}, ${name:format}, [[name]] is not used here.
      const m = /^\$(\{[^}]+\}|\w+)/.exec(expr.slice(i));
      if (m === null) fail('a lone $');
      tokens.push({ kind: 'variable', text: m![0] });
      i += m![0].length;
    } else if (c === '{') {
      // Label matchers: name op "value", ...
      i++;
      const labels: string[] = [];
      for (;;) {
        while (/[\s,]/.test(expr[i] ?? '')) i++;
        if (expr[i] === '}') break;
        if (i >= expr.length) fail('unterminated {');
        const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(expr.slice(i));
        if (name === null) fail('a label name expected');
        labels.push(name![0]);
        i += name![0].length;
        while (/\s/.test(expr[i] ?? '')) i++;
        const op = /^(=~|!~|!=|=)/.exec(expr.slice(i));
        if (op === null) fail('a matcher operator expected');
        i += op![0].length;
        while (/\s/.test(expr[i] ?? '')) i++;
        if (!['"', "'", '`'].includes(expr[i] ?? '')) fail('a quoted label value expected');
        readString();
      }
      i++;
      tokens.push({ kind: 'matchers', labels });
    } else if (c === '[') {
      const j = expr.indexOf(']', i);
      if (j < 0) fail('unterminated [');
      tokens.push({ kind: 'range', text: expr.slice(i, j + 1) });
      i = j + 1;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c, text: c });
      i++;
    } else if (/[0-9.]/.test(c)) {
      const m = /^(0x[0-9a-fA-F]+|(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?([smhdwy]|ms)?)/.exec(
        expr.slice(i),
      );
      if (m === null) fail('a number expected');
      tokens.push({ kind: 'number', text: m![0] });
      i += m![0].length;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
    } else {
      const m = /^(==|!=|>=|<=|[-+*/%^<>@])/.exec(expr.slice(i));
      if (m === null) fail(`unexpected ${JSON.stringify(c)}`);
      tokens.push({ kind: 'op', text: m![0] });
      i += m![0].length;
    }
  }
  return tokens;
}

/** One metric name in an expression and what surrounds it. */
export interface MetricRef {
  readonly name: string;
  /** The functions and aggregations it is an argument of, innermost first. */
  readonly within: readonly string[];
  /** Label names its own matchers use. */
  readonly matchers: readonly string[];
}

export interface ExprRefs {
  readonly metrics: MetricRef[];
  /** Label names in by/without/on/ignoring/group_left/group_right lists. */
  readonly grouping: string[];
}

/** The metric names in a PromQL expression, the functions around each and the labels used. */
export function metricRefs(expr: string): ExprRefs {
  const tokens = tokenize(expr);
  const metrics: MetricRef[] = [];
  const grouping: string[] = [];
  const frames: string[] = []; // '' for a plain parenthesis
  let pending: string | undefined;
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`PromQL: ${why} in ${JSON.stringify(expr)}`);
  };
  /** A parenthesised list of label names, starting at tokens[i]. */
  const labelList = (): void => {
    if (tokens[i]?.kind !== '(') fail('a label list expected');
    i++;
    while (tokens[i]?.kind !== ')') {
      const t = tokens[i];
      if (t === undefined) fail('unterminated label list');
      if (t!.kind === 'ident') grouping.push((t as { text: string }).text);
      else if (t!.kind !== ',') fail('a label name expected in a label list');
      i++;
    }
    i++;
  };
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (t.kind === '(') {
      frames.push(pending ?? '');
      pending = undefined;
      i++;
    } else if (t.kind === ')') {
      if (frames.pop() === undefined) fail('unbalanced )');
      i++;
    } else if (t.kind === 'ident') {
      const word = t.text;
      const lower = word.toLowerCase();
      i++;
      if (GROUPING.has(lower)) {
        labelList();
      } else if (MATCHING.has(lower)) {
        if (tokens[i]?.kind === '(') labelList();
      } else if (lower === 'offset') {
        if (tokens[i]?.kind === 'op' && (tokens[i] as { text: string }).text === '-') i++;
        if (tokens[i]?.kind !== 'number' && tokens[i]?.kind !== 'variable')
          fail('a duration after offset');
        i++;
      } else if (BINARY_KEYWORDS.has(lower) || NUMBER_WORDS.has(lower)) {
        // an operator or a number
      } else if (AGGREGATIONS.has(word) || FUNCTIONS.has(word)) {
        const next = tokens[i];
        const grouped = next?.kind === 'ident' && GROUPING.has(next.text) && AGGREGATIONS.has(word);
        if (next?.kind !== '(' && !grouped) fail(`${word} without arguments`);
        pending = word;
      } else if (tokens[i]?.kind === '(') {
        fail(`unknown function ${word}`);
      } else {
        const matchers = tokens[i]?.kind === 'matchers' ? tokens[i++] : undefined;
        metrics.push({
          name: word,
          within: frames.filter((f) => f !== '').reverse(),
          matchers: matchers?.kind === 'matchers' ? matchers.labels : [],
        });
      }
    } else if (t.kind === 'matchers') {
      fail('a selector without a metric name');
    } else {
      i++;
    }
  }
  if (frames.length > 0) fail('unbalanced (');
  return { metrics, grouping };
}

/** Labels every scraped series has (Prometheus adds them) and histograms' bucket bound. */
const TARGET_LABELS = new Set(['instance', 'job']);

/**
 * What is wrong with `expr` against the node's families: a metric it does not serve, a
 * histogram or counter used as what it is not, a label none of the expression's metrics has.
 * `extraLabels` are label names used elsewhere for the same query (Grafana's legend).
 * `synthetic` names series Prometheus makes itself (`up`), which no exposition holds.
 */
export function exprProblems(
  expr: string,
  families: ReadonlyMap<string, MetricFamily>,
  opts: { extraLabels?: readonly string[]; synthetic?: ReadonlySet<string> } = {},
): string[] {
  const problems: string[] = [];
  let refs: ExprRefs;
  try {
    refs = metricRefs(expr);
  } catch (err) {
    return [(err as Error).message];
  }
  if (refs.metrics.length === 0) problems.push(`no metric in ${expr}`);
  const known = new Set(TARGET_LABELS);
  let labelsUnknown = false;
  for (const ref of refs.metrics) {
    if (opts.synthetic?.has(ref.name)) continue;
    const suffix = /_(bucket|sum|count)$/.exec(ref.name);
    let family = families.get(ref.name);
    let part: string | undefined;
    if (family === undefined && suffix !== null) {
      const base = families.get(ref.name.slice(0, -suffix[0].length));
      if (base?.type === 'histogram' || base?.type === 'summary') {
        family = base;
        part = suffix[1];
      }
    }
    if (family === undefined) {
      problems.push(`${ref.name} is not in the node's /metrics`);
      continue;
    }
    if (family.samples === 0) labelsUnknown = true;
    for (const l of family.labels) known.add(l);
    if (part === 'bucket') known.add('le');
    const rangeFn = ref.within.find(
      (f) => COUNTER_RANGE_FUNCTIONS.has(f) || GAUGE_RANGE_FUNCTIONS.has(f),
    );
    const counterLike = family.type === 'counter' || part !== undefined;
    if ((family.type === 'histogram' || family.type === 'summary') && part === undefined) {
      problems.push(`${ref.name} is a ${family.type}: query its _bucket, _sum or _count`);
    }
    if (part === 'bucket' && !ref.within.some((f) => BUCKET_FUNCTIONS.has(f))) {
      problems.push(`${ref.name} outside histogram_quantile()`);
    }
    if (rangeFn !== undefined && COUNTER_RANGE_FUNCTIONS.has(rangeFn) && !counterLike) {
      problems.push(
        `${rangeFn}() of ${ref.name}, a ${family.type} (rate and increase want counters)`,
      );
    }
    if (rangeFn !== undefined && GAUGE_RANGE_FUNCTIONS.has(rangeFn) && counterLike) {
      problems.push(`${rangeFn}() of ${ref.name}, a counter (use rate or increase)`);
    }
    if (rangeFn === undefined && counterLike && part !== undefined) {
      problems.push(`${ref.name} without rate() or increase()`);
    }
    if (rangeFn === undefined && family.type === 'counter') {
      problems.push(`${ref.name} is a counter shown raw (it restarts at 0): rate() or increase()`);
    }
  }
  if (!labelsUnknown) {
    const used = [
      ...refs.grouping,
      ...refs.metrics.flatMap((r) => r.matchers),
      ...(opts.extraLabels ?? []),
    ];
    for (const label of used) {
      if (!known.has(label) && label !== '__name__') {
        problems.push(`label ${label} is on none of the metrics of ${expr}`);
      }
    }
  }
  return problems;
}
