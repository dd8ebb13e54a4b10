//! Binary operators: scalar/scalar, vector/scalar and vector/vector with label matching
//! (`on`, `ignoring`, `group_left`/`group_right`, `fill`), `bool`, and the set operators.

use std::collections::HashMap;
use std::sync::Arc;

use model::{Labels, METRIC_NAME};

use super::annotations;
use super::error::EvalError;
use super::eval::{Evaluator, Val};
use super::histo;
use crate::ast::{BinaryExpr, BinaryOp, VectorMatchCardinality as Card, VectorMatching};
use crate::value::Sample;

/// `lhs op rhs` for two floats; comparisons give 1 or 0.
#[must_use]
pub fn scalar_binop(op: BinaryOp, l: f64, r: f64) -> f64 {
    let b = |c: bool| if c { 1.0 } else { 0.0 };
    match op {
        BinaryOp::Add => l + r,
        BinaryOp::Sub => l - r,
        BinaryOp::Mul => l * r,
        BinaryOp::Div => l / r,
        BinaryOp::Pow => l.powf(r),
        BinaryOp::Mod => l % r,
        BinaryOp::Atan2 => l.atan2(r),
        BinaryOp::Eql => b(l == r),
        BinaryOp::Neq => b(l != r),
        BinaryOp::Gtr => b(l > r),
        BinaryOp::Lss => b(l < r),
        BinaryOp::Gte => b(l >= r),
        BinaryOp::Lte => b(l <= r),
        _ => f64::NAN,
    }
}

/// Whether the operator changes what the metric means (arithmetic), so the name goes.
pub(crate) fn changes_schema(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Pow
            | BinaryOp::Mod
            | BinaryOp::Atan2
    )
}

/// Result of one element operation: value, histogram, and whether to keep it.
pub(crate) type ElemResult = Option<(f64, Option<Arc<model::FloatHistogram>>, bool)>;

/// One element operation; `None` when the sample types cannot be combined.
pub(crate) fn elem_binop(
    op: BinaryOp,
    l: f64,
    r: f64,
    hl: Option<&Arc<model::FloatHistogram>>,
    hr: Option<&Arc<model::FloatHistogram>>,
) -> ElemResult {
    match (hl, hr) {
        (None, None) => {
            if matches!(op, BinaryOp::TrimUpper | BinaryOp::TrimLower) {
                None
            } else if op.is_comparison() {
                Some((l, None, scalar_binop(op, l, r) == 1.0))
            } else {
                Some((scalar_binop(op, l, r), None, true))
            }
        }
        (Some(a), Some(b)) => match op {
            BinaryOp::Add => histo::combine(a, b, false).map(|h| (0.0, Some(Arc::new(h)), true)),
            BinaryOp::Sub => histo::combine(a, b, true).map(|mut h| {
                h.counter_reset_hint = model::histogram::CounterResetHint::Gauge;
                (0.0, Some(Arc::new(h)), true)
            }),
            BinaryOp::Eql => Some((0.0, Some(Arc::clone(a)), a == b)),
            BinaryOp::Neq => Some((0.0, Some(Arc::clone(a)), a != b)),
            _ => None,
        },
        (Some(a), None) => match op {
            BinaryOp::TrimUpper => Some((
                0.0,
                Some(Arc::new(super::hist_quantile::trim(a, r, true))),
                true,
            )),
            BinaryOp::TrimLower => Some((
                0.0,
                Some(Arc::new(super::hist_quantile::trim(a, r, false))),
                true,
            )),
            BinaryOp::Mul => Some((0.0, Some(Arc::new(histo::scale(a, r))), true)),
            BinaryOp::Div => Some((0.0, Some(Arc::new(histo::div(a, r))), true)),
            _ => None,
        },
        (None, Some(b)) => match op {
            BinaryOp::Mul => Some((0.0, Some(Arc::new(histo::scale(b, l))), true)),
            _ => None,
        },
    }
}

fn type_name(h: bool) -> &'static str {
    if h { "histogram" } else { "float" }
}

/// The labels two series are matched on.
pub(crate) fn signature(l: &Labels, m: &VectorMatching) -> Labels {
    if m.on {
        let mut b = l.builder();
        b.retain(|n| m.matching_labels.iter().any(|x| x == n));
        b.labels()
    } else {
        let mut b = l.builder();
        b.retain(|n| n != METRIC_NAME && !m.matching_labels.iter().any(|x| x == n));
        b.labels()
    }
}

impl Evaluator<'_> {
    /// Applies a binary expression to evaluated operands.
    pub(crate) fn binary(&mut self, b: &BinaryExpr, lhs: Val, rhs: Val) -> Result<Val, EvalError> {
        match (lhs, rhs) {
            (Val::Scalar(l), Val::Scalar(r)) => Ok(Val::Scalar(scalar_binop(b.op, l, r))),
            (Val::Vector(v), Val::Scalar(s)) => Ok(Val::Vector(self.vector_scalar(b, v, s, false))),
            (Val::Scalar(s), Val::Vector(v)) => Ok(Val::Vector(self.vector_scalar(b, v, s, true))),
            (Val::Vector(l), Val::Vector(r)) => {
                let default = VectorMatching {
                    card: if b.op.is_set_operator() {
                        Card::ManyToMany
                    } else {
                        Card::OneToOne
                    },
                    ..VectorMatching::default()
                };
                let m = b.matching.as_ref().unwrap_or(&default);
                Ok(Val::Vector(match b.op {
                    BinaryOp::And => set_and(l, &r, m),
                    BinaryOp::Or => set_or(l, r, m),
                    BinaryOp::Unless => set_unless(l, &r, m),
                    _ => self.vector_binop(b, l, r, m)?,
                }))
            }
            _ => Ok(Val::Vector(Vec::new())),
        }
    }

    fn vector_scalar(&mut self, b: &BinaryExpr, v: Vec<Sample>, s: f64, swap: bool) -> Vec<Sample> {
        let mut out = Vec::with_capacity(v.len());
        for mut x in v {
            let (l, r, hl, hr) = if swap {
                (s, x.f, None, x.h.as_ref())
            } else {
                (x.f, s, x.h.as_ref(), None)
            };
            let Some((mut f, mut h, mut keep)) = elem_binop(b.op, l, r, hl, hr) else {
                let pos = b.lhs.pos().merge(b.rhs.pos());
                self.annotate(annotations::incompatible_types_in_binop(
                    type_name(hl.is_some()),
                    b.op.as_str(),
                    type_name(hr.is_some()),
                    pos,
                ));
                continue;
            };
            if b.op.is_comparison() && swap {
                f = r;
                h = hr.cloned();
            }
            if b.return_bool {
                f = if keep { 1.0 } else { 0.0 };
                h = None;
                keep = true;
            }
            if keep {
                x.f = f;
                x.h = h;
                if changes_schema(b.op) || b.return_bool {
                    x.drop_name = true;
                }
                out.push(x);
            }
        }
        out
    }

    fn vector_binop(
        &mut self,
        b: &BinaryExpr,
        lhs: Vec<Sample>,
        rhs: Vec<Sample>,
        m: &VectorMatching,
    ) -> Result<Vec<Sample>, EvalError> {
        if (lhs.is_empty() && rhs.is_empty())
            || ((lhs.is_empty() || rhs.is_empty()) && m.fill.lhs.is_none() && m.fill.rhs.is_none())
        {
            return Ok(Vec::new());
        }
        let one_to_many = m.card == Card::OneToMany;
        let (lhs, rhs) = if one_to_many { (rhs, lhs) } else { (lhs, rhs) };
        // Fill values are not swapped with the sides (as in Prometheus).
        let (fill_for_missing_rhs, fill_for_missing_lhs) = (m.fill.rhs, m.fill.lhs);
        // The "one" side, by signature.
        let site = std::ptr::from_ref(b) as usize;
        let mut right: super::eval::LabelIndex = HashMap::default();
        right.reserve(rhs.len());
        for (i, rs) in rhs.iter().enumerate() {
            let sig = self.derived_labels(site, &rs.labels, |l| signature(l, m));
            if let Some(&j) = right.get(&sig) {
                let side = if one_to_many { "left" } else { "right" };
                let (mut a, mut c) = (rs.labels.to_string(), rhs[j].labels.to_string());
                if a > c {
                    std::mem::swap(&mut a, &mut c);
                }
                return Err(EvalError::exec(format!(
                    "found duplicate series for the match group {sig} on the {side} hand-side of the operation: [{a}, {c}];many-to-many matching not allowed: matching labels must be unique on one side"
                )));
            }
            right.insert(sig, i);
        }
        let mut st = BinopState::default();
        // Result labels depend on the left side's alone without `group_x(...)` labels.
        if m.include.is_empty() {
            st.metrics = Some(
                self.label_cache
                    .remove(&(site + 1))
                    .unwrap_or_default()
                    .by_value,
            );
        }
        for ls in &lhs {
            let sig = self.derived_labels(site, &ls.labels, |l| signature(l, m));
            if let Some(&j) = right.get(&sig) {
                st.apply(b, m, one_to_many, ls, &rhs[j], sig)?;
            } else if let Some(fill) = fill_for_missing_rhs {
                let rs = Sample::float(signature(&ls.labels, m), ls.t, fill);
                st.apply(b, m, one_to_many, ls, &rs, sig)?;
            }
        }
        if let Some(fill) = fill_for_missing_lhs {
            for rs in &rhs {
                let sig = self.derived_labels(site, &rs.labels, |l| signature(l, m));
                let done = if m.card == Card::OneToOne {
                    st.matched_one.contains(&sig)
                } else {
                    st.matched_many.get(&sig).is_some_and(|v| !v.is_empty())
                };
                if done {
                    continue;
                }
                let ls = Sample::float(signature(&rs.labels, m), rs.t, fill);
                st.apply(b, m, one_to_many, &ls, rs, sig)?;
            }
        }
        let BinopState {
            out,
            incompatible,
            reconciled,
            metrics,
            ..
        } = st;
        if let Some(metrics) = metrics {
            self.label_cache.insert(
                site + 1,
                super::eval::LabelCache {
                    by_value: metrics,
                    ..Default::default()
                },
            );
        }
        if reconciled {
            let what = if b.op == BinaryOp::Add {
                "addition"
            } else {
                "subtraction"
            };
            self.annotate(annotations::Annotation::info(
                format!("mismatched custom buckets were reconciled during {what}"),
                b.lhs.pos().merge(b.rhs.pos()),
            ));
        }
        if incompatible {
            let pos = b.lhs.pos().merge(b.rhs.pos());
            self.annotate(annotations::Annotation::info(
                format!(
                    "incompatible sample types encountered for binary operator {:?}",
                    b.op.as_str()
                ),
                pos,
            ));
        }
        Ok(out)
    }
}

/// Bookkeeping of one vector/vector operation.
#[derive(Default)]
struct BinopState {
    matched_one: std::collections::HashSet<Labels>,
    matched_many: HashMap<Labels, Vec<Labels>>,
    out: Vec<Sample>,
    incompatible: bool,
    reconciled: bool,
    /// Result labels by left-side labels, when they depend on those alone.
    metrics: Option<super::eval::LabelMap>,
}

impl BinopState {
    /// Applies the operator to a matched pair (`ls` from the "many" side).
    fn apply(
        &mut self,
        b: &BinaryExpr,
        m: &VectorMatching,
        swapped: bool,
        ls: &Sample,
        rs: &Sample,
        sig: Labels,
    ) -> Result<(), EvalError> {
        let (fl, fr, hl, hr) = if swapped {
            (rs.f, ls.f, rs.h.as_ref(), ls.h.as_ref())
        } else {
            (ls.f, rs.f, ls.h.as_ref(), rs.h.as_ref())
        };
        if let (Some(x), Some(y)) = (hl, hr)
            && matches!(b.op, BinaryOp::Add | BinaryOp::Sub)
            && histo::mismatched_bounds(&[x, y])
        {
            self.reconciled = true;
        }
        let Some((mut f, mut h, keep)) = elem_binop(b.op, fl, fr, hl, hr) else {
            self.incompatible = true;
            return Ok(());
        };
        if b.return_bool {
            h = None;
            f = if keep { 1.0 } else { 0.0 };
        }
        let metric = match &mut self.metrics {
            Some(cache) => {
                if let Some(l) = cache.get(&ls.labels) {
                    l.clone()
                } else {
                    let l = result_metric(&ls.labels, &rs.labels, b.op, m);
                    cache.insert(ls.labels.clone(), l.clone());
                    l
                }
            }
            None => result_metric(&ls.labels, &rs.labels, b.op, m),
        };
        if m.card == Card::OneToOne {
            if !self.matched_one.insert(sig) {
                return Err(EvalError::exec(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                ));
            }
        } else {
            let seen = self.matched_many.entry(sig).or_default();
            if seen.contains(&metric) {
                return Err(EvalError::exec(
                    "multiple matches for labels: grouping labels must ensure unique matches",
                ));
            }
            seen.push(metric.clone());
        }
        if !keep && !b.return_bool {
            return Ok(());
        }
        self.out.push(Sample {
            labels: metric,
            t: ls.t,
            f,
            h,
            drop_name: b.return_bool,
        });
        Ok(())
    }
}

/// The labels of a vector/vector result.
pub(crate) fn result_metric(
    lhs: &Labels,
    rhs: &Labels,
    op: BinaryOp,
    m: &VectorMatching,
) -> Labels {
    let mut b = if changes_schema(op) {
        super::eval::drop_metadata(lhs).builder()
    } else {
        lhs.builder()
    };
    if m.card == Card::OneToOne {
        if m.on {
            b.retain(|n| m.matching_labels.iter().any(|x| x == n));
        } else {
            b.retain(|n| !m.matching_labels.iter().any(|x| x == n));
        }
    }
    for ln in &m.include {
        match rhs.get(ln) {
            Some(v) => b.set(ln, v),
            None => b.del(ln),
        };
    }
    b.labels()
}

fn set_and(lhs: Vec<Sample>, rhs: &[Sample], m: &VectorMatching) -> Vec<Sample> {
    if lhs.is_empty() || rhs.is_empty() {
        return Vec::new();
    }
    let sigs: std::collections::HashSet<Labels> =
        rhs.iter().map(|s| signature(&s.labels, m)).collect();
    lhs.into_iter()
        .filter(|s| sigs.contains(&signature(&s.labels, m)))
        .collect()
}

fn set_or(mut lhs: Vec<Sample>, rhs: Vec<Sample>, m: &VectorMatching) -> Vec<Sample> {
    if lhs.is_empty() {
        return rhs;
    }
    if rhs.is_empty() {
        return lhs;
    }
    let sigs: std::collections::HashSet<Labels> =
        lhs.iter().map(|s| signature(&s.labels, m)).collect();
    lhs.extend(
        rhs.into_iter()
            .filter(|s| !sigs.contains(&signature(&s.labels, m))),
    );
    lhs
}

fn set_unless(lhs: Vec<Sample>, rhs: &[Sample], m: &VectorMatching) -> Vec<Sample> {
    if lhs.is_empty() || rhs.is_empty() {
        return lhs;
    }
    let sigs: std::collections::HashSet<Labels> =
        rhs.iter().map(|s| signature(&s.labels, m)).collect();
    lhs.into_iter()
        .filter(|s| !sigs.contains(&signature(&s.labels, m)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_ops_follow_go() {
        assert_eq!(scalar_binop(BinaryOp::Mod, -7.0, 3.0), -1.0);
        assert_eq!(scalar_binop(BinaryOp::Pow, f64::NAN, 0.0), 1.0);
        assert_eq!(scalar_binop(BinaryOp::Gte, 1.0, 1.0), 1.0);
        assert!(scalar_binop(BinaryOp::Div, 0.0, 0.0).is_nan());
    }

    #[test]
    fn signatures_ignore_name_unless_on() {
        let l = Labels::from_pairs([("__name__", "a"), ("job", "x"), ("i", "1")]);
        let ign = VectorMatching {
            matching_labels: vec!["i".into()],
            ..VectorMatching::default()
        };
        assert_eq!(signature(&l, &ign), Labels::from_pairs([("job", "x")]));
        let on = VectorMatching {
            on: true,
            matching_labels: vec!["i".into()],
            ..VectorMatching::default()
        };
        assert_eq!(signature(&l, &on), Labels::from_pairs([("i", "1")]));
    }
}
