//! The PromQL evaluation engine: instant and range queries over a [`storage::Queryable`].
//!
//! Range queries are evaluated a node at a time over all steps (module `range`), falling back to
//! evaluating the whole expression step by step where that path cannot answer exactly; an
//! instant query is one step. Every selector's series are read from storage once per
//! query, over the time range the whole query needs.
//! Semantics follow Prometheus 3: left-open range windows, 5m lookback by default,
//! staleness markers, `offset`/`@`, subqueries, delayed `__name__` removal.

pub mod aggregate;
pub mod annotations;
pub mod binary;
pub mod dates;
pub mod error;
pub(crate) mod eval;
pub mod functions;
mod gate;
mod hist_calls;
mod hist_fns;
pub(crate) mod hist_quantile;
pub mod histo;
mod info;
mod instant_fns;
pub mod label_fns;
mod load;
mod metrics;
mod pipeline;
mod preprocess;
mod range;
pub(crate) mod selectors;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use model::Labels;
use storage::Queryable;

pub use annotations::{Annotation, Level};
pub use error::EvalError;
use eval::{Evaluator, Val, cleanup_names, has_duplicate_labels};

use crate::ast::{Expr, ValueType};
use crate::value::{FPoint, HPoint, Series, Value};

/// Engine settings (Prometheus's `--query.*` flags).
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back a vector selector looks for a sample (`--query.lookback-delta`, 5m).
    pub lookback_delta: Duration,
    /// Longest a query may run (`--query.timeout`, 2m); zero disables.
    pub timeout: Duration,
    /// Most samples a query may hold in memory (`--query.max-samples`, 50,000,000).
    pub max_samples: usize,
    /// Most bytes a query may hold in memory for samples it loaded or computed
    /// (`--query.max-memory-bytes`, a quarter of the machine's memory by default); zero
    /// disables. Checked before large buffers are allocated, so that a heavy query fails with
    /// an error instead of exhausting the process's memory.
    pub max_memory_bytes: usize,
    /// Step of subqueries written without one (`[5m:]`), Prometheus's evaluation interval.
    pub default_subquery_step: Duration,
    /// Most queries evaluating at once (`--query.max-concurrency`, 20); others wait their turn.
    /// Zero means no limit.
    pub max_concurrency: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lookback_delta: Duration::from_secs(300),
            timeout: Duration::from_secs(120),
            max_samples: 50_000_000,
            max_memory_bytes: default_max_memory_bytes(),
            default_subquery_step: Duration::from_secs(60),
            max_concurrency: 20,
        }
    }
}

/// The default per-query memory budget: a quarter of the machine's memory (`MemTotal` in
/// `/proc/meminfo`), or 4 GiB where that cannot be read.
#[must_use]
pub fn default_max_memory_bytes() -> usize {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            kb.checked_mul(1024)
        })
        .unwrap_or(16 << 30);
    usize::try_from(total / 4).unwrap_or(usize::MAX)
}

/// A query's value with the annotations it produced.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// The value.
    pub value: Value,
    /// Warnings and infos, in the order they arose.
    pub annotations: Vec<Annotation>,
    /// The query text (annotation positions refer to it).
    pub query: String,
}

impl QueryResult {
    /// Rendered warnings (`PromQL warning: ... (1:5)`).
    #[must_use]
    pub fn warnings(&self) -> Vec<String> {
        self.rendered(Level::Warning)
    }

    /// Rendered infos (`PromQL info: ... (1:5)`).
    #[must_use]
    pub fn infos(&self) -> Vec<String> {
        self.rendered(Level::Info)
    }

    fn rendered(&self, level: Level) -> Vec<String> {
        self.annotations
            .iter()
            .filter(|a| a.level == level)
            .map(|a| a.render(&self.query))
            .collect()
    }
}

/// The query engine: settings, the queue of running queries and the engine's metrics.
/// Clones share the queue and the metrics.
#[derive(Debug, Clone)]
pub struct Engine {
    opts: EngineOptions,
    gate: std::sync::Arc<gate::Gate>,
    metrics: metrics::EngineMetrics,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(EngineOptions::default())
    }
}

impl Engine {
    /// An engine with `opts`, its metrics in a registry of its own (not served).
    #[must_use]
    pub fn new(opts: EngineOptions) -> Self {
        Self::with_registry(opts, &::metrics::Registry::new())
    }

    /// An engine with `opts` whose metrics (`prometheus_engine_*`) are registered in
    /// `registry`.
    #[must_use]
    pub fn with_registry(opts: EngineOptions, registry: &::metrics::Registry) -> Self {
        let gate = std::sync::Arc::new(gate::Gate::new(opts.max_concurrency));
        let metrics = metrics::EngineMetrics::new(registry, opts.max_concurrency);
        Self {
            opts,
            gate,
            metrics,
        }
    }

    /// Queries evaluating now (at most `max_concurrency`).
    #[must_use]
    pub fn running_queries(&self) -> usize {
        self.gate.running()
    }

    /// Waits for a turn to evaluate, within the query timeout.
    fn turn(&self, cancel: Option<&AtomicBool>) -> Result<gate::Slot<'_>, EvalError> {
        let deadline = (!self.opts.timeout.is_zero()).then(|| Instant::now() + self.opts.timeout);
        let _timer = self.metrics.queue_time.start_timer();
        self.gate.enter(deadline, cancel)
    }

    /// The settings.
    #[must_use]
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Parses and evaluates `query` at `ts` (milliseconds).
    ///
    /// # Errors
    /// Parse errors, execution errors, timeout and the sample limit.
    pub fn instant_query(
        &self,
        q: &dyn Queryable,
        query: &str,
        ts: i64,
    ) -> Result<QueryResult, EvalError> {
        let expr = crate::parser::parse(query)?;
        self.instant_query_expr(q, &expr, query, ts, None)
    }

    /// Parses and evaluates `query` from `start` to `end` every `step` (milliseconds).
    ///
    /// # Errors
    /// As [`Engine::instant_query`], plus invalid steps and non-vector expressions.
    pub fn range_query(
        &self,
        q: &dyn Queryable,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult, EvalError> {
        let expr = crate::parser::parse(query)?;
        self.range_query_expr(q, &expr, query, start, end, step, None)
    }

    /// Evaluates a parsed expression at `ts`; `query` is its text (for annotation
    /// positions); `cancel` aborts the query when set.
    ///
    /// # Errors
    /// As [`Engine::instant_query`].
    pub fn instant_query_expr(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        query: &str,
        ts: i64,
        cancel: Option<&AtomicBool>,
    ) -> Result<QueryResult, EvalError> {
        let _in_flight = metrics::InFlight::new(&self.metrics.queries);
        let _turn = self.turn(cancel)?;
        let prepare = self.metrics.prepare_time.start_timer();
        let expr = preprocess::prepare(expr, ts, ts, 0);
        let mut ev = self.evaluator(q, &expr, ts, ts, 0, cancel)?;
        drop(prepare);
        ev.query = query.to_owned();
        let eval = self.metrics.inner_eval.start_timer();
        let value = ev.eval(&expr, ts);
        drop(eval);
        let value = match value? {
            Val::Scalar(v) => Value::Scalar { t: ts, v },
            Val::String(v) => Value::String { t: ts, v },
            Val::Vector(mut v) => {
                cleanup_names(&mut v);
                if has_duplicate_labels(&v) {
                    return Err(EvalError::exec(
                        "vector cannot contain metrics with the same labelset",
                    ));
                }
                for s in &mut v {
                    s.t = ts;
                }
                Value::Vector(v)
            }
            Val::Matrix(m) => Value::Matrix(finish_matrix(m)?),
        };
        Ok(QueryResult {
            value,
            annotations: ev.annotations,
            query: query.to_owned(),
        })
    }

    /// Evaluates a parsed expression from `start` to `end` every `step`.
    ///
    /// # Errors
    /// As [`Engine::range_query`].
    #[allow(clippy::too_many_arguments)]
    pub fn range_query_expr(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        cancel: Option<&AtomicBool>,
    ) -> Result<QueryResult, EvalError> {
        self.run_range(q, expr, query, (start, end, step), cancel, true)
    }

    /// Evaluates a range query node at a time when `node_at_a_time` is set and the
    /// expression allows it, else (or on fallback) step by step.
    fn run_range(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        query: &str,
        (start, end, step): (i64, i64, i64),
        cancel: Option<&AtomicBool>,
        node_at_a_time: bool,
    ) -> Result<QueryResult, EvalError> {
        validate_range(expr, start, end, step)?;
        let _in_flight = metrics::InFlight::new(&self.metrics.queries);
        let _turn = self.turn(cancel)?;
        let prepare = self.metrics.prepare_time.start_timer();
        let expr = preprocess::prepare(expr, start, end, step);
        let mut ev = self.evaluator(q, &expr, start, end, step, cancel)?;
        drop(prepare);
        ev.query = query.to_owned();
        let eval = self.metrics.inner_eval.start_timer();
        let mut result = self.eval_range(ev, &expr, query, node_at_a_time);
        drop(eval);
        if let Ok(QueryResult {
            value: Value::Matrix(m),
            ..
        }) = &mut result
        {
            // Already in label order: a check in one pass, as Prometheus sorts here.
            let _sort = self.metrics.result_sort.start_timer();
            if !m.is_sorted_by(|a, b| a.labels <= b.labels) {
                m.sort_by(|a, b| a.labels.cmp(&b.labels));
            }
        }
        result
    }

    /// Evaluates a prepared range query (see [`Engine::run_range`]).
    fn eval_range(
        &self,
        mut ev: Evaluator<'_>,
        expr: &Expr,
        query: &str,
        node_at_a_time: bool,
    ) -> Result<QueryResult, EvalError> {
        if !node_at_a_time {
            return step_by_step(ev, expr, query);
        }
        if let Some(out) = ev.range_result(expr)? {
            return Ok(QueryResult {
                value: Value::Matrix(out),
                annotations: ev.annotations,
                query: query.to_owned(),
            });
        }
        // Step by step over the series already loaded (they do not depend on how the
        // query is evaluated); everything else starts afresh.
        ev.annotations.clear();
        ev.cursors.clear();
        ev.subquery_cache.clear();
        (ev.current_samples, ev.result_samples, ev.step_peak) = (0, 0, 0);
        ev.range_held = 0;
        step_by_step(ev, expr, query)
    }

    /// Evaluates a range query step by step: the whole expression once per step. This is
    /// the reference that the faster node-at-a-time evaluation falls back to (for errors,
    /// histograms and the rarer expressions), public for comparisons in tests.
    ///
    /// # Errors
    /// As [`Engine::range_query`].
    #[allow(clippy::too_many_arguments)]
    pub fn range_query_step_by_step(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        cancel: Option<&AtomicBool>,
    ) -> Result<QueryResult, EvalError> {
        self.run_range(q, expr, query, (start, end, step), cancel, false)
    }

    fn evaluator<'q>(
        &'q self,
        q: &dyn Queryable,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
        cancel: Option<&'q AtomicBool>,
    ) -> Result<Evaluator<'q>, EvalError> {
        let lookback = self.opts.lookback_delta.as_millis() as i64;
        let mut ranges = HashMap::new();
        selectors::collect_ranges(expr, start, end, lookback, &mut ranges);
        let mint = ranges.values().map(|r| r.0).min().unwrap_or(start);
        let maxt = ranges.values().map(|r| r.1).max().unwrap_or(end);
        let querier = q.querier(mint, maxt)?;
        let mut stats_selectors = std::collections::HashSet::new();
        selectors::collect_stats_selectors(expr, false, &mut stats_selectors);
        let deadline = (!self.opts.timeout.is_zero()).then(|| Instant::now() + self.opts.timeout);
        Ok(Evaluator {
            opts: &self.opts,
            querier,
            start,
            end,
            step,
            ranges,
            cache: HashMap::new(),
            info_cache: HashMap::new(),
            stats_selectors,
            query: String::new(),
            subquery_cache: HashMap::new(),
            annotations: Vec::new(),
            deadline,
            cancel,
            current_samples: 0,
            result_samples: 0,
            step_peak: 0,
            loaded_bytes: 0,
            range_held: 0,
            label_cache: HashMap::new(),
            cursors: HashMap::new(),
        })
    }
}

/// Evaluates a range query with `ev`: the whole expression once per step.
fn step_by_step(mut ev: Evaluator<'_>, expr: &Expr, query: &str) -> Result<QueryResult, EvalError> {
    let mut order: Vec<Labels> = Vec::new();
    let mut series: HashMap<Labels, Series> = HashMap::new();
    let mut t = ev.start;
    while t <= ev.end {
        ev.check()?;
        ev.current_samples = 0;
        let v = ev.eval(expr, t)?;
        let samples = match v {
            Val::Scalar(f) => vec![crate::value::Sample::float(Labels::empty(), t, f)],
            Val::Vector(mut v) => {
                ev.cleanup_names(&mut v);
                v
            }
            _ => Vec::new(),
        };
        ev.result_samples += samples.len();
        if ev.result_samples > ev.opts.max_samples {
            return Err(EvalError::TooManySamples("query execution"));
        }
        for s in samples {
            let entry = series.entry(s.labels.clone()).or_insert_with(|| {
                order.push(s.labels.clone());
                Series {
                    labels: s.labels.clone(),
                    ..Series::default()
                }
            });
            let last_t = entry
                .floats
                .last()
                .map(|p| p.t)
                .max(entry.histograms.last().map(|p| p.t));
            if last_t == Some(t) {
                return Err(EvalError::exec(
                    "vector cannot contain metrics with the same labelset",
                ));
            }
            match s.h {
                Some(h) => entry.histograms.push(HPoint { t, h }),
                None => entry.floats.push(FPoint::new(t, s.f)),
            }
        }
        t += ev.step;
    }
    let mut out: Vec<Series> = order
        .into_iter()
        .filter_map(|l| series.remove(&l))
        .collect();
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(QueryResult {
        value: Value::Matrix(out),
        annotations: ev.annotations,
        query: query.to_owned(),
    })
}

/// Checks a range query's parameters and expression type.
fn validate_range(expr: &Expr, start: i64, end: i64, step: i64) -> Result<(), EvalError> {
    if step <= 0 {
        return Err(EvalError::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".to_owned(),
            ));
    }
    if end < start {
        return Err(EvalError::BadData(
            "end timestamp must not be before start time".to_owned(),
        ));
    }
    let vt = expr.value_type();
    if vt != ValueType::Scalar && vt != ValueType::Vector {
        return Err(EvalError::BadData(format!(
            "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
            vt.documented()
        )));
    }
    Ok(())
}

/// Drops names marked for removal, merges series that now share labels (an error if they
/// overlap in time) and sorts by labels.
fn finish_matrix(m: Vec<Series>) -> Result<Vec<Series>, EvalError> {
    let mut out: Vec<Series> = Vec::with_capacity(m.len());
    let mut index: HashMap<Labels, usize> = HashMap::new();
    for mut s in m {
        if s.drop_name {
            s.labels = eval::drop_metadata(&s.labels);
            s.drop_name = false;
        }
        if let Some(&i) = index.get(&s.labels) {
            let target = &mut out[i];
            target.floats.extend(s.floats);
            target.histograms.extend(s.histograms);
            target.floats.sort_by_key(|p| p.t);
            target.histograms.sort_by_key(|p| p.t);
            if target.floats.windows(2).any(|w| w[0].t == w[1].t)
                || target.histograms.windows(2).any(|w| w[0].t == w[1].t)
            {
                return Err(EvalError::exec(
                    "vector cannot contain metrics with the same labelset",
                ));
            }
        } else {
            index.insert(s.labels.clone(), out.len());
            out.push(s);
        }
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(out)
}
