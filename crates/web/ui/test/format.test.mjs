import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatAxis, formatBytes, formatValue, ruleYaml, seriesName, toColumns, yamlScalar,
} from '../static/js/lib/format.js';
import { RANGE_STEPS, stepRange } from '../static/js/lib/step.js';
import { formatDuration } from '../static/js/lib/time.js';
import { byPool } from '../static/js/pages/targets.js';

test('seriesName writes the metric name and sorted, quoted labels', () => {
  assert.equal(seriesName({ __name__: 'up', job: 'a', instance: 'x:1' }), 'up{instance="x:1", job="a"}');
  assert.equal(seriesName({ job: 'say "hi"' }), '{job="say \\"hi\\""}');
  assert.equal(seriesName({ __name__: 'up' }), 'up');
  assert.equal(seriesName({}), '{}');
});

test('formatValue writes numbers short and keeps NaN and infinities', () => {
  assert.equal(formatValue('1'), '1');
  assert.equal(formatValue('0.30000000000000004'), '0.3');
  assert.equal(formatValue('NaN'), 'NaN');
  assert.equal(formatValue('+Inf'), '+Inf');
  assert.equal(formatValue('1e+21'), '1e+21');
  assert.equal(formatValue('123456789012345678'), '1.23457e+17');
  assert.equal(formatValue('0.0000001234567891'), '1.23457e-7');
  assert.equal(formatValue(null), '');
  assert.equal(formatValue('0e+00'), '0');
  assert.equal(formatValue('1.5e+00'), '1.5');
  assert.equal(formatValue('1700000000'), '1700000000');
  assert.equal(formatValue('-Inf'), '-Inf');
  assert.equal(formatValue('abc'), 'abc');
});

test('formatAxis and formatBytes are compact', () => {
  assert.equal(formatAxis(1500), '1.5k');
  assert.equal(formatAxis(2e9), '2G');
  assert.equal(formatAxis(0.25), '0.25');
  assert.equal(formatAxis(0), '0');
  assert.equal(formatAxis(0.00012), '1.2e-4');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.50 KiB');
  assert.equal(formatBytes(3 * 1024 * 1024 * 1024), '3.00 GiB');
});

test('toColumns aligns series on one time axis with gaps as null', () => {
  const series = [
    { metric: {}, values: [[10, '1'], [20, '2']] },
    { metric: {}, values: [[20, '5'], [30, 'NaN'], [40, '7']] },
  ];
  assert.deepEqual(toColumns(series), [[10, 20, 30, 40], [1, 2, null, null], [null, 5, null, 7]]);
  assert.deepEqual(toColumns(series, true), [[10, 20, 30, 40], [1, 2, null, null], [null, 7, null, 7]]);
  assert.deepEqual(toColumns([]), [[]]);
});

test('yamlScalar quotes only what YAML would misread', () => {
  assert.equal(yamlScalar('page'), 'page');
  assert.equal(yamlScalar('High load on {{ $labels.instance }}'), 'High load on {{ $labels.instance }}');
  assert.equal(yamlScalar('a: b'), '"a: b"');
  assert.equal(yamlScalar('true'), '"true"');
  assert.equal(yamlScalar('5'), '"5"');
  assert.equal(yamlScalar(''), '""');
  assert.equal(yamlScalar('{{ $value }}'), '"{{ $value }}"');
  assert.equal(yamlScalar('two\nlines'), '"two\\nlines"');
});

test('ruleYaml writes alerting and recording rules as a user would', () => {
  const alerting = {
    type: 'alerting', name: 'InstanceDown', query: 'up == 0', duration: 300, keepFiringFor: 0,
    labels: { severity: 'page' }, annotations: { summary: 'Instance {{ $labels.instance }} down' },
  };
  assert.equal(ruleYaml(alerting, formatDuration), [
    'alert: InstanceDown', 'expr: up == 0', 'for: 5m', 'labels:', '  severity: page',
    'annotations:', '  summary: Instance {{ $labels.instance }} down',
  ].join('\n'));
  const recording = { type: 'recording', name: 'job:up:sum', query: 'sum by (job) (\n  up\n)', labels: {} };
  assert.equal(ruleYaml(recording, formatDuration), 'record: job:up:sum\nexpr: |\n  sum by (job) (\n    up\n  )');
});

test('stepRange zooms through the presets and stays within them', () => {
  assert.equal(stepRange(3600000, 1), 7200000);
  assert.equal(stepRange(3600000, -1), 1800000);
  assert.equal(stepRange(5000000, 1), 7200000, 'off-preset ranges go to the next preset');
  assert.equal(stepRange(5000000, -1), 3600000);
  assert.equal(stepRange(RANGE_STEPS[0], -1), RANGE_STEPS[0]);
  const last = RANGE_STEPS[RANGE_STEPS.length - 1];
  assert.equal(stepRange(last, 1), last);
});

test('byPool groups targets by scrape pool in name order', () => {
  const ts = [{ scrapePool: 'b', n: 1 }, { scrapePool: 'a', n: 2 }, { scrapePool: 'b', n: 3 }, { n: 4 }];
  assert.deepEqual(byPool(ts).map(([p, list]) => [p, list.map((t) => t.n)]), [['', [4]], ['a', [2]], ['b', [1, 3]]]);
  const dropped = [{ discoveredLabels: { job: 'z' } }];
  assert.deepEqual(byPool(dropped, (t) => t.scrapePool || t.discoveredLabels.job).map(([p]) => p), ['z']);
});
