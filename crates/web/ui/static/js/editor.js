// The expression editor: a growing textarea with completion of metric names, label names and
// values (from the API), PromQL functions, aggregations, keywords and durations.

import { apiData } from './api.js';
import { h } from './dom.js';
import {
  applyCompletion, detectContext, durationCandidates, languageCandidates, metadataFor, rank,
} from './lib/complete.js';
import { setFunctions } from './lib/promql.js';

const cache = new Map();

/** Fetches once per key and keeps the answer (failures are retried next time). */
function cached(key, load) {
  if (!cache.has(key)) {
    const p = load().catch((e) => { cache.delete(key); throw e; });
    cache.set(key, p);
  }
  return cache.get(key);
}

/** The engine's functions (`ui/functions.json`), loaded once into the completion's vocabulary. */
const functions = () => cached('functions', async () => {
  const resp = await fetch('ui/functions.json');
  if (!resp.ok) throw new Error(`ui/functions.json: HTTP ${resp.status}`);
  return setFunctions(await resp.json());
});
const metricNames = () => cached('names', () => apiData('label/__name__/values'));
const metadata = () => cached('metadata', () => apiData('metadata').catch(() => ({})));
const selectorOf = (metric) => (metric ? { 'match[]': `{__name__=${JSON.stringify(metric)}}` } : undefined);
const labelNames = (metric) => cached(`labels:${metric || ''}`, () => apiData('labels', selectorOf(metric)));
const labelValues = (name, metric) => cached(`values:${name}:${metric || ''}`,
  () => apiData(`label/${encodeURIComponent(name)}/values`, selectorOf(metric)));

/** All metric names with their metadata, for the metrics explorer. */
export async function metricList() {
  const [names, meta] = await Promise.all([metricNames(), metadata()]);
  return names.map((name) => ({ name, meta: metadataFor(name, meta) }));
}

/** Forgets fetched names (after the user runs a query, new series may exist). */
export function clearCompletionCache() {
  cache.delete('names');
}

async function candidatesFor(ctx) {
  switch (ctx.kind) {
    case 'expr': {
      const [names, meta] = await Promise.all([
        metricNames().catch(() => []), metadata(), functions().catch(() => 0),
      ]);
      const metrics = names.map((label) => {
        const m = metadataFor(label, meta);
        return { label, kind: 'metric', detail: m ? m.type : '', doc: m ? m.help : '' };
      });
      return [...metrics, ...languageCandidates()];
    }
    case 'labelName':
      return (await labelNames(ctx.metric)).filter((n) => n !== '__name__').map((label) => ({ label, kind: 'label' }));
    case 'labelValue':
      if (!ctx.labelName) return [];
      return (await labelValues(ctx.labelName, ctx.metric)).map((label) => ({ label, kind: 'value' }));
    case 'duration':
      return durationCandidates();
    default:
      return [];
  }
}

/**
 * Creates an editor. `onExecute()` runs on Enter (Shift+Enter adds a line). Returns
 * `{el, input, value(), setValue(v), focus()}`.
 */
export function createEditor({ value = '', onExecute, onChange }) {
  // Early, so that function names read as functions before the first completion.
  functions().catch(() => {});
  const input = h('textarea', {
    class: 'expr-input', rows: 1, spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off',
    placeholder: 'Expression (press Shift+Enter for newlines)', 'aria-label': 'Expression',
    'aria-autocomplete': 'list', value,
  });
  const list = h('ul', { class: 'completions', role: 'listbox', hidden: true });
  const el = h('div', { class: 'editor' }, input, list);
  let items = [];
  let selected = 0;
  let ctx = null;
  let token = 0;

  const grow = () => {
    input.style.height = 'auto';
    input.style.height = `${input.scrollHeight + 2}px`;
  };
  const close = () => {
    list.hidden = true;
    items = [];
    token++;
  };

  function show() {
    list.replaceChildren(...items.map((c, i) => h('li', {
      role: 'option', class: i === selected ? 'selected' : '', 'aria-selected': String(i === selected),
      title: c.doc || '',
      onmousedown: (ev) => { ev.preventDefault(); selected = i; accept(); },
    }, h('span', { class: `kind kind-${c.kind}` }, c.kind[0]), h('span', { class: 'label' }, c.label),
    c.detail ? h('span', { class: 'detail' }, c.detail) : null)));
    list.hidden = items.length === 0;
    const sel = list.children[selected];
    sel?.scrollIntoView?.({ block: 'nearest' });
  }

  async function suggest(explicit) {
    const pos = input.selectionStart;
    if (pos !== input.selectionEnd) return close();
    const c = detectContext(input.value, pos);
    const before = input.value[pos - 1] || '';
    const trigger = /[{,=("[]/.test(before) && c.kind !== 'expr';
    if (c.kind === 'none' || (!explicit && c.prefix === '' && !trigger)) return close();
    const mine = ++token;
    let cands;
    try {
      cands = await candidatesFor(c);
    } catch {
      cands = [];
    }
    if (mine !== token) return undefined;
    ctx = c;
    items = rank(cands, c.prefix, 60);
    selected = 0;
    show();
    return undefined;
  }

  function accept() {
    const cand = items[selected];
    if (!cand || !ctx) return;
    const v = input.value;
    const { text, cursor } = applyCompletion(ctx, cand, v.slice(ctx.to));
    input.value = v.slice(0, ctx.from) + text + v.slice(ctx.to);
    const at = ctx.from + cursor;
    input.setSelectionRange(at, at);
    close();
    grow();
    onChange?.(input.value);
    // Continue completing where it helps: after `(` of a function, or `{` ...
    if (/[({]$/.test(text)) suggest(false);
  }

  input.addEventListener('input', () => { grow(); onChange?.(input.value); suggest(false); });
  input.addEventListener('blur', () => setTimeout(close, 100));
  input.addEventListener('keydown', (ev) => {
    const open = !list.hidden && items.length > 0;
    if (open && (ev.key === 'ArrowDown' || ev.key === 'ArrowUp')) {
      ev.preventDefault();
      selected = (selected + (ev.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      show();
    } else if (open && (ev.key === 'Tab' || (ev.key === 'Enter' && !ev.shiftKey))) {
      ev.preventDefault();
      accept();
    } else if (open && ev.key === 'Escape') {
      ev.preventDefault();
      close();
    } else if (ev.key === ' ' && ev.ctrlKey) {
      ev.preventDefault();
      suggest(true);
    } else if (ev.key === 'Enter' && !ev.shiftKey) {
      ev.preventDefault();
      close();
      onExecute?.();
    }
  });
  requestAnimationFrame(grow);
  return {
    el,
    input,
    value: () => input.value,
    /** Inserts text at the cursor (replacing the selection). */
    insert: (text) => {
      const { selectionStart: a, selectionEnd: b, value: v } = input;
      input.value = v.slice(0, a) + text + v.slice(b);
      input.setSelectionRange(a + text.length, a + text.length);
      grow();
      onChange?.(input.value);
      input.focus();
    },
    setValue: (v) => { input.value = v; grow(); },
    focus: () => input.focus(),
  };
}
