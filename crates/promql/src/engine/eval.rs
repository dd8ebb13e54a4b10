//! The evaluator: evaluates an expression at one timestamp (instant queries, and range
//! queries step by step or for the parts evaluated per step). Selectors read from series
//! loaded once per query.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use model::Labels;
use storage::Querier;

use super::EngineOptions;
use super::annotations::Annotation;
use super::error::EvalError;
use super::selectors::LoadedSeries;
use crate::ast::{Expr, UnaryOp};
use crate::value::{Sample, Series};

/// A value during evaluation at one timestamp.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    /// A scalar.
    Scalar(f64),
    /// An instant vector.
    Vector(Vec<Sample>),
    /// Range-vector windows at this step.
    Matrix(Vec<Series>),
    /// A string.
    String(String),
}

impl Val {
    pub(crate) fn into_vector(self) -> Vec<Sample> {
        match self {
            Val::Vector(v) => v,
            _ => Vec::new(),
        }
    }

    pub(crate) fn into_matrix(self) -> Vec<Series> {
        match self {
            Val::Matrix(m) => m,
            _ => Vec::new(),
        }
    }

    pub(crate) fn scalar(&self) -> f64 {
        match self {
            Val::Scalar(f) => *f,
            _ => f64::NAN,
        }
    }
}

/// State of one query's evaluation.
pub(crate) struct Evaluator<'q> {
    pub(crate) opts: &'q EngineOptions,
    pub(crate) querier: Box<dyn Querier>,
    /// Query start, end and step in milliseconds (step 0 for instant queries).
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) step: i64,
    /// Needed time range per selector, keyed by the selector's address.
    pub(crate) ranges: HashMap<usize, (i64, i64)>,
    pub(crate) cache: HashMap<usize, Rc<Vec<LoadedSeries>>>,
    pub(crate) stats_selectors: std::collections::HashSet<usize>,
    /// Inner values of subqueries by subquery address and time (see `subquery`).
    pub(crate) subquery_cache: HashMap<usize, std::collections::BTreeMap<i64, Val>>,
    /// The query text (for messages quoting it).
    pub(crate) query: String,
    pub(crate) info_cache: HashMap<usize, Rc<Vec<super::info::InfoSeries>>>,
    pub(crate) annotations: Vec<Annotation>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) cancel: Option<&'q AtomicBool>,
    /// Samples held by the step being evaluated (checked against `max_samples`).
    pub(crate) current_samples: usize,
    /// Samples held by the accumulated result of a range query.
    pub(crate) result_samples: usize,
    /// Label sets derived from a series' labels (grouping keys, matching signatures, names
    /// dropped), per call site for the whole query: computed once per series, not per step.
    pub(crate) label_cache: HashMap<usize, LabelCache>,
    /// Most samples a step-by-step part of a node-at-a-time range evaluation held at once.
    pub(crate) step_peak: usize,
    /// Bytes of the series loaded from storage (checked against `max_memory_bytes`).
    pub(crate) loaded_bytes: usize,
    /// Points of the all-steps values a node-at-a-time evaluation holds now.
    pub(crate) range_held: usize,
    /// Per range selector, where each loaded series' window was at the last step.
    pub(crate) cursors: HashMap<usize, Vec<(usize, usize)>>,
}

/// Derived label sets by the labels they were derived from.
pub(crate) type LabelMap = HashMap<Labels, Labels, foldhash::fast::RandomState>;

/// Derived label sets of one call site.
#[derive(Default)]
pub(crate) struct LabelCache {
    /// By the source labels.
    pub(crate) by_value: LabelMap,
    /// By the source's buffer (the series' own labels come back as clones of one buffer
    /// at every step, so they are found without reading them), with the source kept alive.
    pub(crate) by_id: HashMap<usize, (Labels, Labels), foldhash::fast::RandomState>,
}

/// Positions by label set.
pub(crate) type LabelIndex = HashMap<Labels, usize, foldhash::fast::RandomState>;

/// Bytes one sample held during evaluation takes (labels shared, counted once per series).
pub(crate) const SAMPLE_BYTES: usize = size_of::<Sample>();

/// The [`Evaluator::label_cache`] site of names dropped from results.
const DROP_NAME_SITE: usize = 1;

impl Evaluator<'_> {
    pub(crate) fn lookback(&self) -> i64 {
        self.opts.lookback_delta.as_millis() as i64
    }

    /// The source text of `e` in the query, when it can be found.
    pub(crate) fn source_text(&self, e: &Expr) -> Option<&str> {
        let p = e.pos();
        self.query.get(p.start..p.end).filter(|s| !s.is_empty())
    }

    /// Records an annotation once.
    pub(crate) fn annotate(&mut self, a: Annotation) {
        if !self.annotations.contains(&a) {
            self.annotations.push(a);
        }
    }

    /// Fails on timeout or cancellation.
    pub(crate) fn check(&self) -> Result<(), EvalError> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(EvalError::Canceled("expression evaluation"));
        }
        if self.deadline.is_some_and(|d| Instant::now() > d) {
            return Err(EvalError::Timeout("expression evaluation"));
        }
        Ok(())
    }

    /// `derive(l)`, remembered for the query under `site` (an expression's address, or a
    /// constant below any address): `derive` must depend on `l` alone.
    pub(crate) fn derived_labels(
        &mut self,
        site: usize,
        l: &Labels,
        derive: impl FnOnce(&Labels) -> Labels,
    ) -> Labels {
        let m = self.label_cache.entry(site).or_default();
        if let Some((_, v)) = m.by_id.get(&l.buffer_id()) {
            return v.clone();
        }
        let v = if let Some(v) = m.by_value.get(l) {
            v.clone()
        } else {
            let v = derive(l);
            m.by_value.insert(l.clone(), v.clone());
            v
        };
        // Label sets built anew at every step would only fill the map by buffer.
        if m.by_id.len() >= 4 * m.by_value.len() + 1024 {
            m.by_id.clear();
        }
        m.by_id.insert(l.buffer_id(), (l.clone(), v.clone()));
        v
    }

    /// Removes the metadata labels from samples marked `drop_name`, as [`cleanup_names`]
    /// does, remembering the result per series.
    pub(crate) fn cleanup_names(&mut self, v: &mut [Sample]) {
        for s in v {
            if s.drop_name {
                s.labels = self.derived_labels(DROP_NAME_SITE, &s.labels, drop_metadata);
                s.drop_name = false;
            }
        }
    }

    /// Counts `n` more samples in memory; fails past the sample limit or the byte budget.
    pub(crate) fn add_samples(&mut self, n: usize) -> Result<(), EvalError> {
        self.current_samples = self.current_samples.saturating_add(n);
        let held = self.current_samples.saturating_add(self.result_samples);
        if held > self.opts.max_samples {
            return Err(EvalError::TooManySamples("query execution"));
        }
        let bytes = held
            .saturating_mul(SAMPLE_BYTES)
            .saturating_add(self.loaded_bytes);
        self.check_bytes(bytes)
    }

    /// Counts the samples of an operator's result (a `group_left` join can hold more than
    /// its operands), as Prometheus counts every node's output.
    fn count_output(&mut self, v: Val) -> Result<Val, EvalError> {
        if let Val::Vector(s) = &v {
            self.add_samples(s.len())?;
        }
        Ok(v)
    }

    /// Fails when `bytes` exceed the query's memory budget.
    pub(crate) fn check_bytes(&self, bytes: usize) -> Result<(), EvalError> {
        let limit = self.opts.max_memory_bytes;
        if limit > 0 && bytes > limit {
            return Err(EvalError::TooMuchMemory(limit));
        }
        Ok(())
    }

    /// Evaluates `e` at `ts`.
    pub(crate) fn eval(&mut self, e: &Expr, ts: i64) -> Result<Val, EvalError> {
        match e {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(n.value)),
            Expr::StringLiteral(s) => Ok(Val::String(s.value.clone())),
            Expr::Paren(p) => self.eval(&p.expr, ts),
            Expr::StepInvariant(s) => self.eval(&s.expr, ts),
            Expr::Unary(u) => {
                let v = self.eval(&u.expr, ts)?;
                if u.op == UnaryOp::Add {
                    return Ok(v);
                }
                Ok(match v {
                    Val::Scalar(f) => Val::Scalar(-f),
                    Val::Vector(mut vec) => {
                        for s in &mut vec {
                            s.f = -s.f;
                            if let Some(h) = &s.h {
                                s.h = Some(std::sync::Arc::new(super::histo::scale(h, -1.0)));
                            }
                            s.drop_name = true;
                        }
                        Val::Vector(vec)
                    }
                    other => other,
                })
            }
            Expr::VectorSelector(vs) => {
                let v = self.vector_selector(vs, ts, false)?;
                self.add_samples(v.len())?;
                Ok(Val::Vector(v))
            }
            Expr::MatrixSelector(ms) => Ok(Val::Matrix(self.matrix_selector_value(ms, ts)?)),
            Expr::Subquery(sq) => Ok(Val::Matrix(self.subquery(sq, ts)?)),
            Expr::Binary(b) => {
                let lhs = self.eval(&b.lhs, ts)?;
                // `and`/`unless` with an empty left side need not evaluate the right side, but
                // Prometheus evaluates both; so do we (annotations from both sides count).
                let rhs = self.eval(&b.rhs, ts)?;
                let v = self.binary(b, lhs, rhs)?;
                self.count_output(v)
            }
            Expr::Aggregate(a) => {
                let v = self.aggregate(a, ts)?;
                self.count_output(v)
            }
            Expr::Call(c) => self.call(c, ts),
        }
    }
}

/// The labels without the metadata labels (`__name__`, `__type__`, `__unit__`), which go
/// when an operation changes what a series means.
pub(crate) fn drop_metadata(l: &Labels) -> Labels {
    if !l.has(model::METRIC_NAME) && !l.has("__type__") && !l.has("__unit__") {
        return l.clone();
    }
    let mut b = l.builder();
    b.retain(|n| !matches!(n, "__name__" | "__type__" | "__unit__"));
    b.labels()
}

/// Removes the metadata labels from samples marked `drop_name`.
pub(crate) fn cleanup_names(v: &mut [Sample]) {
    for s in v {
        if s.drop_name {
            s.labels = drop_metadata(&s.labels);
            s.drop_name = false;
        }
    }
}

/// Whether two samples of `v` have the same labels.
pub(crate) fn has_duplicate_labels(v: &[Sample]) -> bool {
    if v.len() < 2 {
        return false;
    }
    let mut seen = std::collections::HashSet::with_capacity(v.len());
    v.iter().any(|s| !seen.insert(&s.labels))
}

/// Labels for `absent()` / `absent_over_time()` from the argument's equality matchers.
pub(crate) fn absent_labels(e: &Expr) -> Labels {
    let matchers = match e.unwrap_parens() {
        Expr::VectorSelector(vs) => &vs.matchers,
        Expr::MatrixSelector(ms) => &ms.vector_selector.matchers,
        _ => return Labels::empty(),
    };
    let mut b = Labels::empty().builder();
    let mut has: Vec<&str> = Vec::new();
    for m in matchers {
        if m.name == model::METRIC_NAME {
            continue;
        }
        if m.op == model::MatchOp::Equal && !has.contains(&m.name.as_str()) {
            b.set(&m.name, &m.value);
            has.push(&m.name);
        } else {
            b.del(&m.name);
        }
    }
    b.labels()
}
