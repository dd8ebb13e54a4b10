// The graph: range query results drawn with uPlot, lines or stacked, with a legend that shows
// the values under the cursor and toggles series on click.

import { h } from './dom.js';
import { formatAxis, formatValue, seriesName, toColumns } from './lib/format.js';
import { formatTime } from './lib/time.js';

const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
  '#bcbd22', '#17becf', '#3366cc', '#dc3912', '#109618', '#990099', '#0099c6', '#dd4477',
];

/** The color of the i-th series: the palette first, then evenly spread hues. */
export function seriesColor(i) {
  if (i < PALETTE.length) return PALETTE[i];
  return `hsl(${(i * 137.508) % 360}, 65%, 50%)`;
}

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/**
 * Draws `series` (a matrix result) into `container` between startMs and endMs; selecting a
 * time span with the mouse calls `onZoom(fromMs, toMs)`. Returns a function that removes the graph.
 */
export function drawGraph(container, series, { stacked, startMs, endMs, onZoom }) {
  const UPlot = window.uPlot;
  if (!UPlot) {
    container.append(h('div', { class: 'error' }, 'The graph library did not load.'));
    return () => {};
  }
  const floats = series.filter((s) => s.values && s.values.length);
  const raw = toColumns(floats, false);
  const data = stacked ? toColumns(floats, true) : raw;
  const fg = cssVar('--fg-muted', '#666');
  const grid = cssVar('--grid', 'rgba(128,128,128,0.2)');
  const axis = {
    stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 },
  };
  const opts = {
    width: Math.max(container.clientWidth, 300),
    height: 360,
    tzDate: (ts) => UPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: { x: { time: true, range: () => [startMs / 1000, endMs / 1000] } },
    cursor: { focus: { prox: 16 }, drag: { x: true, y: false, setScale: false } },
    hooks: {
      setSelect: [(u) => {
        if (!onZoom || u.select.width < 5) return;
        const from = u.posToVal(u.select.left, 'x');
        const to = u.posToVal(u.select.left + u.select.width, 'x');
        u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
        onZoom(from * 1000, to * 1000);
      }],
    },
    focus: { alpha: 0.3 },
    legend: { live: true },
    axes: [
      { ...axis },
      { ...axis, size: 64, values: (u, ticks) => ticks.map(formatAxis) },
    ],
    series: [
      { label: 'Time (UTC)', value: (u, v) => (v == null ? '' : formatTime(v * 1000)) },
      ...floats.map((s, i) => ({
        label: seriesName(s.metric),
        stroke: seriesColor(i),
        fill: stacked ? `${seriesColor(i)}55` : undefined,
        width: 1.5,
        spanGaps: false,
        points: { show: (u, si) => u.data[0].length < 2 || floats[si - 1].values.length === 1, size: 4 },
        value: (u, v, si, di) => (di == null || raw[si][di] == null ? '' : formatValue(raw[si][di])),
      })),
    ],
    bands: stacked ? floats.slice(1).map((_, i) => ({ series: [i + 2, i + 1] })) : [],
  };
  const wrap = h('div', { class: 'graph' });
  container.append(wrap);
  const plot = new UPlot(opts, data, wrap);
  const observer = new ResizeObserver(() => {
    const w = Math.max(container.clientWidth, 300);
    if (Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height: 360 });
  });
  observer.observe(container);
  return () => {
    observer.disconnect();
    plot.destroy();
    wrap.remove();
  };
}
