// URLs the UI builds: API query parameters and the query page's shareable state, no DOM.

import { formatDuration, formatTime, parseDuration, parseTime } from './time.js';

/** Seconds with at most millisecond precision, as the API takes them. */
export function toApiSeconds(ms) {
  return String(Math.round(ms) / 1000);
}

/** The query string of an instant query at `timeMs` (server's now when null). */
export function instantQueryParams(expr, timeMs) {
  const p = new URLSearchParams({ query: expr });
  if (timeMs != null) p.set('time', toApiSeconds(timeMs));
  return p.toString();
}

/** The query string of a range query covering `rangeMs` up to `endMs` every `stepSec` seconds. */
export function rangeQueryParams(expr, endMs, rangeMs, stepSec) {
  return new URLSearchParams({
    query: expr,
    start: toApiSeconds(endMs - rangeMs),
    end: toApiSeconds(endMs),
    step: String(stepSec),
  }).toString();
}

/** The default state of a query panel. */
export function defaultPanel() {
  return { expr: '', tab: 'table', rangeMs: 3600000, endMs: null, stepSec: null, stacked: false };
}

/**
 * Reads query panels from a page query string in Prometheus's format (`g0.expr`, `g0.tab` with
 * 0 = graph and 1 = table, `g0.range_input`, `g0.end_input`, `g0.moment_input`, `g0.step_input`,
 * `g0.stacked`), as Prometheus's graphLink and tableLink write them. Always at least one panel.
 */
export function parsePanels(search) {
  const params = new URLSearchParams(search);
  const byIndex = new Map();
  for (const [key, value] of params) {
    const m = /^g(\d+)\.(\w+)$/.exec(key);
    if (!m) continue;
    const i = Number(m[1]);
    if (!byIndex.has(i)) byIndex.set(i, defaultPanel());
    const p = byIndex.get(i);
    switch (m[2]) {
      case 'expr': p.expr = value; break;
      case 'tab': p.tab = value === '0' ? 'graph' : 'table'; break;
      case 'range_input': { const r = parseDuration(value); if (r) p.rangeMs = r; break; }
      case 'end_input': case 'moment_input': { const t = parseTime(value); if (t != null) p.endMs = t; break; }
      case 'step_input': { const s = Number(value); if (s > 0) p.stepSec = s; break; }
      case 'stacked': p.stacked = value === '1'; break;
      default: break;
    }
  }
  const panels = [...byIndex.keys()].sort((a, b) => a - b).map((i) => byIndex.get(i));
  return panels.length ? panels : [defaultPanel()];
}

/** Writes query panels as a page query string that parsePanels reads back. */
export function formatPanels(panels) {
  const p = new URLSearchParams();
  panels.forEach((panel, i) => {
    p.set(`g${i}.expr`, panel.expr);
    p.set(`g${i}.tab`, panel.tab === 'graph' ? '0' : '1');
    p.set(`g${i}.stacked`, panel.stacked ? '1' : '0');
    p.set(`g${i}.range_input`, formatDuration(panel.rangeMs));
    if (panel.endMs != null) p.set(`g${i}.end_input`, formatTime(panel.endMs));
    if (panel.stepSec != null) p.set(`g${i}.step_input`, String(panel.stepSec));
  });
  return p.toString();
}
