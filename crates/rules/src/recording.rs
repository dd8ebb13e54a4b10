//! Recording rules: evaluate an expression and store its result under a new metric name.

use std::collections::{BTreeMap, HashSet};

use model::{Labels, Sample};
use promql::ast::Expr;

use crate::error::EvalError;
use crate::rule::{EvalContext, Status, apply_labels};

/// A recording rule (`record: NAME`).
#[derive(Debug, Clone)]
pub(crate) struct RecordingRule {
    pub name: String,
    pub expr: Expr,
    /// The expression as Prometheus prints it.
    pub query: String,
    /// Group labels overridden by the rule's labels.
    pub labels: BTreeMap<String, String>,
    pub status: Status,
}

impl RecordingRule {
    /// Evaluates at `ts` (ms, the query offset already applied): the samples to append.
    pub(crate) fn eval(
        &self,
        ctx: &EvalContext,
        ts: i64,
        limit: usize,
    ) -> Result<Vec<(Labels, Sample)>, EvalError> {
        let vector = ctx.query(&self.expr, &self.query, ts)?;
        let mut out = Vec::with_capacity(vector.len());
        let mut seen = HashSet::with_capacity(vector.len());
        for s in vector {
            let mut l = s.labels.builder();
            l.set(model::METRIC_NAME, &self.name);
            let l = apply_labels(
                &l.labels(),
                self.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
            if !seen.insert(l.clone()) {
                return Err(EvalError::DuplicateRecording);
            }
            out.push((
                l,
                match s.h {
                    Some(h) => Sample::FloatHistogram(h),
                    None => Sample::Float(s.f),
                },
            ));
        }
        if limit > 0 && out.len() > limit {
            return Err(EvalError::SeriesLimit {
                limit,
                count: out.len(),
            });
        }
        Ok(out)
    }
}
