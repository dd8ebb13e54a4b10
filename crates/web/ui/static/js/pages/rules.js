// Rules page: every rule group with its evaluation, and each rule's health and last error.

import { apiData } from '../api.js';
import { badge, errorBox, h, loading, replace } from '../dom.js';
import { ruleYaml } from '../lib/format.js';
import { formatAgo, formatDuration, formatShort, parseApiTime } from '../lib/time.js';

function when(text, now) {
  const t = parseApiTime(text);
  return t == null ? 'never' : formatAgo(t, now);
}

export function render(main) {
  const body = h('div', {}, loading());
  main.append(h('h1', {}, 'Rules'), body);
  apiData('rules').then((data) => {
    const now = Date.now();
    const groups = data.groups || [];
    if (groups.length === 0) {
      replace(body, h('p', { class: 'muted' }, 'No rule groups are loaded.'));
      return;
    }
    replace(body, groups.map((g) => h('section', { class: 'group' },
      h('h2', {}, g.name, h('span', { class: 'muted small' }, ` ${g.file}`)),
      h('p', { class: 'muted small' },
        `Interval ${formatDuration((g.interval || 0) * 1000)}`,
        g.limit ? ` · limit ${g.limit}` : '',
        ` · last evaluation ${when(g.lastEvaluation, now)}`,
        ` · took ${formatShort((g.evaluationTime || 0) * 1000)}`),
      h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, ['Rule', 'State', 'Error', 'Last evaluation', 'Evaluation time'].map((c) => h('th', {}, c)))),
        h('tbody', {}, g.rules.map((r) => h('tr', {},
          h('td', {}, h('pre', { class: 'code' }, ruleYaml(r, formatDuration))),
          h('td', {}, badge(r.health, r.health === 'ok' ? 'ok' : r.health === 'err' ? 'err' : 'unknown')),
          h('td', { class: 'error-text' }, r.lastError || ''),
          h('td', { class: 'nowrap' }, when(r.lastEvaluation, now)),
          h('td', { class: 'nowrap num' }, formatShort((r.evaluationTime || 0) * 1000)))))))));
  }).catch((e) => replace(body, errorBox(e.message)));
}
