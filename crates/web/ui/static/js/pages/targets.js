// Targets page: active targets by scrape pool with health, last scrape, duration, last error,
// target labels and the discovered labels before relabeling.

import { apiData } from '../api.js';
import { badge, errorBox, h, labelChips, loading, replace } from '../dom.js';
import { safeHref } from '../lib/format.js';
import { formatAgo, formatShort, parseApiTime } from '../lib/time.js';

/** Groups targets by scrape pool, pools sorted by name. */
export function byPool(targets, poolOf = (t) => t.scrapePool) {
  const pools = new Map();
  for (const t of targets) {
    const pool = poolOf(t) || '';
    if (!pools.has(pool)) pools.set(pool, []);
    pools.get(pool).push(t);
  }
  return [...pools.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function targetRow(t, now) {
  const last = parseApiTime(t.lastScrape);
  return h('tr', { class: `health-${t.health}` },
    h('td', { class: 'endpoint' },
      safeHref(t.globalUrl || t.scrapeUrl)
        ? h('a', { href: safeHref(t.globalUrl || t.scrapeUrl), target: '_blank', rel: 'noopener noreferrer' }, t.scrapeUrl)
        : t.scrapeUrl),
    h('td', {}, badge(t.health === 'up' ? 'UP' : t.health === 'down' ? 'DOWN' : 'UNKNOWN', t.health)),
    h('td', {},
      labelChips(t.labels),
      h('details', { class: 'discovered' }, h('summary', {}, 'Discovered labels (before relabeling)'),
        labelChips(t.discoveredLabels))),
    h('td', { class: 'nowrap', title: t.lastScrape }, last == null ? 'never' : formatAgo(last, now)),
    h('td', { class: 'nowrap num' }, t.lastScrapeDuration != null && last != null ? formatShort(t.lastScrapeDuration * 1000) : '–'),
    h('td', { class: 'error-text' }, t.lastError || ''));
}

export function render(main) {
  const state = { health: new Set(['up', 'down', 'unknown']), search: '', data: null };
  const body = h('div', {}, loading());
  const search = h('input', {
    type: 'search', class: 'filter', placeholder: 'Filter by endpoint or labels',
    oninput: () => { state.search = search.value.toLowerCase(); draw(); },
  });
  const healthBoxes = ['up', 'down', 'unknown'].map((hl) => h('label', { class: 'check' },
    h('input', {
      type: 'checkbox', checked: true,
      onchange: (ev) => { if (ev.target.checked) state.health.add(hl); else state.health.delete(hl); draw(); },
    }), ` ${hl[0].toUpperCase()}${hl.slice(1)}`));
  const refresh = h('button', { type: 'button', onclick: () => load() }, 'Refresh');
  main.append(h('h1', {}, 'Targets'), h('div', { class: 'toolbar' }, search, healthBoxes, refresh), body);

  function matches(t) {
    if (!state.health.has(t.health)) return false;
    if (!state.search) return true;
    const text = `${t.scrapeUrl} ${Object.entries(t.labels || {}).map(([k, v]) => `${k}="${v}"`).join(' ')}`;
    return text.toLowerCase().includes(state.search);
  }

  function draw() {
    const now = Date.now();
    const pools = byPool(state.data.activeTargets || []);
    if (pools.length === 0) {
      replace(body, h('p', { class: 'muted' }, 'No targets.'));
      return;
    }
    replace(body, pools.map(([pool, targets]) => {
      const up = targets.filter((t) => t.health === 'up').length;
      const shown = targets.filter(matches);
      if (shown.length === 0) return null;
      return h('details', { class: 'pool', open: true },
        h('summary', {}, h('span', { class: 'pool-name' }, pool),
          h('span', { class: `pool-count ${up === targets.length ? 'ok' : 'bad'}` }, ` (${up}/${targets.length} up)`)),
        h('table', { class: 'table' },
          h('thead', {}, h('tr', {}, ['Endpoint', 'State', 'Labels', 'Last scrape', 'Scrape duration', 'Error'].map((c) => h('th', {}, c)))),
          h('tbody', {}, shown.map((t) => targetRow(t, now)))));
    }));
  }

  function load() {
    apiData('targets', { state: 'active' }).then((data) => { state.data = data; draw(); })
      .catch((e) => replace(body, errorBox(e.message)));
  }
  load();
}
