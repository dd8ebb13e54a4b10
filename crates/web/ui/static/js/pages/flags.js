// Command-line flags page: every flag and its value, filterable.

import { apiData } from '../api.js';
import { errorBox, h, loading, replace } from '../dom.js';

export function render(main) {
  const body = h('div', {}, loading());
  main.append(h('h1', {}, 'Command-line flags'), body);
  apiData('status/flags').then((flags) => {
    const rows = Object.keys(flags).sort().map((name) => h('tr', {}, h('td', { class: 'mono' }, `--${name}`), h('td', { class: 'mono' }, flags[name])));
    const tbody = h('tbody', {}, rows);
    const filter = h('input', {
      type: 'search', placeholder: 'Filter by flag name or value', class: 'filter',
      oninput: () => {
        const q = filter.value.toLowerCase();
        for (const tr of tbody.children) tr.hidden = q !== '' && !tr.textContent.toLowerCase().includes(q);
      },
    });
    replace(body, filter, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Flag'), h('th', {}, 'Value'))), tbody));
  }).catch((e) => replace(body, errorBox(e.message)));
}
