// Service discovery page: every discovered target by pool, its labels before relabeling and
// what relabeling made of them (or that it was dropped).

import { apiData } from '../api.js';
import { errorBox, h, labelChips, loading, replace } from '../dom.js';
import { byPool } from './targets.js';

export function render(main) {
  const body = h('div', {}, loading());
  main.append(h('h1', {}, 'Service discovery'), body);
  apiData('targets', { state: 'any' }).then((data) => {
    const all = [
      ...(data.activeTargets || []).map((t) => ({ ...t, dropped: false })),
      ...(data.droppedTargets || []).map((t) => ({ ...t, dropped: true })),
    ];
    const pools = byPool(all, (t) => t.scrapePool || (t.discoveredLabels || {}).job);
    if (pools.length === 0) {
      replace(body, h('p', { class: 'muted' }, 'No discovered targets.'));
      return;
    }
    const index = h('ul', { class: 'pool-index' }, pools.map(([pool, ts]) => h('li', {},
      h('a', { href: `#pool-${encodeURIComponent(pool)}` }, pool),
      ` (${ts.filter((t) => !t.dropped).length} / ${ts.length} active targets)`)));
    const sections = pools.map(([pool, ts]) => h('details', { class: 'pool', open: true, id: `pool-${encodeURIComponent(pool)}` },
      h('summary', {}, h('span', { class: 'pool-name' }, pool)),
      h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Discovered labels'), h('th', {}, 'Target labels'))),
        h('tbody', {}, ts.map((t) => h('tr', {},
          h('td', {}, labelChips(t.discoveredLabels)),
          h('td', {}, t.dropped ? h('span', { class: 'badge badge-dropped' }, 'Dropped') : labelChips(t.labels))))))));
    replace(body, index, sections);
  }).catch((e) => replace(body, errorBox(e.message)));
}
