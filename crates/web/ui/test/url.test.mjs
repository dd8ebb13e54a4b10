import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoStep, effectiveStep, MAX_POINTS } from '../static/js/lib/step.js';
import {
  defaultPanel, formatPanels, instantQueryParams, parsePanels, rangeQueryParams,
} from '../static/js/lib/url.js';

test('range query parameters cover the range up to the end', () => {
  const q = new URLSearchParams(rangeQueryParams('rate(x[5m])', 1700000000000, 3600000, 14));
  assert.equal(q.get('query'), 'rate(x[5m])');
  assert.equal(q.get('start'), '1699996400');
  assert.equal(q.get('end'), '1700000000');
  assert.equal(q.get('step'), '14');
  const frac = new URLSearchParams(rangeQueryParams('up', 1700000000123, 1000, 1));
  assert.equal(frac.get('start'), '1699999999.123');
  assert.equal(frac.get('end'), '1700000000.123');
});

test('range query parameters escape the expression', () => {
  const s = rangeQueryParams('up{job="a&b"} + 1', 0, 0, 1);
  assert.ok(s.startsWith('query=up%7Bjob%3D%22a%26b%22%7D+%2B+1&'), s);
});

test('instant query parameters carry the time only when set', () => {
  assert.equal(instantQueryParams('up', null), 'query=up');
  assert.equal(instantQueryParams('up', 1500), 'query=up&time=1.5');
});

test('autoStep picks clock-friendly steps, about one point per 4 px', () => {
  assert.equal(autoStep(3600000, 1000), 15); // 1h over 250 points: 14.4 s -> 15 s
  assert.equal(autoStep(60000, 1000), 1); // never below 1 s
  assert.equal(autoStep(86400000, 1000), 600); // 345.6 s -> 10 m
  assert.equal(autoStep(7 * 86400000, 1000), 3600); // 2419 s -> 1 h
  assert.equal(autoStep(3600000, 400), 60); // narrower graph, fewer points: 36 s -> 1 m
  assert.equal(autoStep(100 * 365 * 86400000, 1000), 86400 * 146); // beyond the table: whole days
  assert.equal(autoStep(100 * 365 * 86400000 + 1000, 1000), 86400 * 147);
});

test('effectiveStep honours the user step but respects the point limit', () => {
  assert.equal(effectiveStep(3600000, 7, 1000), 7);
  assert.equal(effectiveStep(3600000, null, 1000), 15);
  const range = 30 * 86400000;
  const step = effectiveStep(range, 1, 1000);
  assert.ok(range / 1000 / step <= MAX_POINTS, `step ${step}`);
  assert.equal(step, Math.ceil(range / 1000 / MAX_POINTS));
});

test('panels round-trip through the page URL', () => {
  const panels = [
    { expr: 'sum(rate(x[5m])) by (job)', tab: 'graph', rangeMs: 7200000, endMs: 1700000000000, stepSec: 30, stacked: true },
    { ...defaultPanel(), expr: 'up' },
  ];
  assert.deepEqual(parsePanels('?' + formatPanels(panels)), panels);
});

test('panels read the links Prometheus templates write', () => {
  // graphLink and tableLink: /graph?g0.expr=...&g0.tab=0|1
  const [g] = parsePanels('g0.expr=up%7Bjob%3D%22a%22%7D&g0.tab=0');
  assert.equal(g.expr, 'up{job="a"}');
  assert.equal(g.tab, 'graph');
  const [t] = parsePanels('g0.expr=up&g0.tab=1&g0.moment_input=2023-11-14%2022%3A13%3A20');
  assert.equal(t.tab, 'table');
  assert.equal(t.endMs, 1700000000000);
  const two = parsePanels('g1.expr=b&g0.expr=a&g0.range_input=bogus');
  assert.deepEqual(two.map((p) => p.expr), ['a', 'b']);
  assert.equal(two[0].rangeMs, defaultPanel().rangeMs);
  assert.deepEqual(parsePanels(''), [defaultPanel()]);
});
