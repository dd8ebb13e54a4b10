// Drives the Alertmanager UI in a real headless Chromium (playwright-core) against a running
// `firewatch alertmanager` holding the alerts crates/firewatch/tests/alertmanager_ui_browser.rs
// posts. Env: AM_URL, CHROMIUM, PLAYWRIGHT_CORE, SCREENSHOTS. Prints "ok - ..." per check and
// "# all checks passed" at the end; exits non-zero with the reason on the first failure.
'use strict';

const path = require('node:path');
const fs = require('node:fs');

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const BASE = env('AM_URL').replace(/\/?$/, '/');
const SHOTS = env('SCREENSHOTS');
const { chromium } = require(env('PLAYWRIGHT_CORE'));
const TIMEOUT = 20000;
const SCRIPT_LABEL = '<script>window.__xss = 1</script>';
// Posted by the Rust test as the `attr` label of the Hostile alert.
const IMG_LABEL = '"><img src=x onerror="window.__xss = 4">';
// A silence made here through the API with markup in every free-text field.
const HOSTILE_SILENCE = {
  matchers: [{ name: 'attr', value: '"><svg onload="window.__xss = 7">', isRegex: false, isEqual: true }],
  createdBy: '<img src=x onerror="window.__xss = 5">',
  comment: '<script>window.__xss = 6</script><b>bold?</b>',
};

let page;
let current = 'start';

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, `am-${name}.png`), fullPage: true });
}

async function open(name, hash) {
  current = name;
  return page.goto(`${BASE}${hash}`, { waitUntil: 'load' });
}

/** The page carries a strict policy and the browser enforces it: an injected inline script
 * and an inline event handler do not run. Last, since the browser reports the refusals as
 * console errors. */
async function contentSecurityPolicy() {
  await page.goto('about:blank'); // a full load, not a same-document hash change
  const resp = await open('csp', '#/alerts');
  const csp = resp.headers()['content-security-policy'] || '';
  check(/script-src 'self'/.test(csp) && /style-src 'self'/.test(csp) && !/unsafe-inline|unsafe-eval/.test(csp)
    && /object-src 'none'/.test(csp) && /frame-ancestors 'self'/.test(csp),
    `the page has a strict Content-Security-Policy (${csp})`);
  check(resp.headers()['x-content-type-options'] === 'nosniff', 'the page has X-Content-Type-Options: nosniff');
  await page.locator('.group').first().waitFor();
  const ran = await page.evaluate(async () => {
    const s = document.createElement('script');
    s.textContent = 'window.__csp = 1';
    document.body.appendChild(s);
    const d = document.createElement('div');
    d.innerHTML = '<img src="static/style.css" onerror="window.__csp = 2" onload="window.__csp = 3">';
    document.body.appendChild(d);
    await new Promise((r) => setTimeout(r, 500));
    return window.__csp ?? null;
  });
  check(ran === null, `an injected inline script and event handler are refused (${ran})`);
}

const texts = (sel) => page.locator(sel).allInnerTexts();

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: env('CHROMIUM'), args: ['--no-sandbox'] });
  page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // A CSP refusal of anything the UI itself does shows as a console error.
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`${current}: console: ${m.text()}`); });
  try {
    await open('alerts', '#/alerts');
    await page.locator('.group').first().waitFor();
    const heads = await texts('.group h3');
    check(heads.some((t) => t.includes('receiver: hook') && t.includes('alertname="Disk"')), `groups by receiver and alertname: ${heads}`);
    const items = await texts('.alert');
    check(items.some((t) => t.includes(SCRIPT_LABEL)), 'an HTML label value shows as text');
    check(items.some((t) => t.includes(IMG_LABEL)), 'a label value closing the attribute and adding an <img onerror> shows as text');
    check(await page.locator('.alert img, .group img').count() === 0, 'no element was made from a label value');
    check(await page.evaluate(() => window.__xss === undefined), 'no script from a label ran');
    await shot('alerts');

    await page.fill('#filter', 'alertname="Disk"');
    await page.click('#apply');
    // At least one group: while the list is re-rendered it may be empty, and every() of
    // nothing is true.
    await page.waitForFunction(() => {
      const heads = [...document.querySelectorAll('.group h3')];
      return heads.length > 0 && heads.every((h) => h.textContent.includes('Disk'));
    });
    check((await texts('.alert')).length === 1, 'the matcher filter keeps the Disk alert only');

    await page.fill('#filter', '{alertname="Disk"');
    await page.click('#apply');
    await page.locator('#groups .error').waitFor();
    check((await texts('#groups .error'))[0].includes('unclosed'), 'a bad filter shows its error');

    await open('silence-form', '#/silences/new');
    await page.fill('#silence-matchers', 'alertname="Disk"');
    await page.fill('#silence-createdBy', 'ui-author');
    await page.fill('#silence-comment', 'ui comment <b>kept</b>');
    await page.click('#preview-button');
    await page.locator('.affected').first().waitFor();
    const affected = await texts('.affected');
    check(affected.length === 1 && affected[0].includes('Disk'), `the preview lists the affected alert: ${affected}`);
    await page.click('#save');
    await page.locator('#saved').waitFor();
    check((await texts('#saved'))[0].startsWith('Saved silence'), 'the silence is saved');
    await shot('silence-form');

    await open('alerts-silenced', '#/alerts?groupBy=alertname');
    await page.locator('.group').first().waitFor();
    check(!(await texts('.alert')).some((t) => t.includes('Disk')), 'the silenced alert is hidden by default');
    await page.check('#silenced');
    await page.click('#apply');
    await page.waitForFunction(() => document.body.textContent.includes('silenced by'));
    check((await texts('.alert')).some((t) => t.includes('Disk') && t.includes('silenced by')), 'the silenced toggle shows it');

    await open('silences', '#/silences?state=active');
    await page.locator('.silence').first().waitFor();
    const sil = await texts('.silence');
    check(sil.length === 1 && sil[0].includes('by ui-author') && sil[0].includes('ui comment <b>kept</b>'), `the list shows author and comment: ${sil}`);
    await shot('silences');

    await page.click('.silence a');
    await page.locator('#silence-form').waitFor();
    await page.waitForFunction(() => document.querySelector('#silence-createdBy').value === 'ui-author');
    check((await page.inputValue('#silence-matchers')) === 'alertname="Disk"', 'edit fills the form from the silence');

    await open('silences-expire', '#/silences?state=active');
    await page.locator('.silence .expire').first().click();
    await page.waitForFunction(() => document.querySelectorAll('.silence').length === 0);
    check(true, 'expire removes it from the active list');
    await page.click('button[data-state="expired"]');
    await page.waitForFunction(() => document.querySelectorAll('.silence').length === 1);
    check((await texts('.silence'))[0].includes('expired'), 'the expired filter lists it');

    await open('status', '#/status');
    await page.locator('#status').waitFor();
    const status = (await texts('#status'))[0];
    check(status.includes('Uptime') && status.includes('firewatch-'), 'status shows uptime and version');
    check((await texts('#config'))[0].includes('receiver: hook'), 'status shows the configuration');
    await shot('status');

    await open('hostile-silence', '#/alerts');
    const made = await page.evaluate(async (body) => {
      const r = await fetch('api/v2/silences', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ...body, startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 3600e3).toISOString() }),
      });
      return r.status;
    }, HOSTILE_SILENCE);
    check(made === 200, `a silence with markup in its fields is created (${made})`);
    await open('hostile-silences', '#/silences?state=active');
    await page.locator('.silence').first().waitFor();
    const hostile = (await texts('.silence')).join('\n');
    check(hostile.includes(HOSTILE_SILENCE.createdBy) && hostile.includes(HOSTILE_SILENCE.comment)
      && hostile.includes('><svg onload='), `the silence's author, comment and matcher show as text: ${hostile}`);
    check(await page.locator('.silence img, .silence svg, .silence script, .silence b').count() === 0, 'no element was made from a silence field');
    await page.click('.silence a');
    await page.locator('#silence-form').waitFor();
    await page.waitForFunction((c) => document.querySelector('#silence-comment').value === c, HOSTILE_SILENCE.comment);
    check(true, 'the edit form holds the comment as plain text');
    check(await page.evaluate(() => window.__xss === undefined), 'no script from a silence ran');
    await shot('hostile-silence');
    check(errors.length === 0, `no page errors and no CSP violation: ${errors}`);

    await contentSecurityPolicy();
    console.log('# all checks passed');
  } catch (e) {
    await shot(`failed-${current}`).catch(() => {});
    console.log(`not ok - ${current}: ${e.message}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

main();
