//! Range queries evaluated a node at a time: every selector, function, aggregation and
//! operator computes its value for all steps at once (one series across all steps), as
//! Prometheus's own range evaluation does, instead of evaluating the whole expression once
//! per step.
//!
//! Selectors, range functions over range selectors, the common aggregations and the
//! arithmetic and comparison operators have their own all-steps code; other expressions are
//! evaluated step by step by the instant evaluator on their operands' all-steps values.
//! Whenever a case would need an error, a histogram or anything not handled here exactly,
//! evaluation gives up ([`Bail::Fallback`]) and the query is evaluated step by step, which is
//! the reference: this path only ever gives the step-by-step answer faster.

mod agg;
mod binop;
mod select;
mod subquery;

use std::collections::HashMap;

use model::Labels;

use super::error::EvalError;
use super::eval::{Evaluator, Val, drop_metadata};
use crate::ast::{Expr, UnaryOp};
use crate::kernels::FPoint;
use crate::value::{Sample, Series};

/// One series of an all-steps value: a float (or nothing) at every step.
#[derive(Debug, Clone)]
pub(crate) struct RSeries {
    pub(crate) labels: Labels,
    /// The metric name is to be dropped at the end (delayed name removal).
    pub(crate) drop_name: bool,
    /// The value at each step (meaningless where not `present`).
    pub(crate) vals: Vec<f64>,
    /// Whether the series has a value at each step.
    pub(crate) present: Vec<bool>,
}

impl RSeries {
    /// A series with no value at any of `n` steps.
    pub(crate) fn empty(labels: Labels, drop_name: bool, n: usize) -> Self {
        Self {
            labels,
            drop_name,
            vals: vec![0.0; n],
            present: vec![false; n],
        }
    }

    /// Sets the value at step `i`.
    pub(crate) fn set(&mut self, i: usize, v: f64) {
        self.vals[i] = v;
        self.present[i] = true;
    }

    /// Whether the series has a value at some step.
    pub(crate) fn any(&self) -> bool {
        self.present.iter().any(|&p| p)
    }

    fn points(&self) -> usize {
        self.present.iter().filter(|&&p| p).count()
    }
}

/// The value of an expression at all steps of a range query.
#[derive(Debug, Clone)]
pub(crate) enum RVal {
    /// A scalar per step.
    Scalar(Vec<f64>),
    /// An instant vector per step, as series across the steps.
    Vector(Vec<RSeries>),
    /// A string (the same at every step).
    String(String),
}

/// Why all-steps evaluation stopped.
pub(crate) enum Bail {
    /// The expression needs step-by-step evaluation for an exact answer.
    Fallback,
    /// An error that step-by-step evaluation would meet too (timeout, cancellation, storage).
    Fatal(EvalError),
}

impl From<EvalError> for Bail {
    fn from(e: EvalError) -> Self {
        match e {
            // Series loaded stay loaded for step by step: over the byte budget it fails too.
            EvalError::Timeout(_)
            | EvalError::Canceled(_)
            | EvalError::Storage(_)
            | EvalError::TooMuchMemory(_) => Bail::Fatal(e),
            // Errors are reported as step-by-step evaluation reports them (which step and
            // which operand fails first).
            _ => Bail::Fallback,
        }
    }
}

pub(crate) type RResult<T> = Result<T, Bail>;

/// Bytes per step of an all-steps series (value and presence).
pub(crate) const RANGE_POINT_BYTES: usize = size_of::<f64>() + size_of::<bool>();

impl Evaluator<'_> {
    /// Number of steps of the range query.
    pub(crate) fn steps(&self) -> usize {
        usize::try_from((self.end - self.start) / self.step + 1).unwrap_or(0)
    }

    /// The time of step `i`.
    pub(crate) fn step_ts(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    /// Counts `series` more all-steps series about to be allocated (before allocating them);
    /// falls back to step by step, which holds one step at a time, when the values held
    /// would pass the sample limit or the byte budget.
    pub(crate) fn range_reserve(&mut self, series: usize) -> RResult<()> {
        self.range_reserve_bytes(series)?;
        if self.range_held > self.opts.max_samples {
            return Err(Bail::Fallback);
        }
        Ok(())
    }

    /// Counts `series` more all-steps series about to be allocated against the byte budget
    /// alone (see [`Evaluator::range_reserve`]).
    pub(crate) fn range_reserve_bytes(&mut self, series: usize) -> RResult<()> {
        let points = series.saturating_mul(self.steps());
        self.range_held = self.range_held.saturating_add(points);
        let bytes = self
            .range_held
            .saturating_mul(RANGE_POINT_BYTES)
            .saturating_add(self.loaded_bytes);
        let limit = self.opts.max_memory_bytes;
        if limit > 0 && bytes > limit {
            return Err(Bail::Fallback);
        }
        Ok(())
    }

    /// Evaluates `e` at every step of the range query. What its operands held is released
    /// when it returns: only its own value stays counted in [`Evaluator::range_held`].
    pub(crate) fn eval_range(&mut self, e: &Expr) -> RResult<RVal> {
        let held = self.range_held;
        let v = self.eval_range_node(e)?;
        let own = match &v {
            RVal::Scalar(s) => s.len(),
            RVal::Vector(v) => v.len().saturating_mul(self.steps()),
            RVal::String(_) => 0,
        };
        self.range_held = held.saturating_add(own);
        Ok(v)
    }

    fn eval_range_node(&mut self, e: &Expr) -> RResult<RVal> {
        self.check()?;
        let v = match e {
            Expr::NumberLiteral(n) => RVal::Scalar(vec![n.value; self.steps()]),
            Expr::StringLiteral(s) => RVal::String(s.value.clone()),
            Expr::Paren(p) => self.eval_range(&p.expr)?,
            Expr::Unary(u) => match self.eval_range(&u.expr)? {
                v if u.op == UnaryOp::Add => v,
                RVal::Scalar(mut s) => {
                    s.iter_mut().for_each(|f| *f = -*f);
                    RVal::Scalar(s)
                }
                RVal::Vector(mut v) => {
                    for s in &mut v {
                        s.vals.iter_mut().for_each(|f| *f = -*f);
                        s.drop_name = true;
                    }
                    RVal::Vector(v)
                }
                RVal::String(_) => return Err(Bail::Fallback),
            },
            Expr::VectorSelector(vs) if !vs.smoothed => self.range_vector_selector(vs)?,
            Expr::Call(c) => self.range_call(e, c)?,
            Expr::Aggregate(a) => self.range_aggregate(e, a)?,
            Expr::Binary(b) => self.range_binary(b)?,
            _ => self.per_step(e)?,
        };
        if let RVal::Vector(v) = &v {
            let n: usize = v.iter().map(RSeries::points).sum();
            if n > self.opts.max_samples {
                // Step by step holds one step at a time: it decides.
                return Err(Bail::Fallback);
            }
        }
        Ok(v)
    }

    /// Evaluates `e` step by step with the instant evaluator.
    pub(crate) fn per_step(&mut self, e: &Expr) -> RResult<RVal> {
        let mut c = Collector::new(self.steps());
        for i in 0..self.steps() {
            self.check()?;
            self.current_samples = 0;
            let v = self.eval(e, self.step_ts(i))?;
            self.step_peak = self.step_peak.max(self.current_samples);
            let before = c.series.len();
            c.add(i, v)?;
            self.range_reserve(c.series.len() - before)?;
        }
        Ok(c.finish())
    }

    /// Applies `op` at every step to the step's values of `args` (evaluated at all steps).
    pub(crate) fn apply_per_step(
        &mut self,
        args: &[RVal],
        mut op: impl FnMut(&mut Self, Vec<Val>, i64) -> Result<Val, EvalError>,
    ) -> RResult<RVal> {
        let mut c = Collector::new(self.steps());
        for i in 0..self.steps() {
            self.check()?;
            self.current_samples = 0;
            let ts = self.step_ts(i);
            let vals = args.iter().map(|a| at_step(a, i, ts)).collect();
            let v = op(self, vals, ts)?;
            self.step_peak = self.step_peak.max(self.current_samples);
            let before = c.series.len();
            c.add(i, v)?;
            self.range_reserve(c.series.len() - before)?;
        }
        Ok(c.finish())
    }

    /// Evaluates a range query a node at a time; `Ok(None)` when it must be evaluated step by
    /// step instead.
    pub(crate) fn range_result(&mut self, e: &Expr) -> Result<Option<Vec<Series>>, EvalError> {
        match self.eval_range(e) {
            Ok(v) => Ok(self.assemble(v)),
            Err(Bail::Fallback) => Ok(None),
            Err(Bail::Fatal(e)) => Err(e),
        }
    }

    /// The query result: names dropped where marked, series with equal labels merged (none
    /// for an overlap: step by step reports that), sorted by labels.
    fn assemble(&self, v: RVal) -> Option<Vec<Series>> {
        let series = match v {
            RVal::Scalar(s) => vec![RSeries {
                labels: Labels::empty(),
                drop_name: false,
                present: vec![true; s.len()],
                vals: s,
            }],
            RVal::Vector(v) => v,
            RVal::String(_) => return None,
        };
        let mut merged: Vec<RSeries> = Vec::with_capacity(series.len());
        let mut index: HashMap<Labels, usize> = HashMap::with_capacity(series.len());
        for mut s in series {
            if !s.any() {
                continue;
            }
            if s.drop_name {
                s.labels = drop_metadata(&s.labels);
                s.drop_name = false;
            }
            if let Some(&j) = index.get(&s.labels) {
                let into = &mut merged[j];
                for i in 0..s.present.len() {
                    if s.present[i] {
                        if into.present[i] {
                            return None;
                        }
                        into.set(i, s.vals[i]);
                    }
                }
            } else {
                index.insert(s.labels.clone(), merged.len());
                merged.push(s);
            }
        }
        // Step by step counts the result so far and what one step holds, which is at most
        // the samples loaded for the selectors (or held by a step-by-step part): within the
        // limit it cannot have failed; otherwise it decides.
        let total: usize = merged.iter().map(RSeries::points).sum();
        let loaded: usize = self
            .cache
            .values()
            .flat_map(|v| v.iter())
            .map(|s| s.floats.len() + s.hists.len())
            .sum();
        if total + loaded + self.step_peak > self.opts.max_samples {
            return None;
        }
        let mut out: Vec<Series> = merged
            .into_iter()
            .map(|s| Series {
                floats: (0..s.present.len())
                    .filter(|&i| s.present[i])
                    .map(|i| FPoint::new(self.step_ts(i), s.vals[i]))
                    .collect(),
                labels: s.labels,
                histograms: Vec::new(),
                drop_name: false,
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Some(out)
    }
}

/// The instant value of an all-steps value at step `i` (time `ts`).
pub(crate) fn at_step(v: &RVal, i: usize, ts: i64) -> Val {
    match v {
        RVal::Scalar(s) => Val::Scalar(s[i]),
        RVal::String(s) => Val::String(s.clone()),
        RVal::Vector(v) => Val::Vector(
            v.iter()
                .filter(|s| s.present[i])
                .map(|s| Sample {
                    labels: s.labels.clone(),
                    t: ts,
                    f: s.vals[i],
                    h: None,
                    drop_name: s.drop_name,
                })
                .collect(),
        ),
    }
}

/// Gathers instant values, step after step, into an all-steps value.
struct Collector {
    n: usize,
    series: Vec<RSeries>,
    /// Series by labels and name dropping (several when a step holds equal ones).
    index: HashMap<(Labels, bool), Vec<usize>, foldhash::fast::RandomState>,
    scalar: Option<Vec<f64>>,
    string: Option<String>,
}

impl Collector {
    fn new(n: usize) -> Self {
        Self {
            n,
            series: Vec::new(),
            index: HashMap::default(),
            scalar: None,
            string: None,
        }
    }

    fn add(&mut self, i: usize, v: Val) -> RResult<()> {
        match v {
            Val::Scalar(f) => self.scalar.get_or_insert_with(|| vec![0.0; self.n])[i] = f,
            Val::String(s) => self.string = Some(s),
            Val::Vector(samples) => {
                for s in samples {
                    if s.h.is_some() {
                        return Err(Bail::Fallback);
                    }
                    let (series, n) = (&mut self.series, self.n);
                    let slots = self
                        .index
                        .entry((s.labels.clone(), s.drop_name))
                        .or_default();
                    let j = if let Some(j) = slots.iter().copied().find(|&j| !series[j].present[i])
                    {
                        j
                    } else {
                        series.push(RSeries::empty(s.labels, s.drop_name, n));
                        slots.push(series.len() - 1);
                        series.len() - 1
                    };
                    self.series[j].set(i, s.f);
                }
            }
            Val::Matrix(_) => return Err(Bail::Fallback),
        }
        Ok(())
    }

    fn finish(self) -> RVal {
        if let Some(s) = self.string {
            return RVal::String(s);
        }
        match self.scalar {
            Some(s) if self.series.is_empty() => RVal::Scalar(s),
            _ => RVal::Vector(self.series),
        }
    }
}

#[cfg(test)]
mod tests {
    use model::{Histogram, Labels, Sample};
    use storage::Appendable;
    use storage::memory::MemoryStorage;

    use crate::engine::{Engine, preprocess};

    fn storage() -> MemoryStorage {
        let st = MemoryStorage::new();
        let mut app = st.appender();
        for i in 0..20 {
            let inst = format!("h{i}");
            for (name, code) in [("req_total", "200"), ("req_total", "500"), ("mem", "")] {
                let l = Labels::from_pairs([
                    ("__name__", name),
                    ("instance", inst.as_str()),
                    ("job", if i % 2 == 0 { "a" } else { "b" }),
                    ("code", code),
                ]);
                for s in 0..100 {
                    let v = (s * (i + 1)) as f64;
                    app.append(0, &l, s * 15_000 + 7, Sample::Float(v)).unwrap();
                }
            }
        }
        let h = Labels::from_pairs([("__name__", "hist")]);
        app.append(0, &h, 0, Sample::Histogram(Histogram::default().into()))
            .unwrap();
        app.commit().unwrap();
        st
    }

    /// Whether a range query is answered without falling back to step by step.
    fn node_at_a_time(st: &MemoryStorage, q: &str) -> bool {
        let e = Engine::default();
        let expr = crate::parser::parse(q).unwrap();
        let (start, end, step) = (300_000, 1_400_000, 30_000);
        let expr = preprocess::prepare(&expr, start, end, step);
        let mut ev = e.evaluator(st, &expr, start, end, step, None).unwrap();
        ev.range_result(&expr).unwrap().is_some()
    }

    #[test]
    fn dashboard_queries_take_the_fast_path() {
        let st = storage();
        for q in [
            "sum by (job) (rate(req_total[2m]))",
            "sum by (job) (rate(req_total{code=~\"5..\"}[5m])) / sum by (job) (rate(req_total[5m]))",
            "topk(5, sum by (instance) (rate(req_total[5m])))",
            "avg_over_time(mem[10m])",
            "1 - mem / on(instance, job) mem",
            "count by (job) (mem > 100)",
            "quantile_over_time(0.9, mem[10m])",
            "max_over_time(sum by (job) (rate(req_total[2m]))[30m:1m])",
            "sum by (instance) (rate(req_total[2m])) / on(instance) group_left count by (instance) (mem)",
            "histogram_quantile(0.9, sum by (le) (rate(req_total[5m])))",
            "bottomk(3, avg by (instance) (mem))",
        ] {
            assert!(node_at_a_time(&st, q), "{q} fell back");
        }
    }

    /// A vector selector whose series are decoded one at a time answers at all steps even
    /// when its samples in range are more than the sample limit (only the points at the
    /// steps count, as in Prometheus), as step by step does.
    #[test]
    fn selectors_with_more_samples_than_the_limit_stay_node_at_a_time() {
        let st = storage();
        let (start, end, step) = (300_000, 1_400_000, 100_000);
        // 40 counters at 12 steps hold 480 points; their samples in range are about 3,800.
        let e = Engine::new(crate::engine::EngineOptions {
            max_samples: 1_000,
            ..crate::engine::EngineOptions::default()
        });
        for q in ["count(req_total)", "sum by (job) (mem)", "req_total"] {
            let expr = crate::parser::parse(q).unwrap();
            let prepared = preprocess::prepare(&expr, start, end, step);
            let mut ev = e.evaluator(&st, &prepared, start, end, step, None).unwrap();
            let fast = ev.range_result(&prepared).unwrap();
            assert!(fast.is_some(), "{q} fell back");
            let reference = e
                .range_query_step_by_step(&st, &expr, q, start, end, step, None)
                .unwrap();
            let crate::value::Value::Matrix(reference) = reference.value else {
                panic!("{q}: not a matrix")
            };
            assert_eq!(
                format!("{:?}", fast.unwrap()),
                format!("{reference:?}"),
                "{q}"
            );
        }
    }

    #[test]
    fn histograms_and_errors_fall_back() {
        let st = storage();
        for q in [
            "hist",
            "sum(rate(hist[5m]))",
            "mem + on(job) mem",
            "topk(0 / 0, mem)",
        ] {
            assert!(!node_at_a_time(&st, q), "{q} did not fall back");
        }
    }
}
