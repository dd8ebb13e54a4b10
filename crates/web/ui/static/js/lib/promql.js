// PromQL vocabulary for the editor: functions, aggregations, keywords and durations, no DOM.

/**
 * One-line descriptions of functions, by name. Which functions exist and their signatures come
 * from the engine's table (`ui/functions.json`, see setFunctions); a function without a line
 * here is still offered, without a description.
 */
export const FUNCTION_DOCS = {
  abs: 'absolute value of every sample',
  absent: '1-element vector when v has no elements',
  absent_over_time: '1-element vector when the range has no samples',
  acos: 'arccosine', acosh: 'inverse hyperbolic cosine',
  asin: 'arcsine', asinh: 'inverse hyperbolic sine',
  atan: 'arctangent', atanh: 'inverse hyperbolic tangent',
  avg_over_time: 'average of the range',
  ceil: 'rounds up to the nearest integer',
  changes: 'number of value changes in the range',
  clamp: 'clamps values to [min, max]',
  clamp_max: 'clamps values to at most max',
  clamp_min: 'clamps values to at least min',
  cos: 'cosine', cosh: 'hyperbolic cosine',
  count_over_time: 'number of samples in the range',
  day_of_month: 'day of the month (UTC)',
  day_of_week: 'day of the week (UTC), 0 is Sunday',
  day_of_year: 'day of the year (UTC)',
  days_in_month: 'number of days in the month (UTC)',
  deg: 'radians to degrees',
  delta: 'difference between first and last value of a gauge',
  deriv: 'per-second derivative by linear regression',
  double_exponential_smoothing: 'smoothed value (formerly holt_winters)',
  exp: 'exponential',
  floor: 'rounds down to the nearest integer',
  histogram_avg: 'average of native histogram observations',
  histogram_count: 'count of native histogram observations',
  histogram_fraction: 'fraction of observations between bounds',
  histogram_quantile: 'φ-quantile from histogram buckets',
  histogram_stddev: 'standard deviation of native histogram observations',
  histogram_stdvar: 'standard variance of native histogram observations',
  histogram_sum: 'sum of native histogram observations',
  hour: 'hour of the day (UTC)',
  idelta: 'difference between the last two samples',
  increase: 'increase of a counter over the range',
  irate: 'per-second rate from the last two samples',
  label_join: 'joins label values into a new label',
  label_replace: 'sets a label from a regex match',
  last_over_time: 'most recent sample in the range',
  ln: 'natural logarithm', log10: 'decimal logarithm',
  log2: 'binary logarithm',
  mad_over_time: 'median absolute deviation of the range',
  max_over_time: 'maximum of the range',
  min_over_time: 'minimum of the range',
  minute: 'minute of the hour (UTC)',
  month: 'month of the year (UTC)',
  pi: 'the number π',
  predict_linear: 'value t seconds from now by linear regression',
  present_over_time: '1 for series with samples in the range',
  quantile_over_time: 'φ-quantile of the range',
  rad: 'degrees to radians',
  rate: 'per-second average rate of a counter',
  resets: 'number of counter resets in the range',
  round: 'rounds to the nearest multiple',
  scalar: 'the single sample as a scalar, else NaN',
  sgn: 'sign: 1, -1 or 0',
  sin: 'sine', sinh: 'hyperbolic sine',
  sort: 'sorts by value, ascending',
  sort_by_label: 'sorts by label values, ascending',
  sort_by_label_desc: 'sorts by label values, descending',
  sort_desc: 'sorts by value, descending',
  sqrt: 'square root',
  stddev_over_time: 'population standard deviation of the range',
  stdvar_over_time: 'population variance of the range',
  sum_over_time: 'sum of the range',
  tan: 'tangent', tanh: 'hyperbolic tangent',
  time: 'evaluation time in seconds since the epoch',
  timestamp: 'timestamp of every sample',
  vector: 'the scalar as a vector without labels',
  year: 'year (UTC)',
};

/** The functions the server's engine implements: name -> [signature, description]. */
export const FUNCTIONS = {};

/**
 * Replaces FUNCTIONS with the engine's list as `ui/functions.json` serves it:
 * `[{name, signature, args, returns, experimental}]`. Returns the number of functions.
 */
export function setFunctions(list) {
  for (const name of Object.keys(FUNCTIONS)) delete FUNCTIONS[name];
  for (const f of list) {
    if (!f || typeof f.name !== 'string') continue;
    const doc = FUNCTION_DOCS[f.name] || '';
    FUNCTIONS[f.name] = [f.signature || '()', f.experimental ? `${doc} (experimental)`.trim() : doc];
  }
  return Object.keys(FUNCTIONS).length;
}

/** Aggregation operators and a description. */
export const AGGREGATIONS = {
  sum: 'sum over dimensions', min: 'minimum over dimensions', max: 'maximum over dimensions',
  avg: 'average over dimensions', group: 'all values 1', stddev: 'population standard deviation',
  stdvar: 'population variance', count: 'number of elements',
  count_values: 'number of elements with the same value', bottomk: 'smallest k elements',
  topk: 'largest k elements', quantile: 'φ-quantile over dimensions',
  limitk: 'k elements (experimental)', limit_ratio: 'a ratio of elements (experimental)',
};

/** Keywords: binary set operators, modifiers and grouping clauses. */
export const KEYWORDS = {
  and: 'intersection', or: 'union', unless: 'complement', by: 'group by these labels',
  without: 'group by all but these labels', on: 'match on these labels',
  ignoring: 'match ignoring these labels', group_left: 'many-to-one matching',
  group_right: 'one-to-many matching', offset: 'shift the evaluation time back', bool: 'return 0/1 instead of filtering',
  atan2: 'arc tangent of y/x (binary operator)',
};

/** Durations offered inside `[...]`. */
export const DURATIONS = ['1m', '5m', '10m', '15m', '30m', '1h', '6h', '12h', '1d', '1w'];

/** The clauses whose parentheses hold label names. */
export const LABEL_LIST_CLAUSES = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
