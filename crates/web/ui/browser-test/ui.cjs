// Drives the Firewatch UI in a real headless Chromium (playwright-core, no downloaded browser)
// against a running `firewatch server` that scrapes itself and a node exporter and has the rule
// file of crates/firewatch/tests/ui_browser.rs loaded. Run by that test; by hand:
//
//   FIREWATCH_URL=http://127.0.0.1:9090/ CHROMIUM=/usr/bin/chromium \
//   PLAYWRIGHT_CORE=/path/to/node_modules/playwright-core SCREENSHOTS=/tmp/shots node ui.cjs
//
// Prints one line per check ("ok - ..."), and exits non-zero with the reason on the first failure.
// A screenshot of every page visited goes to $SCREENSHOTS (also of the page where a check failed).

'use strict';

const path = require('node:path');
const fs = require('node:fs');

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const BASE = env('FIREWATCH_URL').replace(/\/?$/, '/');
const CHROMIUM = env('CHROMIUM');
const SHOTS = env('SCREENSHOTS');
const { chromium } = require(env('PLAYWRIGHT_CORE'));

// Generous: a loaded 2-core CI machine runs this beside cargo.
const TIMEOUT = 20000;
// The first series' color in the graph's palette (graph.js), as RGB.
const FIRST_SERIES_RGB = [0x1f, 0x77, 0xb4];
// What the rule file puts in a label and an annotation: must show as text, never run.
const SCRIPT_LABEL = '<script>window.__xss = 1</script>';
const IMG_ANNOTATION = '<img src=x onerror="window.__xss = 2">';
// The labels of the recorded series ui_hostile: must show as text in the table and legend.
const HOSTILE_LABELS = ['xss="<script>window.__xss = 3</script>"', 'attr="\\"><img src=x onerror=\\"window.__xss = 4\\">"'];

let page;
let current = 'start';

function ok(what) {
  console.log(`ok - ${what}`);
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  ok(what);
}

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function open(name, rel) {
  current = name;
  const resp = await page.goto(new URL(rel, BASE).href, { waitUntil: 'load' });
  await page.locator('main h1, main .panel').first().waitFor();
  return resp;
}

/** The text of every element matching `selector`. */
const texts = (selector) => page.locator(selector).allInnerTexts();

/** Fails when the page shows an error box or is still loading after the wait for `ready`. */
async function noErrors(name) {
  const errors = await texts('main .error');
  check(errors.length === 0, `${name}: no error shown ${errors.length ? JSON.stringify(errors) : ''}`);
}

async function queryPage() {
  await open('graph', 'graph');
  const input = page.locator('textarea.expr-input');
  await input.click();
  // Functions come from the engine's table (ui/functions.json); this one the UI's former
  // hand-kept list missed.
  await page.keyboard.type('ts_of_ma', { delay: 30 });
  const fn = page.locator('ul.completions li')
    .filter({ has: page.locator('.label', { hasText: /^ts_of_max_over_time$/ }) });
  await fn.first().waitFor();
  check(await fn.count() === 1, 'completion offers ts_of_max_over_time from the engine\'s function list');
  await page.keyboard.press('Escape');
  await input.fill('');
  await page.keyboard.type('node_load', { delay: 30 });
  const option = page.locator('ul.completions li')
    .filter({ has: page.locator('.label', { hasText: /^node_load1$/ }) });
  await option.first().waitFor();
  const offered = await texts('ul.completions li .label');
  check(offered.includes('node_load1'), `completion offers the metric name node_load1 (${offered.slice(0, 5).join(', ')}…)`);
  // Fuzzy matches may follow, but names that start with what was typed come first.
  check(offered.slice(0, 3).every((l) => l.startsWith('node_load')), 'the closest matches come first');
  await shot('graph-completion');
  await option.first().click();
  check(await input.inputValue() === 'node_load1', 'choosing the completion puts it in the editor');
  await page.keyboard.type(' + 0 * up{job="node"}', { delay: 10 });
  // Enter executes (the completion list, if open, takes the first Escape).
  await page.keyboard.press('Escape');
  await page.keyboard.press('Enter');

  const rows = page.locator('table.result tbody tr');
  await rows.first().waitFor();
  const rowTexts = await rows.allInnerTexts();
  check(rowTexts.length === 1, `the table shows one series (${rowTexts.length})`);
  check(/instance="127\.0\.0\.1:\d+"/.test(rowTexts[0]) && /job="node"/.test(rowTexts[0]), `the row names the series: ${rowTexts[0].split('\n')[0]}`);
  check(/\d/.test(rowTexts[0].split(/\t|\n/).pop()), 'the row holds a value');
  check(new URL(page.url()).searchParams.get('g0.expr') === 'node_load1 + 0 * up{job="node"}', 'the expression is kept in the page URL');
  await noErrors('table');
  await shot('graph-table');

  await page.getByRole('tab', { name: 'Graph' }).click();
  const range = page.locator('input.range-input');
  await range.fill('1m');
  await range.press('Tab');
  await page.locator('.stats', { hasText: 'Resolution: 1s' }).waitFor();
  await page.locator('.graph canvas').waitFor();
  const legend = await texts('.graph .u-legend .u-series th');
  check(legend.some((t) => /job="node"/.test(t)), `the legend names the series (${legend.join(' | ')})`);
  // The series' line is drawn: pixels of its color on the canvas (axes and grid are gray).
  await page.waitForFunction(([r, g, b]) => {
    const canvas = document.querySelector('.graph canvas');
    if (!canvas) return false;
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 128 && Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 60) n++;
    }
    window.__seriesPixels = n;
    return n > 50;
  }, FIRST_SERIES_RGB, { timeout: TIMEOUT });
  ok(`the graph draws the series (${await page.evaluate(() => window.__seriesPixels)} pixels of its color)`);
  await noErrors('graph');
  await shot('graph');
}

async function targetsPage() {
  await open('targets', 'targets');
  await page.locator('tr.health-up').first().waitFor();
  const rows = await texts('main table tbody tr');
  const up = await page.locator('tr.health-up').count();
  check(rows.length === 2 && up === 2, `both targets are listed and up (${up} of ${rows.length})`);
  const pools = await texts('.pool-name');
  check(pools.includes('firewatch') && pools.includes('node'), `targets by pool: ${pools.join(', ')}`);
  const badges = await texts('tr.health-up .badge');
  check(badges.every((b) => b === 'UP'), 'every target shows UP');
  await noErrors('targets');
  await shot('targets');
}

async function escapedEverywhere(name) {
  const injected = await page.evaluate(() => ({
    xss: window.__xss ?? null,
    scripts: document.querySelectorAll('main script').length,
    images: document.querySelectorAll('main img').length,
  }));
  check(injected.xss === null && injected.scripts === 0 && injected.images === 0,
    `${name}: labels and annotations are text, not elements (${JSON.stringify(injected)})`);
}

/** A series whose label values hold markup: shown as text in the table and the legend. */
async function hostileSeries() {
  await open('graph-hostile', 'graph');
  const input = page.locator('textarea.expr-input');
  await input.fill('ui_hostile');
  await input.press('Enter');
  const rows = page.locator('table.result tbody tr');
  await rows.first().waitFor();
  const row = (await rows.allInnerTexts()).join('\n');
  check(HOSTILE_LABELS.every((l) => row.includes(l)), `the table shows the label values as written (${row.split('\n')[0]})`);
  await escapedEverywhere('graph table');
  await page.getByRole('tab', { name: 'Graph' }).click();
  await page.locator('.graph .u-legend .u-series th').first().waitFor();
  const legend = (await texts('.graph .u-legend .u-series th')).join(' | ');
  check(HOSTILE_LABELS.every((l) => legend.includes(l)), `the legend shows the label values as written (${legend})`);
  await escapedEverywhere('graph legend');
  await noErrors('graph-hostile');
  await shot('graph-hostile');
}

/** The page carries a strict policy, and the browser enforces it: an injected inline script
 * and an inline event handler do not run. Last, since the browser reports the refusals as
 * console errors. */
async function contentSecurityPolicy() {
  const resp = await open('csp', 'alerts');
  const csp = resp.headers()['content-security-policy'] || '';
  check(/script-src 'self'/.test(csp) && !/unsafe-inline|unsafe-eval/.test(csp) && /object-src 'none'/.test(csp),
    `the page has a strict Content-Security-Policy (${csp})`);
  const ran = await page.evaluate(async () => {
    const s = document.createElement('script');
    s.textContent = 'window.__csp = 1';
    document.body.appendChild(s);
    const d = document.createElement('div');
    d.innerHTML = '<img src="static/img/favicon.svg" onload="window.__csp = 2">';
    document.body.appendChild(d);
    await new Promise((r) => setTimeout(r, 500));
    return window.__csp ?? null;
  });
  check(ran === null, `an injected inline script and event handler are refused (${ran})`);
}

async function alertsPage() {
  await open('alerts', 'alerts');
  const rule = page.locator('details.rule', { hasText: 'UiProbe' });
  await rule.locator('.badge-firing').first().waitFor();
  ok('the alerting rule UiProbe is firing');
  const chips = await rule.locator('tbody .chip').allInnerTexts();
  check(chips.includes(`probe="${SCRIPT_LABEL}"`), `the label value is shown as written (${chips.join(' ')})`);
  const annotations = await rule.locator('tr.annotations dd').allInnerTexts();
  check(annotations.some((a) => a.includes(IMG_ANNOTATION) && a.includes('value 1')),
    `the annotation is expanded and shown as written (${annotations.join(' | ')})`);
  const pending = page.locator('details.rule', { hasText: 'UiWaiting' }).locator('.badge-pending');
  check(await pending.count() >= 1, 'the rule with a long for is pending');
  await escapedEverywhere('alerts');
  await noErrors('alerts');
  await shot('alerts');
}

async function rulesPage() {
  await open('rules', 'rules');
  await page.locator('main section.group').first().waitFor();
  const groups = await texts('main section.group h2');
  check(groups.some((g) => g.startsWith('ui')), `the rule group is listed (${groups.join(', ')})`);
  const health = await texts('main section.group tbody .badge');
  check(health.length === 4 && health.every((b) => b === 'ok'), `every rule's health is ok (${health.join(', ')})`);
  const code = (await texts('main section.group pre.code')).join('\n');
  check(code.includes('record: ui:up:count') && code.includes(SCRIPT_LABEL), 'the rules are shown as YAML with the label as written');
  await escapedEverywhere('rules');
  await noErrors('rules');
  await shot('rules');
}

/** The other pages load their data without an error. */
async function otherPages() {
  const pages = {
    'service-discovery': 'main table, main details',
    config: 'main pre.code',
    flags: 'main td:text-is("--storage.tsdb.path")',
    status: 'main table',
    'tsdb-status': 'main table',
  };
  for (const [name, ready] of Object.entries(pages)) {
    await open(name, name);
    await page.locator(ready).first().waitFor();
    await page.waitForFunction(() => !document.querySelector('main .loading'), null, { timeout: TIMEOUT });
    await noErrors(name);
    await shot(name);
  }
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const pageErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'UTC' });
    page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (e) => pageErrors.push(`${current}: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`${current}: console: ${m.text()}`); });
    await queryPage();
    await hostileSeries();
    await targetsPage();
    await alertsPage();
    await rulesPage();
    await otherPages();
    check(pageErrors.length === 0, `no script errors in the pages ${pageErrors.length ? JSON.stringify(pageErrors) : ''}`);
    await contentSecurityPolicy();
  } catch (e) {
    if (page) await shot(`failed-${current}`).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
}

main().then(() => console.log('# all checks passed'), (e) => {
  console.error(`not ok - ${current}: ${e.stack || e}`);
  process.exit(1);
});
