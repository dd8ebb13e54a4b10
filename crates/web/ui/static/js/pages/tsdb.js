// TSDB status page: head block statistics and the highest-cardinality metrics and labels.

import { apiData } from '../api.js';
import { errorBox, h, loading, replace } from '../dom.js';
import { formatBytes } from '../lib/format.js';
import { formatTime } from '../lib/time.js';

function top(title, rows, nameHeader, valueHeader, fmt = String) {
  if (!rows) return null;
  return [
    h('h2', {}, title),
    h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, h('th', {}, nameHeader), h('th', { class: 'num' }, valueHeader))),
      h('tbody', {}, rows.length ? rows.map((r) => h('tr', {}, h('td', { class: 'mono' }, r.name), h('td', { class: 'num' }, fmt(r.value))))
        : h('tr', {}, h('td', { colspan: 2, class: 'muted' }, 'None')))),
  ];
}

export function render(main) {
  const body = h('div', {}, loading());
  main.append(h('h1', {}, 'TSDB status'), body);
  apiData('status/tsdb').then((d) => {
    const head = d.headStats || {};
    const time = (ms) => (ms == null || Math.abs(ms) >= 9e18 ? '–' : `${formatTime(ms)} (${ms})`);
    replace(body,
      h('h2', {}, 'Head block'),
      h('table', { class: 'table kv' }, h('tbody', {},
        h('tr', {}, h('th', {}, 'Series'), h('td', { class: 'num' }, head.numSeries)),
        h('tr', {}, h('th', {}, 'Chunks'), h('td', { class: 'num' }, head.chunkCount)),
        h('tr', {}, h('th', {}, 'Label pairs'), h('td', { class: 'num' }, head.numLabelPairs)),
        h('tr', {}, h('th', {}, 'Lowest time'), h('td', { class: 'mono' }, time(head.minTime))),
        h('tr', {}, h('th', {}, 'Highest time'), h('td', { class: 'mono' }, time(head.maxTime))))),
      top('Highest series count by metric name', d.seriesCountByMetricName, 'Metric name', 'Series'),
      top('Highest label value count by label name', d.labelValueCountByLabelName, 'Label name', 'Values'),
      top('Highest memory used by label name', d.memoryInBytesByLabelName, 'Label name', 'Bytes', formatBytes),
      top('Highest series count by label pair', d.seriesCountByLabelValuePair, 'Label pair', 'Series'));
  }).catch((e) => replace(body, errorBox(e.message)));
}
