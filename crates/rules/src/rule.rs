//! What recording and alerting rules share: health, last error, evaluation timing, and the
//! query function rules evaluate through.

use std::sync::Arc;
use std::time::Duration;

use model::Labels;
use promql::ast::Expr;
use promql::{Engine, Value};
use storage::Queryable;

use crate::error::EvalError;
use crate::template::{QueryFn, QuerySample};

/// A rule's health after its last evaluation (`health` in `/api/v1/rules`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Health {
    /// Not evaluated yet.
    #[default]
    Unknown,
    /// The last evaluation succeeded.
    Good,
    /// The last evaluation failed.
    Bad,
}

impl Health {
    /// Prometheus's name: `unknown`, `ok` or `err`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Good => "ok",
            Health::Bad => "err",
        }
    }
}

/// Health, last error and timing of one rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Status {
    pub health: Health,
    pub last_error: Option<String>,
    /// Timestamp (ms) of the last evaluation.
    pub last_eval: Option<i64>,
    pub eval_duration: Duration,
}

impl Status {
    pub(crate) fn record(&mut self, result: Result<(), &EvalError>) {
        match result {
            Ok(()) => {
                self.health = Health::Good;
                self.last_error = None;
            }
            Err(e) => {
                self.health = Health::Bad;
                self.last_error = Some(e.to_string());
            }
        }
    }
}

/// Everything a rule's evaluation reads: the engine, the storage, external labels and URL.
pub(crate) struct EvalContext {
    pub engine: Engine,
    pub queryable: Arc<dyn Queryable>,
    pub external_labels: Labels,
    pub external_url: String,
}

impl EvalContext {
    /// Runs `expr` at `ts` (ms) as a rule does: a vector, or a scalar as one sample without
    /// labels.
    pub(crate) fn query(
        &self,
        expr: &Expr,
        text: &str,
        ts: i64,
    ) -> Result<Vec<promql::Sample>, EvalError> {
        run_query(&self.engine, self.queryable.as_ref(), expr, text, ts)
    }

    /// The `query` template function over this context's engine and storage.
    pub(crate) fn query_fn(&self) -> QueryFn {
        let engine = self.engine.clone();
        let queryable = self.queryable.clone();
        Arc::new(move |q: &str, ts: i64| {
            let expr = promql::parser::parse(q).map_err(|e| e.to_string())?;
            let v =
                run_query(&engine, queryable.as_ref(), &expr, q, ts).map_err(|e| e.to_string())?;
            Ok(v.into_iter()
                .map(|s| QuerySample {
                    labels: s.labels,
                    value: s.f,
                })
                .collect())
        })
    }
}

fn run_query(
    engine: &Engine,
    queryable: &dyn Queryable,
    expr: &Expr,
    text: &str,
    ts: i64,
) -> Result<Vec<promql::Sample>, EvalError> {
    let res = engine
        .instant_query_expr(queryable, expr, text, ts, None)
        .map_err(|e| EvalError::Query(e.to_string()))?;
    match res.value {
        Value::Vector(v) => Ok(v),
        Value::Scalar { t, v } => Ok(vec![promql::Sample::float(Labels::empty(), t, v)]),
        _ => Err(EvalError::NotVector),
    }
}

/// Applies `(name, value)` pairs to `base`: set, or delete when the value is empty.
pub(crate) fn apply_labels<'a>(
    base: &Labels,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Labels {
    let mut b = base.builder();
    for (k, v) in pairs {
        if v.is_empty() {
            b.del(k);
        } else {
            b.set(k, v);
        }
    }
    b.labels()
}
