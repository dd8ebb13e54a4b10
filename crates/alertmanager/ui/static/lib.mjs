// Firewatch Alertmanager UI: the DOM-free part (matcher parsing and matching, alert grouping
// and filtering, silence states and the silence form's API body), tested with node:test.

const OPS = ["=~", "!~", "!=", "="];

/** Parses `{a="b", c=~"d.*"}` or `a=b, c!="x"` into API matchers; throws naming the bad part. */
export function parseMatchers(text) {
  let s = text.trim();
  if (s.startsWith("{")) {
    if (!s.endsWith("}")) throw new Error(`unclosed "{" in ${JSON.stringify(text)}`);
    s = s.slice(1, -1);
  }
  const out = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /[\s,]/.test(s[i])) i++;
    if (i >= s.length) break;
    const nameMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i));
    if (!nameMatch) throw new Error(`expected a label name at ${JSON.stringify(s.slice(i))}`);
    const name = nameMatch[0];
    i += name.length;
    while (s[i] === " ") i++;
    const op = OPS.find((o) => s.startsWith(o, i));
    if (!op) throw new Error(`expected one of = != =~ !~ after ${JSON.stringify(name)}`);
    i += op.length;
    while (s[i] === " ") i++;
    let value = "";
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === "\\" && i + 1 < s.length) i++;
        value += s[i++];
      }
      if (s[i] !== '"') throw new Error(`unterminated quoted value for ${JSON.stringify(name)}`);
      i++;
    } else {
      while (i < s.length && s[i] !== ",") value += s[i++];
      value = value.trim();
    }
    if (op.includes("~")) {
      try {
        new RegExp(`^(?:${value})$`);
      } catch (e) {
        throw new Error(`invalid regular expression for ${JSON.stringify(name)}: ${e.message}`);
      }
    }
    out.push({ name, value, isRegex: op.includes("~"), isEqual: !op.startsWith("!") });
  }
  return out;
}

/** The matcher as text (`name=~"value"`). */
export function formatMatcher(m) {
  const op = (m.isEqual === false ? "!" : "=") + (m.isRegex ? "~" : "");
  return `${m.name}${op === "!" ? "!=" : op}${JSON.stringify(m.value)}`;
}

/** Whether one matcher matches a label set (a missing label is the empty value). */
export function matcherMatches(m, labels) {
  const v = labels[m.name] ?? "";
  const hit = m.isRegex ? new RegExp(`^(?:${m.value})$`).test(v) : v === m.value;
  return m.isEqual === false ? !hit : hit;
}

/** Whether every matcher matches. */
export function matchesAll(matchers, labels) {
  return matchers.every((m) => matcherMatches(m, labels));
}

/** The alerts the filter keeps: matchers, and silenced/inhibited ones only when asked for. */
export function filterAlerts(alerts, { matchers = [], silenced = false, inhibited = false } = {}) {
  return alerts.filter((a) => {
    const st = a.status ?? {};
    if (!silenced && (st.silencedBy ?? []).length > 0) return false;
    if (!inhibited && (st.inhibitedBy ?? []).length > 0) return false;
    return matchesAll(matchers, a.labels ?? {});
  });
}

/**
 * Groups alerts by receiver and the values of `groupBy` (all labels when empty):
 * `[{receiver, labels, alerts}]` sorted by receiver then labels.
 */
export function groupAlerts(alerts, groupBy = []) {
  const groups = new Map();
  for (const a of alerts) {
    const labels = {};
    for (const k of groupBy.length ? groupBy : Object.keys(a.labels ?? {}).sort()) {
      if (a.labels?.[k] !== undefined) labels[k] = a.labels[k];
    }
    const receivers = (a.receivers ?? []).map((r) => r.name);
    for (const receiver of receivers.length ? receivers : [""]) {
      const key = JSON.stringify([receiver, labels]);
      if (!groups.has(key)) groups.set(key, { receiver, labels, alerts: [] });
      groups.get(key).alerts.push(a);
    }
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
}

/** The silences in `state` ("all", "active", "pending", "expired"), newest end first. */
export function filterSilences(silences, state = "all") {
  return silences
    .filter((s) => state === "all" || s.status?.state === state)
    .sort((a, b) => (a.endsAt < b.endsAt ? 1 : a.endsAt > b.endsAt ? -1 : 0));
}

/** Parses a duration such as `2h`, `1h30m`, `90s`, `1d` into milliseconds; throws when invalid. */
export function parseDuration(text) {
  const re = /(\d+)(ms|s|m|h|d|w)/g;
  const unit = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };
  const t = text.trim();
  let total = 0;
  let seen = "";
  for (const m of t.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]];
    seen += m[0];
  }
  if (!t || seen !== t || total <= 0) throw new Error(`invalid duration ${JSON.stringify(text)}`);
  return total;
}

/**
 * The API body of the silence form: `{id?, matchers, startsAt, endsAt, createdBy, comment}`;
 * `duration` sets the end from the start when `endsAt` is empty. Throws naming the bad field.
 */
export function silenceBody(form, now = new Date()) {
  const matchers = parseMatchers(form.matchers ?? "");
  if (matchers.length === 0) throw new Error("matchers: at least one matcher is required");
  const start = form.startsAt ? new Date(form.startsAt) : now;
  if (Number.isNaN(start.getTime())) throw new Error(`startsAt: invalid time ${JSON.stringify(form.startsAt)}`);
  const end = form.endsAt ? new Date(form.endsAt) : new Date(start.getTime() + parseDuration(form.duration || "2h"));
  if (Number.isNaN(end.getTime())) throw new Error(`endsAt: invalid time ${JSON.stringify(form.endsAt)}`);
  if (end <= start) throw new Error("endsAt: the end must be after the start");
  if (!form.createdBy?.trim()) throw new Error("createdBy: the author is required");
  if (!form.comment?.trim()) throw new Error("comment: a comment is required");
  const body = {
    matchers,
    startsAt: start.toISOString(),
    endsAt: end.toISOString(),
    createdBy: form.createdBy.trim(),
    comment: form.comment.trim(),
  };
  if (form.id) body.id = form.id;
  return body;
}
