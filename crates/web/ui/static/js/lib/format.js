// Formatting of series and values for tables, legends and tooltips, no DOM.

/** `metric{a="x", b="y"}` with `__name__` as the metric name; `{}` for no labels. */
export function seriesName(metric) {
  const labels = metric || {};
  const name = labels.__name__ || '';
  const pairs = Object.keys(labels)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  if (pairs.length === 0) return name || '{}';
  return `${name}{${pairs.join(', ')}}`;
}

/**
 * A sample value for display: the API's string as the shortest number JavaScript writes for it
 * ("0e+00" is 0) when that is short, else up to 12 significant digits, in exponent form for very
 * large or small magnitudes. NaN and infinities as Prometheus writes them.
 */
export function formatValue(v) {
  if (v == null) return '';
  const s = String(v);
  if (s === 'NaN' || s === '+Inf' || s === '-Inf') return s;
  const n = Number(s);
  if (s.trim() === '' || Number.isNaN(n)) return s;
  const short = String(n);
  if (short.length <= 12) return short;
  const a = Math.abs(n);
  if (a !== 0 && (a >= 1e15 || a < 1e-6)) return n.toExponential(5).replace(/\.?0+e/, 'e');
  return String(Number(n.toPrecision(12)));
}

/** A compact axis label: 1.5k, 2M, 3G... for large numbers; plain otherwise. */
export function formatAxis(n) {
  if (n == null || Number.isNaN(n)) return '';
  const a = Math.abs(n);
  const units = [[1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [size, unit] of units) {
    if (a >= size) return `${+(n / size).toFixed(2)}${unit}`;
  }
  if (a !== 0 && a < 1e-3) return n.toExponential(1);
  return String(+n.toFixed(4));
}

/** Bytes as B, KiB, MiB, GiB. */
export function formatBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n);
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(2)} ${units[i]}`;
}

/**
 * Turns range query series (`[{metric, values: [[t, "v"]...]}]`) into uPlot's columns: one
 * sorted time axis (seconds) and one array per series, null where a series has no sample.
 * With `stacked`, each series holds the running sum of itself and those before it (missing
 * samples add nothing but stay missing).
 */
export function toColumns(series, stacked = false) {
  const times = new Set();
  for (const s of series) for (const [t] of s.values || []) times.add(t);
  const xs = [...times].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const cols = series.map((s) => {
    const col = new Array(xs.length).fill(null);
    for (const [t, v] of s.values || []) {
      const n = Number(v);
      col[index.get(t)] = Number.isFinite(n) ? n : null;
    }
    return col;
  });
  if (stacked) {
    const sum = new Array(xs.length).fill(0);
    for (const col of cols) {
      for (let i = 0; i < xs.length; i++) {
        if (col[i] == null) continue;
        sum[i] += col[i];
        col[i] = sum[i];
      }
    }
  }
  return [xs, ...cols];
}

/** A YAML scalar: plain when unambiguous, else double-quoted with escapes. */
export function yamlScalar(s) {
  const str = String(s);
  if (str === '' || /^[\s\-?:,[\]{}#&*!|>'"%@`]|[:#]\s|\s$|\n|:$/.test(str) ||
    /^(true|false|null|~|yes|no|on|off|-?\d+(\.\d+)?)$/i.test(str)) {
    return JSON.stringify(str);
  }
  return str;
}

/**
 * A rule as the YAML a user would have written: `alert`/`record`, `expr`, `for`,
 * `keep_firing_for`, `labels`, `annotations`. Durations come from the API in seconds.
 */
export function ruleYaml(rule, formatDuration) {
  const lines = [];
  if (rule.type === 'alerting') lines.push(`alert: ${yamlScalar(rule.name)}`);
  else lines.push(`record: ${yamlScalar(rule.name)}`);
  const expr = String(rule.query);
  if (expr.includes('\n')) lines.push('expr: |', ...expr.split('\n').map((l) => `  ${l}`));
  else lines.push(`expr: ${yamlScalar(expr)}`);
  if (rule.duration) lines.push(`for: ${formatDuration(rule.duration * 1000)}`);
  if (rule.keepFiringFor) lines.push(`keep_firing_for: ${formatDuration(rule.keepFiringFor * 1000)}`);
  for (const key of ['labels', 'annotations']) {
    const map = rule[key] || {};
    const names = Object.keys(map).sort();
    if (names.length === 0) continue;
    lines.push(`${key}:`);
    for (const n of names) lines.push(`  ${n}: ${yamlScalar(map[n])}`);
  }
  return lines.join('\n');
}

/** `url` when it is an absolute http or https URL (safe to link), else null. */
export function safeHref(url) {
  try {
    const u = new URL(String(url ?? '').trim());
    return u.protocol === 'http:' || u.protocol === 'https:' ? String(url).trim() : null;
  } catch {
    return null;
  }
}
