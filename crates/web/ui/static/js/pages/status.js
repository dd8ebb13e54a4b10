// Runtime and build information page.

import { apiData } from '../api.js';
import { errorBox, h, loading, replace } from '../dom.js';

const RUNTIME_NAMES = {
  startTime: 'Start time', CWD: 'Working directory', reloadConfigSuccess: 'Configuration reload',
  lastConfigTime: 'Last successful configuration reload', corruptionCount: 'WAL corruptions',
  goroutineCount: 'Goroutines', GOMAXPROCS: 'GOMAXPROCS', GOMEMLIMIT: 'GOMEMLIMIT', GOGC: 'GOGC',
  GODEBUG: 'GODEBUG', storageRetention: 'Storage retention',
};

function table(obj, names) {
  return h('table', { class: 'table kv' }, h('tbody', {}, Object.keys(obj).map((k) => {
    let v = obj[k];
    if (k === 'reloadConfigSuccess') v = v ? 'Successful' : 'Unsuccessful';
    return h('tr', {}, h('th', {}, names[k] || k), h('td', { class: 'mono' }, String(v)));
  })));
}

function section(title, path, names) {
  const body = h('div', {}, loading());
  apiData(path).then((data) => replace(body, table(data, names)))
    .catch((e) => replace(body, errorBox(e.message)));
  return [h('h2', {}, title), body];
}

export function render(main) {
  main.append(
    h('h1', {}, 'Runtime & build information'),
    ...section('Runtime information', 'status/runtimeinfo', RUNTIME_NAMES),
    ...section('Build information', 'status/buildinfo', {
      version: 'Version', revision: 'Revision', branch: 'Branch', buildUser: 'Build user',
      buildDate: 'Build date', goVersion: 'Go version',
    }),
  );
}
