// Alerts page: alerting rules by group with their state, and the active alerts of each with
// labels, annotations, active since and value.

import { apiData } from '../api.js';
import { badge, errorBox, h, labelChips, loading, replace } from '../dom.js';
import { formatValue, ruleYaml } from '../lib/format.js';
import { formatAgo, formatDuration, formatTime, parseApiTime } from '../lib/time.js';

const STATES = ['inactive', 'pending', 'firing'];

function queryLink(expr) {
  const p = new URLSearchParams({ 'g0.expr': expr, 'g0.tab': '1' });
  return `query?${p}`;
}

function alertRows(alerts, now, showAnnotations) {
  return alerts.map((a) => {
    const since = parseApiTime(a.activeAt);
    const row = h('tr', {},
      h('td', {}, labelChips(a.labels)),
      h('td', {}, badge(a.state.toUpperCase(), a.state)),
      h('td', { class: 'nowrap', title: since == null ? '' : formatTime(since) }, since == null ? '' : formatAgo(since, now)),
      h('td', { class: 'num' }, formatValue(a.value)));
    if (!showAnnotations || Object.keys(a.annotations || {}).length === 0) return row;
    const ann = h('tr', { class: 'annotations' }, h('td', { colspan: 4 },
      h('dl', {}, Object.keys(a.annotations).sort().map((k) => [h('dt', {}, k), h('dd', {}, a.annotations[k])]))));
    return [row, ann];
  });
}

function ruleBlock(rule, now, showAnnotations) {
  const alerts = rule.alerts || [];
  const summary = h('summary', {},
    badge(rule.state.toUpperCase(), rule.state), ' ',
    h('span', { class: 'rule-name' }, rule.name),
    alerts.length ? h('span', { class: 'muted' }, ` (${alerts.length} active)`) : null,
    rule.health && rule.health !== 'ok' ? [' ', badge(rule.health, 'err')] : null);
  return h('details', { class: `rule state-${rule.state}`, open: rule.state !== 'inactive' },
    summary,
    h('pre', { class: 'code' }, ruleYaml(rule, formatDuration)),
    h('a', { href: queryLink(rule.query), 'data-nav': true, class: 'small' }, 'Run the expression'),
    rule.lastError ? h('div', { class: 'error' }, rule.lastError) : null,
    alerts.length ? h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, ['Labels', 'State', 'Active since', 'Value'].map((c) => h('th', {}, c)))),
      h('tbody', {}, alertRows(alerts, now, showAnnotations))) : null);
}

export function render(main) {
  const state = { show: new Set(STATES), annotations: true, search: '', data: null };
  const body = h('div', {}, loading());
  const counts = {};
  const boxes = STATES.map((s) => {
    const count = h('span', {}, '');
    counts[s] = count;
    return h('label', { class: `check state-${s}` },
      h('input', {
        type: 'checkbox', checked: true,
        onchange: (ev) => { if (ev.target.checked) state.show.add(s); else state.show.delete(s); draw(); },
      }), ` ${s[0].toUpperCase()}${s.slice(1)} `, count);
  });
  const search = h('input', {
    type: 'search', class: 'filter', placeholder: 'Filter by rule name or labels',
    oninput: () => { state.search = search.value.toLowerCase(); draw(); },
  });
  const annotations = h('label', { class: 'check' }, h('input', {
    type: 'checkbox', checked: true,
    onchange: (ev) => { state.annotations = ev.target.checked; draw(); },
  }), ' Show annotations');
  main.append(h('h1', {}, 'Alerts'), h('div', { class: 'toolbar' }, boxes, search, annotations), body);

  function draw() {
    const now = Date.now();
    const groups = state.data.groups || [];
    const all = groups.flatMap((g) => g.rules);
    for (const s of STATES) counts[s].textContent = `(${all.filter((r) => r.state === s).length})`;
    const match = (r) => state.show.has(r.state) && (!state.search ||
      `${r.name} ${JSON.stringify(r.labels || {})}`.toLowerCase().includes(state.search));
    const sections = groups.map((g) => {
      const rules = g.rules.filter(match);
      if (rules.length === 0) return null;
      return h('section', { class: 'group' },
        h('h2', {}, g.name, h('span', { class: 'muted small' }, ` ${g.file}`)),
        rules.map((r) => ruleBlock(r, now, state.annotations)));
    }).filter(Boolean);
    replace(body, sections.length ? sections : h('p', { class: 'muted' }, all.length ? 'No rule matches the filter.' : 'No alerting rules.'));
  }

  apiData('rules', { type: 'alert' }).then((data) => { state.data = data; draw(); })
    .catch((e) => replace(body, errorBox(e.message)));
}
