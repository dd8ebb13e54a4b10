import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatAgo, formatDuration, formatShort, formatTime, parseApiTime, parseDuration, parseTime,
} from '../static/js/lib/time.js';

test('parseDuration reads Prometheus durations', () => {
  assert.equal(parseDuration('5m'), 300000);
  assert.equal(parseDuration('1h30m'), 5400000);
  assert.equal(parseDuration('2d'), 172800000);
  assert.equal(parseDuration('1w'), 604800000);
  assert.equal(parseDuration('1y'), 365 * 86400000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1m30s500ms'), 90500);
  assert.equal(parseDuration(' 15s '), 15000);
  assert.equal(parseDuration('0'), 0);
});

test('parseDuration refuses what Prometheus refuses', () => {
  for (const bad of ['', '5', 'm', '30m1h', '1h1h', '1.5h', '-5m', '5M', 'abc', null]) {
    assert.equal(parseDuration(bad), null, String(bad));
  }
});

test('formatDuration writes largest units first and round-trips', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(3600000), '1h');
  assert.equal(formatDuration(5400000), '1h30m');
  assert.equal(formatDuration(8 * 86400000), '1w1d');
  assert.equal(formatDuration(1500), '1s500ms');
  for (const ms of [1, 999, 61000, 90061001, 400 * 86400000]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
});

test('parseTime reads unix seconds, UTC dates and RFC 3339', () => {
  assert.equal(parseTime('1700000000'), 1700000000000);
  assert.equal(parseTime('1700000000.25'), 1700000000250);
  assert.equal(parseTime('2023-11-14 22:13:20'), 1700000000000);
  assert.equal(parseTime('2023-11-14T22:13:20Z'), 1700000000000);
  assert.equal(parseTime('2023-11-15T00:13:20+02:00'), 1700000000000);
  assert.equal(parseTime('2023-11-14 22:13'), 1699999980000);
  assert.equal(parseTime('2023-11-14 22:13:20.5'), 1700000000500);
  assert.equal(parseTime('2023-11-14'), Date.UTC(2023, 10, 14));
  for (const bad of ['', 'now', '2023-13-01', '2023-11-14 25:00', '14/11/2023']) {
    assert.equal(parseTime(bad), null, bad);
  }
});

test('formatTime writes UTC and parseTime reads it back', () => {
  assert.equal(formatTime(1700000000000), '2023-11-14 22:13:20');
  assert.equal(formatTime(1700000000123), '2023-11-14 22:13:20.123');
  for (const ms of [0, 86399999, 1700000000123]) assert.equal(parseTime(formatTime(ms)), ms);
});

test('formatAgo and formatShort are compact', () => {
  assert.equal(formatShort(850), '850ms');
  assert.equal(formatShort(12345), '12.345s');
  assert.equal(formatShort(184000), '3m 4s');
  assert.equal(formatShort(7500000), '2h 5m');
  assert.equal(formatShort(3 * 86400000 + 4 * 3600000), '3d 4h');
  assert.equal(formatAgo(1000, 13345), '12.345s ago');
  assert.equal(formatAgo(5000, 4000), 'in 1s');
  assert.equal(formatAgo(null, 1), 'never');
});

test('parseApiTime maps Go zero time to null', () => {
  assert.equal(parseApiTime('0001-01-01T00:00:00Z'), null);
  assert.equal(parseApiTime(''), null);
  assert.equal(parseApiTime('2023-11-14T22:13:20.5Z'), 1700000000500);
});
