// Unit tests of the Alertmanager UI's DOM-free module.
import test from "node:test";
import assert from "node:assert/strict";
import * as lib from "../static/lib.mjs";

test("parseMatchers reads both forms and names the bad part", () => {
  const cases = [
    ['{a="b", c=~"d.*"}', [["a", "b", false, true], ["c", "d.*", true, true]]],
    ['a=b, c!="x,y"', [["a", "b", false, true], ["c", "x,y", false, false]]],
    ['job!~"n.*"', [["job", "n.*", true, false]]],
    ['a="q\\"q"', [["a", 'q"q', false, true]]],
    ["", []],
  ];
  for (const [text, want] of cases) {
    const got = lib.parseMatchers(text).map((m) => [m.name, m.value, m.isRegex, m.isEqual]);
    assert.deepEqual(got, want, text);
  }
  for (const [text, msg] of [
    ['{a="b"', /unclosed/],
    ['1a="b"', /label name/],
    ["a", /expected one of/],
    ['a="b', /unterminated/],
    ['a=~"("', /invalid regular expression for "a"/],
  ]) {
    assert.throws(() => lib.parseMatchers(text), msg, text);
  }
});

test("matchers match like Alertmanager's, missing labels as empty", () => {
  const labels = { alertname: "Disk", severity: "warning" };
  const cases = [
    ['alertname="Disk"', true],
    ['alertname="disk"', false],
    ['severity=~"warn.*"', true],
    ['severity=~"warn"', false],
    ['severity!="critical"', true],
    ['team=""', true],
    ['team!~".+"', true],
    ['alertname="Disk", severity="critical"', false],
  ];
  for (const [text, want] of cases) {
    assert.equal(lib.matchesAll(lib.parseMatchers(text), labels), want, text);
  }
  assert.equal(lib.formatMatcher({ name: "a", value: "b", isRegex: true, isEqual: false }), 'a!~"b"');
  assert.equal(lib.formatMatcher({ name: "a", value: "b", isRegex: false, isEqual: false }), 'a!="b"');
});

const alerts = [
  { labels: { alertname: "A", job: "x" }, receivers: [{ name: "hook" }], status: { silencedBy: [], inhibitedBy: [] } },
  { labels: { alertname: "A", job: "y" }, receivers: [{ name: "hook" }], status: { silencedBy: ["s1"], inhibitedBy: [] } },
  { labels: { alertname: "B", job: "x" }, receivers: [{ name: "mail" }, { name: "hook" }], status: { silencedBy: [], inhibitedBy: ["f"] } },
];

test("filterAlerts hides silenced and inhibited alerts unless asked", () => {
  const names = (as) => as.map((a) => `${a.labels.alertname}/${a.labels.job}`);
  assert.deepEqual(names(lib.filterAlerts(alerts)), ["A/x"]);
  assert.deepEqual(names(lib.filterAlerts(alerts, { silenced: true })), ["A/x", "A/y"]);
  assert.deepEqual(names(lib.filterAlerts(alerts, { silenced: true, inhibited: true })), ["A/x", "A/y", "B/x"]);
  const m = lib.parseMatchers('job="x"');
  assert.deepEqual(names(lib.filterAlerts(alerts, { matchers: m, inhibited: true })), ["A/x", "B/x"]);
});

test("groupAlerts groups by receiver and group labels", () => {
  const g = lib.groupAlerts(alerts, ["alertname"]).map((g) => [g.receiver, g.labels.alertname, g.alerts.length]);
  assert.deepEqual(g, [["hook", "A", 2], ["hook", "B", 1], ["mail", "B", 1]]);
});

test("filterSilences by state, latest end first", () => {
  const s = [
    { id: "1", endsAt: "2026-01-01T00:00:00Z", status: { state: "expired" } },
    { id: "2", endsAt: "2026-03-01T00:00:00Z", status: { state: "active" } },
    { id: "3", endsAt: "2026-02-01T00:00:00Z", status: { state: "active" } },
  ];
  assert.deepEqual(lib.filterSilences(s).map((x) => x.id), ["2", "3", "1"]);
  assert.deepEqual(lib.filterSilences(s, "active").map((x) => x.id), ["2", "3"]);
  assert.deepEqual(lib.filterSilences(s, "pending"), []);
});

test("silenceBody builds the API body and names the bad field", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  const b = lib.silenceBody({ matchers: 'a="b"', duration: "1h30m", createdBy: " me ", comment: "why", id: "x" }, now);
  assert.deepEqual(b, {
    matchers: [{ name: "a", value: "b", isRegex: false, isEqual: true }],
    startsAt: "2026-01-01T00:00:00.000Z",
    endsAt: "2026-01-01T01:30:00.000Z",
    createdBy: "me",
    comment: "why",
    id: "x",
  });
  const ok = { matchers: 'a="b"', createdBy: "me", comment: "c" };
  for (const [change, msg] of [
    [{ matchers: "" }, /^Error: matchers:/],
    [{ createdBy: "" }, /^Error: createdBy:/],
    [{ comment: " " }, /^Error: comment:/],
    [{ duration: "soon" }, /invalid duration/],
    [{ endsAt: "2025-01-01T00:00:00Z" }, /^Error: endsAt: the end must be after/],
  ]) {
    assert.throws(() => lib.silenceBody({ ...ok, ...change }, now), msg, JSON.stringify(change));
  }
});
