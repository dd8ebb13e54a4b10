import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { safeHref } from '../static/js/lib/format.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'static', 'js');

function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.js') ? [p] : [];
  });
}

// Labels, annotations, errors and configuration come from the server and from scraped targets:
// the UI must only ever put them into the page as text. Every element is built by dom.js's h(),
// which appends text nodes; nothing may parse a string as HTML.
test('no UI module parses strings as HTML', () => {
  const files = sources(root);
  assert.ok(files.length >= 15, `found ${files.length} modules`);
  const forbidden = /\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|\beval\(|new Function\(/;
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const m = forbidden.exec(text);
    assert.equal(m, null, `${path.relative(root, file)} uses ${m && m[0]}`);
  }
});

test('safeHref links only http and https URLs', () => {
  assert.equal(safeHref('http://a:9100/metrics'), 'http://a:9100/metrics');
  assert.equal(safeHref('https://a/metrics?x=1'), 'https://a/metrics?x=1');
  for (const bad of ['javascript:alert(1)', ' JavaScript:alert(1)', 'data:text/html,x', 'vbscript:x', '', null, 'not a url']) {
    assert.equal(safeHref(bad), null, String(bad));
  }
});
