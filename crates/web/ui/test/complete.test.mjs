import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyCompletion, detectContext, durationCandidates, languageCandidates, matchScore, metadataFor, rank,
} from '../static/js/lib/complete.js';
import { FUNCTIONS, setFunctions } from '../static/js/lib/promql.js';

// As ui/functions.json serves them (crates/web/src/ui.rs, from the engine's function table).
const SERVED = [
  { name: 'histogram_quantile', signature: '(scalar, instant vector)', args: ['scalar', 'instant vector'], returns: 'instant vector', experimental: false },
  { name: 'rate', signature: '(range vector)', args: ['range vector'], returns: 'instant vector', experimental: false },
  { name: 'sort_by_label', signature: '(instant vector, string...)', args: ['instant vector', 'string'], returns: 'instant vector', experimental: true },
];
setFunctions(SERVED);

const at = (text) => detectContext(text, text.length);

test('the served function list replaces the vocabulary, with descriptions where known', () => {
  assert.equal(setFunctions([{ name: 'only_this', signature: '()' }, null, { signature: '()' }]), 1);
  assert.deepEqual(Object.keys(FUNCTIONS), ['only_this']);
  assert.deepEqual(FUNCTIONS.only_this, ['()', '']);
  assert.equal(setFunctions(SERVED), 3);
  assert.deepEqual(FUNCTIONS.rate, ['(range vector)', 'per-second average rate of a counter']);
  assert.match(FUNCTIONS.sort_by_label[1], /\(experimental\)$/);
  // A name the server does not list is not offered, whatever the descriptions hold.
  assert.equal(FUNCTIONS.abs, undefined);
  assert.ok(!languageCandidates().some((c) => c.label === 'abs'));
});

test('a word at the top level completes as an expression', () => {
  assert.deepEqual(at('rate(http_req'), { kind: 'expr', prefix: 'http_req', from: 5, to: 13, metric: null });
  assert.equal(at('').kind, 'expr');
  assert.equal(at('sum(').prefix, '');
  assert.equal(at('up + nod').prefix, 'nod');
});

test('inside braces: label names, then values', () => {
  const name = at('http_requests_total{jo');
  assert.equal(name.kind, 'labelName');
  assert.equal(name.prefix, 'jo');
  assert.equal(name.metric, 'http_requests_total');
  assert.equal(at('up{job="a", ').kind, 'labelName');
  const unquoted = at('up{job=');
  assert.equal(unquoted.kind, 'labelValue');
  assert.equal(unquoted.labelName, 'job');
  assert.equal(unquoted.quoted, false);
  const quoted = at('up{job!~"no');
  assert.deepEqual(quoted, {
    kind: 'labelValue', prefix: 'no', from: 9, to: 11, metric: 'up', labelName: 'job', quoted: '"',
  });
  const second = at('up{job="a",instance="');
  assert.equal(second.labelName, 'instance');
  assert.equal(at('{__name__=~"x", code="2').metric, null);
  // After a complete matcher, an operator or comma is expected: nothing to offer.
  assert.equal(at('up{job="a" ').kind, 'none');
});

test('a closed selector returns to expression context', () => {
  const ctx = at('up{job="a"} / on');
  assert.equal(ctx.kind, 'expr');
  assert.equal(ctx.prefix, 'on');
  assert.equal(ctx.metric, 'up');
});

test('grouping clauses take label names of the first metric', () => {
  const by = at('sum(rate(node_cpu_seconds_total[5m])) by (mo');
  assert.equal(by.kind, 'labelName');
  assert.equal(by.prefix, 'mo');
  assert.equal(by.metric, 'node_cpu_seconds_total');
  assert.equal(at('a / ignoring(code, ').kind, 'labelName');
  assert.equal(at('sum without(').kind, 'labelName');
  // A function's parentheses are not a label list.
  assert.equal(at('rate(').kind, 'expr');
});

test('brackets take durations', () => {
  assert.deepEqual(at('rate(x[5'), { kind: 'duration', prefix: '5', from: 7, to: 8 });
  assert.equal(at('rate(x[').kind, 'duration');
  assert.equal(at('rate(x[5m:').kind, 'duration');
});

test('strings, comments and numbers offer nothing', () => {
  assert.equal(at('label_replace(up, "dst", "$1').kind, 'none');
  assert.equal(at('up # a comm').kind, 'none');
  assert.equal(at('up > 10').kind, 'none');
  assert.equal(at('up # comment\nra').kind, 'expr');
  // Escaped quotes do not end a label value.
  assert.equal(at('up{job="a\\"b').prefix, 'a\\"b');
});

test('the cursor position, not the end of text, decides', () => {
  const text = 'sum(rate(x{job="api"}[5m]))';
  assert.equal(detectContext(text, 13).kind, 'labelName');
  assert.equal(detectContext(text, 17).kind, 'labelValue');
  assert.equal(detectContext(text, 23).kind, 'duration');
  assert.equal(detectContext(text, 2).prefix, 'su');
});

test('matchScore orders prefix over word start over substring over subsequence', () => {
  const t = 'req';
  const exact = matchScore('req', t);
  const prefix = matchScore('requests_total', t);
  const word = matchScore('http_requests_total', t);
  const sub = matchScore('prequel', t);
  const fuzzy = matchScore('rate_eq', 're_q');
  assert.ok(exact > prefix && prefix > word && word > sub && sub > fuzzy, [exact, prefix, word, sub, fuzzy].join());
  assert.equal(matchScore('up', 'xyz'), null);
  assert.equal(matchScore('HTTP_Requests', 'http_r'), 800);
});

test('rank sorts by score, then length, then name, and limits', () => {
  const cands = ['node_load1', 'up', 'node_load15', 'process_load', 'nodeload', 'other']
    .map((label) => ({ label, kind: 'metric' }));
  assert.deepEqual(rank(cands, 'load').map((c) => c.label),
    ['node_load1', 'node_load15', 'process_load', 'nodeload']);
  assert.deepEqual(rank(cands, 'node', 2).map((c) => c.label), ['nodeload', 'node_load1']);
  assert.equal(rank(cands, '').length, 6);
  assert.deepEqual(rank(cands, 'up'), [], 'an exact sole match has nothing to complete');
  assert.equal(rank([...cands, ...cands], '').length, 6, 'duplicates collapse');
});

test('language candidates include functions, aggregations and keywords', () => {
  const all = languageCandidates();
  const kinds = (name) => all.filter((c) => c.label === name).map((c) => c.kind);
  assert.deepEqual(kinds('rate'), ['function']);
  assert.deepEqual(kinds('sum'), ['aggregation']);
  assert.deepEqual(kinds('without'), ['keyword']);
  assert.equal(rank(all, 'histogram_q')[0].label, 'histogram_quantile');
  assert.ok(durationCandidates().some((c) => c.label === '5m'));
});

test('applyCompletion adds parentheses and quotes where they belong', () => {
  const fn = applyCompletion(at('ra'), { label: 'rate', kind: 'function' });
  assert.deepEqual(fn, { text: 'rate(', cursor: 5 });
  assert.equal(applyCompletion(at('ra'), { label: 'rate_total', kind: 'metric' }).text, 'rate_total');
  assert.equal(applyCompletion(at('sum by (j'), { label: 'job', kind: 'label' }).text, 'job');
  // No quote open: both quotes, cursor after the closing one.
  assert.deepEqual(applyCompletion(at('up{job='), { label: 'a"b', kind: 'value' }), { text: '"a\\"b"', cursor: 6 });
  // Quote open, none after the cursor: the value and a closing quote.
  assert.deepEqual(applyCompletion(at('up{job="'), { label: 'x\\y', kind: 'value' }), { text: 'x\\\\y"', cursor: 5 });
  // Quote open and closed after the cursor: the value, cursor steps over the closing quote.
  assert.deepEqual(applyCompletion(at('up{job="a'), { label: 'api', kind: 'value' }, '"}'), { text: 'api', cursor: 4 });
  // Single quotes escape single quotes, not double ones.
  assert.equal(applyCompletion(at("up{job='"), { label: `it's "x"`, kind: 'value' }).text, `it\\'s "x"'`);
  assert.equal(applyCompletion(at('up{job=`'), { label: 'a\\b', kind: 'value' }).text, 'a\\b`');
});

test('rank keeps the given order when nothing is typed', () => {
  assert.deepEqual(rank(durationCandidates(), '').map((c) => c.label).slice(0, 3), ['1m', '5m', '10m']);
});

test('metadataFor finds a series family\'s metadata', () => {
  const meta = {
    http_request_duration_seconds: [{ type: 'histogram', help: 'Latency', unit: '' }],
    http_requests: [{ type: 'counter', help: 'Requests', unit: '' }],
    up: [{ type: 'gauge', help: 'Up', unit: '' }],
  };
  assert.equal(metadataFor('up', meta).type, 'gauge');
  assert.equal(metadataFor('http_request_duration_seconds_bucket', meta).type, 'histogram');
  assert.equal(metadataFor('http_request_duration_seconds_count', meta).type, 'histogram');
  assert.equal(metadataFor('http_requests_total', meta).type, 'counter');
  assert.equal(metadataFor('unknown_sum', meta), null);
  assert.equal(metadataFor('up', undefined), null);
});
