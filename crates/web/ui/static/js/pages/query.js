// Query page: panels with an expression editor, run as a table (instant query) or a graph
// (range query) with range, end time, resolution and stacking; state kept in the page URL.

import { api } from '../api.js';
import { errorBox, h, replace } from '../dom.js';
import { clearCompletionCache, createEditor, metricList } from '../editor.js';
import { drawGraph } from '../graph.js';
import { formatValue, seriesName } from '../lib/format.js';
import { effectiveStep, stepRange } from '../lib/step.js';
import { formatDuration, formatShort, formatTime, parseDuration, parseTime } from '../lib/time.js';
import { defaultPanel, formatPanels, instantQueryParams, parsePanels, rangeQueryParams } from '../lib/url.js';

const MAX_TABLE_ROWS = 10000;

function histogramText(hist) {
  const buckets = (hist.buckets || []).map(([, lo, hi, count]) => `(${lo}, ${hi}]: ${count}`);
  return `count: ${hist.count} sum: ${hist.sum}${buckets.length ? `\n${buckets.join('\n')}` : ''}`;
}

/** The table of an instant (or range) query result. */
function resultTable(data) {
  const { resultType, result } = data;
  if (resultType === 'scalar' || resultType === 'string') {
    return h('table', { class: 'table result' }, h('tbody', {}, h('tr', {},
      h('td', { class: 'mono' }, resultType), h('td', { class: 'num' }, formatValue(result[1])))));
  }
  if (result.length === 0) return h('p', { class: 'muted' }, 'Empty query result');
  const rows = result.slice(0, MAX_TABLE_ROWS).map((s) => {
    let value;
    if (resultType === 'vector') {
      value = s.histogram ? h('pre', { class: 'hist' }, histogramText(s.histogram[1])) : formatValue(s.value[1]);
    } else {
      const lines = (s.values || []).map(([t, v]) => `${formatValue(v)} @${t}`);
      for (const [t, hist] of s.histograms || []) lines.push(`${histogramText(hist)} @${t}`);
      value = h('pre', { class: 'values' }, lines.join('\n'));
    }
    return h('tr', {}, h('td', { class: 'mono series' }, seriesName(s.metric)), h('td', { class: 'num' }, value));
  });
  return [
    h('table', { class: 'table result' }, h('tbody', {}, rows)),
    result.length > MAX_TABLE_ROWS ? h('p', { class: 'muted' }, `Showing ${MAX_TABLE_ROWS} of ${result.length} series.`) : null,
  ];
}

function createPanel(panel, { onChange, onRemove }) {
  let abort = null;
  let disposeGraph = null;
  const result = h('div', { class: 'panel-result' });
  const stats = h('div', { class: 'stats muted small' });
  const editor = createEditor({ value: panel.expr, onExecute: run, onChange: (v) => { panel.expr = v; onChange(); } });

  const tabButton = (tab, text) => h('button', {
    type: 'button', role: 'tab', class: 'tab', 'aria-selected': String(panel.tab === tab),
    onclick: () => { panel.tab = tab; onChange(); drawControls(); run(); },
  }, text);
  const controls = h('div', { class: 'controls' });
  const tabs = h('div', { class: 'tabs', role: 'tablist' });

  function timeInput(placeholder) {
    return h('input', {
      type: 'text', class: 'time-input', placeholder, value: panel.endMs == null ? '' : formatTime(panel.endMs),
      onchange: (ev) => {
        const t = parseTime(ev.target.value);
        panel.endMs = t;
        ev.target.value = t == null ? '' : formatTime(t);
        onChange();
        run();
      },
    });
  }

  function shiftEnd(sign) {
    const base = panel.endMs ?? Date.now();
    const by = panel.tab === 'graph' ? panel.rangeMs / 2 : 60000;
    panel.endMs = Math.round((base + sign * by) / 1000) * 1000;
    onChange();
    drawControls();
    run();
  }

  function drawControls() {
    replace(tabs, tabButton('table', 'Table'), tabButton('graph', 'Graph'));
    const endControls = [
      h('button', { type: 'button', title: 'Earlier', onclick: () => shiftEnd(-1) }, '‹'),
      timeInput(panel.tab === 'graph' ? 'End time (UTC, now)' : 'Evaluation time (UTC, now)'),
      h('button', { type: 'button', title: 'Later', onclick: () => shiftEnd(1) }, '›'),
      panel.endMs != null ? h('button', {
        type: 'button', title: 'Back to now', onclick: () => { panel.endMs = null; onChange(); drawControls(); run(); },
      }, 'Now') : null,
    ];
    if (panel.tab === 'table') {
      replace(controls, endControls);
      return;
    }
    const range = h('input', {
      type: 'text', class: 'range-input', value: formatDuration(panel.rangeMs), title: 'Range, e.g. 1h, 30m, 2d',
      onchange: () => {
        const r = parseDuration(range.value);
        if (r) panel.rangeMs = r;
        range.value = formatDuration(panel.rangeMs);
        onChange();
        run();
      },
    });
    const zoom = (dir) => { panel.rangeMs = stepRange(panel.rangeMs, dir); onChange(); drawControls(); run(); };
    const step = h('input', {
      type: 'text', class: 'step-input', value: panel.stepSec ?? '',
      placeholder: `Res. (${effectiveStep(panel.rangeMs, null, result.clientWidth || 1000)}s)`,
      title: 'Resolution in seconds; empty picks one from the range and width',
      onchange: () => {
        const s = Number(step.value);
        panel.stepSec = step.value.trim() && s > 0 ? s : null;
        step.value = panel.stepSec ?? '';
        onChange();
        run();
      },
    });
    const mode = (stacked, text) => h('button', {
      type: 'button', class: `toggle${panel.stacked === stacked ? ' on' : ''}`, 'aria-pressed': String(panel.stacked === stacked),
      onclick: () => { panel.stacked = stacked; onChange(); drawControls(); run(); },
    }, text);
    replace(controls,
      h('span', { class: 'group' },
        h('button', { type: 'button', title: 'Shorter range', onclick: () => zoom(-1) }, '−'),
        range,
        h('button', { type: 'button', title: 'Longer range', onclick: () => zoom(1) }, '+')),
      h('span', { class: 'group' }, endControls),
      step,
      h('span', { class: 'group' }, mode(false, 'Lines'), mode(true, 'Stacked')));
  }

  async function run() {
    const expr = editor.value().trim();
    if (abort) abort.abort();
    if (disposeGraph) { disposeGraph(); disposeGraph = null; }
    if (!expr) {
      replace(result);
      replace(stats);
      return;
    }
    abort = new AbortController();
    const { signal } = abort;
    const started = performance.now();
    replace(stats, 'Loading…');
    try {
      if (panel.tab === 'table') {
        const { data, warnings, infos } = await api('query', instantQueryParams(expr, panel.endMs), { signal, method: 'POST' });
        const n = Array.isArray(data.result) && data.resultType !== 'scalar' && data.resultType !== 'string' ? data.result.length : 1;
        replace(stats, `Load time: ${formatShort(performance.now() - started)} · Result series: ${n}`);
        replace(result, notes(warnings, infos), resultTable(data));
      } else {
        const endMs = panel.endMs ?? Date.now();
        const stepSec = effectiveStep(panel.rangeMs, panel.stepSec, result.clientWidth || 1000);
        const { data, warnings, infos } = await api('query_range', rangeQueryParams(expr, endMs, panel.rangeMs, stepSec), { signal, method: 'POST' });
        replace(stats, `Load time: ${formatShort(performance.now() - started)} · Resolution: ${stepSec}s · Result series: ${data.result.length}`);
        replace(result, notes(warnings, infos));
        if (data.resultType !== 'matrix') {
          result.append(resultTable(data));
        } else if (data.result.length === 0) {
          result.append(h('p', { class: 'muted' }, 'Empty query result'));
        } else {
          const histograms = data.result.filter((s) => !(s.values && s.values.length)).length;
          if (histograms) {
            result.append(h('div', { class: 'info' }, `${histograms} series hold only native histograms and are not drawn; ` +
              'graph histogram_count(), histogram_sum() or histogram_quantile() of them.'));
          }
          if (histograms < data.result.length) disposeGraph = drawGraph(result, data.result, {
            stacked: panel.stacked,
            startMs: endMs - panel.rangeMs,
            endMs,
            onZoom: (from, to) => {
              panel.endMs = Math.round(to);
              panel.rangeMs = Math.max(Math.round(to - from), 1000);
              onChange();
              drawControls();
              run();
            },
          });
        }
      }
      clearCompletionCache();
    } catch (e) {
      if (e.name === 'AbortError') return;
      replace(stats);
      replace(result, errorBox(e.errorType && e.errorType !== 'network' ? `Error executing query: ${e.message}` : e.message));
    }
  }

  async function format() {
    const expr = editor.value().trim();
    if (!expr) return;
    try {
      const { data } = await api('format_query', { query: expr });
      editor.setValue(data);
      panel.expr = data;
      onChange();
    } catch (e) {
      replace(result, errorBox(`Error formatting expression: ${e.message}`));
    }
  }

  function notes(warnings, infos) {
    return [...warnings.map((w) => h('div', { class: 'warning' }, `Warning: ${w}`)),
      ...infos.map((i) => h('div', { class: 'info' }, `Info: ${i}`))];
  }

  drawControls();
  const el = h('section', { class: 'panel' },
    h('div', { class: 'panel-head' }, editor.el,
      h('button', { type: 'button', title: 'Metrics explorer', 'aria-label': 'Metrics explorer', onclick: () => explore(editor) }, '☰'),
      h('button', { type: 'button', title: 'Format the expression', onclick: format }, 'Format'),
      h('button', { type: 'button', class: 'primary', onclick: run }, 'Execute'),
      h('button', { type: 'button', class: 'remove', title: 'Remove panel', 'aria-label': 'Remove panel', onclick: onRemove }, '×')),
    h('div', { class: 'panel-bar' }, tabs, controls),
    stats, result);
  return {
    el, run, editor,
    dispose: () => { if (abort) abort.abort(); if (disposeGraph) disposeGraph(); },
  };
}

/** A dialog listing every metric name (with type and help), filterable; a click inserts one. */
function explore(editor) {
  const filter = h('input', { type: 'search', class: 'filter', placeholder: 'Filter metric names', autofocus: true });
  const list = h('ul', { class: 'explorer-list' }, h('li', { class: 'muted' }, 'Loading…'));
  const dialog = h('dialog', { class: 'explorer' },
    h('div', { class: 'toolbar' }, h('strong', {}, 'Metrics explorer'), filter,
      h('button', { type: 'button', onclick: () => close() }, 'Close')),
    list);
  const close = () => (dialog.close ? dialog.close() : dialog.remove());
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  if (dialog.showModal) dialog.showModal();
  metricList().then((metrics) => {
    const items = metrics.map(({ name, meta }) => h('li', {
      onclick: () => { close(); editor.insert(name); },
    }, h('span', { class: 'mono' }, name), meta ? h('span', { class: 'muted small' }, ` ${meta.type} – ${meta.help}`) : null));
    replace(list, items.length ? items : h('li', { class: 'muted' }, 'No metrics.'));
    filter.addEventListener('input', () => {
      const q = filter.value.toLowerCase();
      for (const li of items) li.hidden = q !== '' && !li.firstChild.textContent.toLowerCase().includes(q);
    });
  }).catch((e) => replace(list, h('li', {}, errorBox(e.message))));
}

export function render(main) {
  const panels = parsePanels(window.location.search);
  const views = [];
  const list = h('div', { class: 'panels' });
  const sync = () => {
    const url = new URL(window.location.href);
    url.search = formatPanels(panels);
    window.history.replaceState(null, '', url);
  };
  function add(panel, focus) {
    const view = createPanel(panel, {
      onChange: sync,
      onRemove: () => {
        const i = views.indexOf(view);
        if (panels.length === 1) {
          Object.assign(panel, defaultPanel());
          view.editor.setValue('');
          view.run();
        } else {
          panels.splice(i, 1);
          views.splice(i, 1);
          view.dispose();
          view.el.remove();
        }
        sync();
      },
    });
    views.push(view);
    list.append(view.el);
    if (focus) view.editor.focus();
    if (panel.expr) view.run();
    return view;
  }
  panels.forEach((p, i) => add(p, i === 0));
  main.append(list, h('button', {
    type: 'button', class: 'add-panel',
    onclick: () => { const p = defaultPanel(); panels.push(p); add(p, true); sync(); },
  }, 'Add panel'));
  return () => views.forEach((v) => v.dispose());
}
