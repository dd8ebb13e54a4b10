// Durations and timestamps as Prometheus writes them: parsing and formatting, no DOM.

const UNITS = [
  ['y', 365 * 24 * 3600 * 1000],
  ['w', 7 * 24 * 3600 * 1000],
  ['d', 24 * 3600 * 1000],
  ['h', 3600 * 1000],
  ['m', 60 * 1000],
  ['s', 1000],
  ['ms', 1],
];
const UNIT_MS = Object.fromEntries(UNITS);

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * Parses a Prometheus duration ("1h30m", "5m", "2d", "250ms") into milliseconds.
 * Units must appear in decreasing order, each at most once. Returns null when invalid or empty.
 */
export function parseDuration(text) {
  const s = String(text ?? '').trim();
  if (s === '' || s === '0') return s === '0' ? 0 : null;
  const m = DURATION_RE.exec(s);
  if (!m) return null;
  const names = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  let total = 0;
  for (let i = 0; i < names.length; i++) {
    if (m[i + 1] !== undefined) total += Number(m[i + 1]) * UNIT_MS[names[i]];
  }
  return total;
}

/** Formats milliseconds as a Prometheus duration, largest units first ("1h30m", "0s"). */
export function formatDuration(ms) {
  let rest = Math.round(Math.abs(ms));
  if (rest === 0) return '0s';
  let out = ms < 0 ? '-' : '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += n + unit;
      rest -= n * size;
    }
  }
  return out;
}

/**
 * Parses a time as typed by a user: unix seconds ("1700000000", "1700000000.5"),
 * "YYYY-MM-DD HH:MM[:SS[.mmm]]" in UTC, or an RFC 3339 timestamp. Returns milliseconds or null.
 */
export function parseTime(text) {
  const s = String(text ?? '').trim();
  if (s === '') return null;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?(Z|[+-]\d{2}:\d{2})?$/.exec(s);
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '0', zone] = m;
  if (+mo < 1 || +mo > 12 || +d < 1 || +d > 31 || +h > 23 || +mi > 59 || +sec > 59) return null;
  let t = Date.UTC(+y, +mo - 1, +d, +h, +mi, +sec, Number(frac.padEnd(3, '0')));
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    t -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60000;
  }
  return t;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** Formats milliseconds as "YYYY-MM-DD HH:MM:SS" in UTC (".mmm" added when not whole seconds). */
export function formatTime(ms) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '';
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return d.getUTCMilliseconds() ? `${base}.${pad(d.getUTCMilliseconds(), 3)}` : base;
}

/**
 * Formats how long ago `thenMs` was relative to `nowMs`, compactly ("12.345s ago", "3m 4s ago",
 * "2h 5m ago"); "never" for Prometheus's zero time (0001-01-01) or a missing value.
 */
export function formatAgo(thenMs, nowMs) {
  if (thenMs == null || Number.isNaN(thenMs) || thenMs < 0) return 'never';
  const diff = nowMs - thenMs;
  if (diff < 0) return 'in ' + formatShort(-diff);
  return formatShort(diff) + ' ago';
}

/** A short human duration: "850ms", "12.345s", "3m 4s", "2h 5m", "3d 4h". */
export function formatShort(ms) {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60000) return `${+(ms / 1000).toFixed(3)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** Parses an RFC 3339 timestamp from the API into milliseconds; null for Go's zero time. */
export function parseApiTime(text) {
  if (!text || String(text).startsWith('0001-01-01')) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}
