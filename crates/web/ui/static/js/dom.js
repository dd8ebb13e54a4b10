// A tiny DOM builder. Text is always set as text nodes, never parsed as HTML, so labels,
// annotations and errors from the server are escaped by construction.

/**
 * Creates an element: `h('a', {href: 'x', class: 'y', onclick: fn}, 'text', child, [more])`.
 * Attribute values null/false are skipped; `on*` functions become listeners; children may be
 * strings, numbers, nodes, arrays or null.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A colored state badge ("up", "down", "firing", "ok"...). */
export function badge(text, kind) {
  return h('span', { class: `badge badge-${kind || text}` }, text);
}

/** A list of `name="value"` label chips. */
export function labelChips(labels) {
  const names = Object.keys(labels || {}).sort();
  return h('span', { class: 'chips' }, names.map((n) => h('span', { class: 'chip' }, `${n}="${labels[n]}"`)));
}

/** A red error box. */
export function errorBox(message) {
  return h('div', { class: 'error', role: 'alert' }, String(message));
}

/** A muted "loading" line. */
export function loading(what = 'Loading…') {
  return h('div', { class: 'muted loading' }, what);
}
