// Configuration page: the loaded configuration as YAML (secrets already redacted by the server).

import { apiData } from '../api.js';
import { errorBox, h, loading, replace } from '../dom.js';

export function render(main) {
  const body = h('div', {}, loading());
  main.append(h('h1', {}, 'Configuration'), body);
  apiData('status/config').then((data) => {
    const pre = h('pre', { class: 'code' }, data.yaml);
    const copy = h('button', {
      type: 'button',
      onclick: () => navigator.clipboard?.writeText(data.yaml).then(() => { copy.textContent = 'Copied'; }),
    }, 'Copy to clipboard');
    replace(body, h('div', { class: 'toolbar' }, copy), pre);
  }).catch((e) => replace(body, errorBox(e.message)));
}
