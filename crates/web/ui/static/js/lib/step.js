// Step (resolution) choice for range queries, no DOM.

/** Prometheus refuses range queries with more than this many points per series. */
export const MAX_POINTS = 11000;

/** Steps the automatic resolution picks from, in seconds: round numbers on a clock. */
export const NICE_STEPS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
  172800, 604800,
];

/**
 * The automatic step in seconds for a range of `rangeMs`, drawn `widthPx` pixels wide: about one
 * point per `pxPerPoint` pixels (at least 1 s), rounded up to the next clock-friendly step.
 */
export function autoStep(rangeMs, widthPx = 1000, pxPerPoint = 4) {
  const points = Math.max(1, Math.floor(widthPx / pxPerPoint));
  const raw = Math.max(rangeMs / 1000 / points, 1);
  for (const s of NICE_STEPS) {
    if (s >= raw) return s;
  }
  return Math.ceil(raw / 86400) * 86400;
}

/**
 * The step actually sent: the user's step (seconds) when given, never so small that the range
 * exceeds MAX_POINTS points; else the automatic one.
 */
export function effectiveStep(rangeMs, userStepSec, widthPx) {
  const min = rangeMs / 1000 / MAX_POINTS;
  if (userStepSec != null && userStepSec > 0) return Math.max(userStepSec, Math.ceil(min));
  return Math.max(autoStep(rangeMs, widthPx), Math.ceil(min));
}

/** The ranges the graph's −/+ buttons step through, in milliseconds. */
export const RANGE_STEPS = [
  60, 300, 900, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 604800, 1209600, 2419200,
  4838400, 31536000,
].map((s) => s * 1000);

/**
 * The next range when zooming out (`dir` = 1) or in (`dir` = -1) from `rangeMs`: the next larger
 * (smaller) preset, staying at the ends of the list.
 */
export function stepRange(rangeMs, dir) {
  if (dir > 0) return RANGE_STEPS.find((r) => r > rangeMs) ?? RANGE_STEPS[RANGE_STEPS.length - 1];
  const smaller = RANGE_STEPS.filter((r) => r < rangeMs);
  return smaller.length ? smaller[smaller.length - 1] : RANGE_STEPS[0];
}
