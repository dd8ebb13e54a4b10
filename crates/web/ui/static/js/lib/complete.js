// Expression completion without a DOM: where the cursor is in a PromQL expression (context
// detection) and which candidates fit what was typed (ranking).

import { AGGREGATIONS, DURATIONS, FUNCTIONS, KEYWORDS, LABEL_LIST_CLAUSES } from './promql.js';

const IDENT_START = /[A-Za-z_:]/;
const IDENT_CHAR = /[A-Za-z0-9_:]/;

/**
 * Finds what the cursor at `pos` in `text` can be completed with. Returns
 * `{kind, prefix, from, to, metric, labelName, quoted}` where kind is one of
 * - 'expr': a metric name, function, aggregation or keyword (prefix = the word typed so far);
 * - 'labelName': a label name inside `{...}` or in `by (...)`, `on (...)`...;
 * - 'labelValue': a label value after `name=` (quoted: the open quote character, or false);
 * - 'duration': inside `[...]`;
 * - 'none': inside a comment, a plain string or a number.
 * `metric` is the metric name the matchers belong to (or the first metric of the expression for
 * grouping clauses), so label names and values can be narrowed to it. [from, to) is the text to
 * replace.
 */
export function detectContext(text, pos) {
  const src = text.slice(0, pos);
  const stack = []; // {type: '(' | '{' | '[', clause?, metric?}
  let i = 0;
  let lastIdent = null; // the last identifier and whether only whitespace followed it
  let lastSig = ''; // the last significant token: an identifier, an operator or punctuation
  let labelName = null; // inside braces: the label name of the current matcher
  let firstMetric = null;
  while (i < src.length) {
    const c = src[i];
    if (c === '#') {
      const nl = src.indexOf('\n', i);
      if (nl === -1) return none(pos);
      i = nl + 1;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const start = i + 1;
      let j = start;
      while (j < src.length && src[j] !== c) j += c !== '`' && src[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      const isValue = top && top.type === '{' && /^(=|!=|=~|!~)$/.test(lastSig);
      if (j >= src.length) {
        if (isValue) {
          return {
            kind: 'labelValue', prefix: src.slice(start), from: start, to: pos,
            metric: top.metric, labelName, quoted: c,
          };
        }
        return none(pos);
      }
      i = j + 1;
      lastSig = 'string';
      lastIdent = null;
      continue;
    }
    if (/\s/.test(c)) { i++; continue; }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < src.length && IDENT_CHAR.test(src[j])) j++;
      const word = src.slice(i, j);
      if (j === src.length) break; // the word being typed: classified below
      const top = stack[stack.length - 1];
      if (top && top.type === '{') labelName = word;
      else if (!firstMetric && isMetricName(word, src, j)) firstMetric = word;
      lastIdent = word;
      lastSig = 'ident';
      i = j;
      continue;
    }
    if (/[0-9.]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[0-9a-zA-Z.]/.test(src[j])) j++;
      if (j === src.length) {
        const top = stack[stack.length - 1];
        if (top && top.type === '[') return { kind: 'duration', prefix: src.slice(i), from: i, to: pos };
        return none(pos);
      }
      lastSig = 'number';
      lastIdent = null;
      i = j;
      continue;
    }
    if (c === '(') {
      const clause = lastSig === 'ident' && lastIdent && LABEL_LIST_CLAUSES.has(lastIdent.toLowerCase());
      stack.push({ type: '(', clause });
    } else if (c === '{') {
      const metric = lastSig === 'ident' && lastIdent && !(lastIdent in KEYWORDS) ? lastIdent : null;
      stack.push({ type: '{', metric });
      labelName = null;
    } else if (c === '[') {
      stack.push({ type: '[' });
    } else if (c === ')' || c === '}' || c === ']') {
      stack.pop();
    }
    const two = src.slice(i, i + 2);
    if (['!=', '=~', '!~', '==', '>=', '<='].includes(two)) {
      lastSig = two;
      i += 2;
    } else {
      lastSig = c;
      i += 1;
    }
    lastIdent = null;
  }
  // The word under the cursor (possibly empty).
  let from = pos;
  while (from > 0 && IDENT_CHAR.test(text[from - 1])) from--;
  if (from < pos && /[0-9]/.test(text[from])) {
    while (from < pos && /[0-9]/.test(text[from])) from++;
  }
  const prefix = text.slice(from, pos);
  const top = stack[stack.length - 1];
  if (top && top.type === '{') {
    if (/^(=|!=|=~|!~)$/.test(lastSig)) {
      return { kind: 'labelValue', prefix, from, to: pos, metric: top.metric, labelName, quoted: false };
    }
    if (lastSig === '{' || lastSig === ',') {
      return { kind: 'labelName', prefix, from, to: pos, metric: top.metric };
    }
    return none(pos);
  }
  if (top && top.type === '[') return { kind: 'duration', prefix, from, to: pos };
  if (top && top.type === '(' && top.clause) {
    return { kind: 'labelName', prefix, from, to: pos, metric: firstMetric };
  }
  return { kind: 'expr', prefix, from, to: pos, metric: firstMetric };
}

function none(pos) {
  return { kind: 'none', prefix: '', from: pos, to: pos };
}

/** Whether `word` ending at `end` in `src` reads as a metric name rather than a function or keyword. */
function isMetricName(word, src, end) {
  if (word in KEYWORDS || word in AGGREGATIONS) return false;
  let j = end;
  while (j < src.length && /\s/.test(src[j])) j++;
  return !(word in FUNCTIONS && src[j] === '(');
}

/**
 * How well `candidate` matches `typed` (case-insensitive), or null when it does not:
 * exact > prefix > start of a `_`/`:`-separated word > substring > characters in order.
 */
export function matchScore(candidate, typed) {
  if (typed === '') return 1;
  const c = candidate.toLowerCase();
  const t = typed.toLowerCase();
  if (c === t) return 1000;
  if (c.startsWith(t)) return 800;
  const at = c.indexOf(t);
  if (at > 0 && /[_:]/.test(c[at - 1])) return 600;
  if (at > 0) return 400;
  let k = 0;
  for (const ch of c) {
    if (ch === t[k]) k++;
    if (k === t.length) return 200 - Math.min(candidate.length, 150);
  }
  return null;
}

/**
 * Ranks candidates `{label, kind, detail?}` against the typed prefix: best match first, then
 * shorter, then alphabetical (in the given order when nothing is typed); at most `limit`. An exact match alone is dropped (nothing to complete).
 */
export function rank(candidates, typed, limit = 50) {
  const scored = [];
  const seen = new Set();
  for (const cand of candidates) {
    if (seen.has(cand.label)) continue;
    seen.add(cand.label);
    const score = matchScore(cand.label, typed);
    if (score != null) scored.push({ cand, score });
  }
  // Without a prefix every candidate scores the same: keep the given order.
  if (typed !== '') {
    scored.sort((a, b) => b.score - a.score || a.cand.label.length - b.cand.label.length ||
      (a.cand.label < b.cand.label ? -1 : a.cand.label > b.cand.label ? 1 : 0));
  }
  const out = scored.slice(0, limit).map((s) => s.cand);
  if (out.length === 1 && out[0].label === typed) return [];
  return out;
}

/** The static candidates of an 'expr' context: functions, aggregations and keywords. */
export function languageCandidates() {
  return [
    ...Object.entries(FUNCTIONS).map(([label, [sig, doc]]) => ({ label, kind: 'function', detail: sig, doc })),
    ...Object.entries(AGGREGATIONS).map(([label, doc]) => ({ label, kind: 'aggregation', doc })),
    ...Object.entries(KEYWORDS).map(([label, doc]) => ({ label, kind: 'keyword', doc })),
  ];
}

/** The static candidates of a 'duration' context. */
export function durationCandidates() {
  return DURATIONS.map((label) => ({ label, kind: 'duration' }));
}

/**
 * The text that replaces [from, to) when `cand` is accepted in context `ctx`, and where the cursor
 * goes (an offset into that text): functions and aggregations get `(`; label values are escaped
 * for their quotes, get quotes when none is open, and a closing quote unless `rest` (the text after
 * the cursor) starts with one.
 */
export function applyCompletion(ctx, cand, rest = '') {
  if (ctx.kind === 'labelValue') {
    const quote = ctx.quoted || '"';
    const escaped = quote === '`' ? cand.label
      : cand.label.replace(/\\/g, '\\\\').replace(quote === '"' ? /"/g : /'/g, `\\${quote}`).replace(/\n/g, '\\n');
    const close = rest.startsWith(quote) ? '' : quote;
    const text = `${ctx.quoted ? '' : quote}${escaped}${close}`;
    return { text, cursor: text.length + (close ? 0 : 1) };
  }
  if (ctx.kind === 'expr' && (cand.kind === 'function' || cand.kind === 'aggregation')) {
    const text = `${cand.label}(`;
    return { text, cursor: text.length };
  }
  return { text: cand.label, cursor: cand.label.length };
}

const FAMILY_SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created', '_gcount', '_gsum', '_info'];

/**
 * The metadata (`{type, help, unit}`) of a metric from `/api/v1/metadata`'s map: its own entry, or
 * its family's for the series a histogram, summary or counter exposes (`x_bucket`, `x_sum`,
 * `x_count`, `x_total`...). Null when none.
 */
export function metadataFor(name, metadata) {
  const own = (metadata || {})[name];
  if (own && own.length) return own[0];
  for (const suffix of FAMILY_SUFFIXES) {
    if (name.endsWith(suffix)) {
      const family = (metadata || {})[name.slice(0, -suffix.length)];
      if (family && family.length) return family[0];
    }
  }
  return null;
}
