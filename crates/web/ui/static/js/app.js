// The app shell: picks the page from the URL (relative to <base>), renders it into <main>, and
// turns same-origin navigation links into history changes.

const PAGES = {
  query: () => import('./pages/query.js'),
  graph: () => import('./pages/query.js'),
  targets: () => import('./pages/targets.js'),
  'service-discovery': () => import('./pages/discovery.js'),
  alerts: () => import('./pages/alerts.js'),
  rules: () => import('./pages/rules.js'),
  config: () => import('./pages/config.js'),
  flags: () => import('./pages/flags.js'),
  status: () => import('./pages/status.js'),
  'tsdb-status': () => import('./pages/tsdb.js'),
};

const TITLES = {
  query: 'Query', graph: 'Query', targets: 'Targets', 'service-discovery': 'Service discovery',
  alerts: 'Alerts', rules: 'Rules', config: 'Configuration', flags: 'Command-line flags',
  status: 'Runtime & build information', 'tsdb-status': 'TSDB status',
};

const basePath = new URL(document.baseURI).pathname;
let cleanup = null;
let generation = 0;

/** The page name of the current location, relative to the base path. */
function currentPage() {
  const path = window.location.pathname;
  const rel = path.startsWith(basePath) ? path.slice(basePath.length) : path.replace(/^\//, '');
  return rel.replace(/\/$/, '') || 'query';
}

async function show() {
  const page = currentPage();
  const main = document.getElementById('main');
  const gen = ++generation;
  if (cleanup) {
    try { cleanup(); } catch (e) { console.error(e); }
    cleanup = null;
  }
  for (const a of document.querySelectorAll('#nav a[data-page]')) {
    const active = a.dataset.page === page || (page === 'graph' && a.dataset.page === 'query');
    a.classList.toggle('active', active);
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const menu = document.querySelector('#nav details');
  if (menu) menu.open = false;
  document.title = `${TITLES[page] || 'Not found'} – Firewatch`;
  const load = PAGES[page];
  main.replaceChildren();
  if (!load) {
    main.textContent = 'Page not found.';
    return;
  }
  try {
    const mod = await load();
    if (gen !== generation) return;
    const result = mod.render(main);
    cleanup = typeof result === 'function' ? result : null;
  } catch (e) {
    main.textContent = `Cannot load this page: ${e.message}`;
  }
}

/** Navigates to `href` (relative to the base) without reloading. */
export function navigate(href) {
  const url = new URL(href, document.baseURI);
  if (url.href === window.location.href) return;
  window.history.pushState(null, '', url);
  show();
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-nav]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', show);
show();
