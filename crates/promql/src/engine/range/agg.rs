//! Aggregations at all steps: each input series' group is found once per query, then
//! sums, counts, minima and maxima are accumulated series by series into per-step arrays
//! (in the input's order, as step by step adds them); the other operators gather each
//! group's values per step.

use std::cmp::Ordering;

use model::Labels;

use super::{Bail, RResult, RSeries, RVal};
use crate::ast::{AggregateExpr, AggregateOp, Expr};
use crate::engine::aggregate::{float_aggregate, group_once};
use crate::engine::annotations;
use crate::engine::eval::{Evaluator, Val};
use crate::kernels::kahan::inc;

/// The groups of an aggregation's input.
struct Groups {
    /// Output labels and name dropping per group, in order of first appearance.
    keys: Vec<(Labels, bool)>,
    /// The input series of each group, in input order.
    members: Vec<Vec<usize>>,
}

impl Evaluator<'_> {
    /// An aggregation at all steps.
    pub(crate) fn range_aggregate(&mut self, e: &Expr, a: &AggregateExpr) -> RResult<RVal> {
        use AggregateOp as Op;
        let param = match &a.param {
            Some(p) => Some(self.eval_range(p)?),
            None => None,
        };
        let input = self.eval_range(&a.expr)?;
        let native = matches!(
            a.op,
            Op::Sum
                | Op::Avg
                | Op::Count
                | Op::Min
                | Op::Max
                | Op::Group
                | Op::Stddev
                | Op::Stdvar
                | Op::Quantile
                | Op::Topk
                | Op::Bottomk
        );
        let RVal::Vector(input) = input else {
            return self.per_step(e);
        };
        if !native {
            let args: Vec<RVal> = param.into_iter().chain([RVal::Vector(input)]).collect();
            return self.apply_per_step(&args, |ev, mut vals, ts| {
                let input = vals.pop().map(Val::into_vector).unwrap_or_default();
                ev.aggregate_values(a, vals.pop().as_ref(), &input, ts)
            });
        }
        let params = match param {
            Some(RVal::Scalar(p)) => Some(p),
            Some(_) => return Err(Bail::Fallback),
            None => None,
        };
        let groups = self.groups(a, &input)?;
        let n = self.steps();
        self.range_reserve(groups.keys.len())?;
        match a.op {
            Op::Topk | Op::Bottomk => {
                let params = params.ok_or(Bail::Fallback)?;
                Ok(RVal::Vector(top_k(
                    &input,
                    &groups,
                    &params,
                    a.op == Op::Topk,
                )?))
            }
            Op::Sum | Op::Count | Op::Group | Op::Min | Op::Max => {
                Ok(RVal::Vector(accumulate(a.op, &input, &groups, n)))
            }
            _ => {
                let mut qs = vec![f64::NAN; n];
                if a.op == Op::Quantile {
                    qs = params.ok_or(Bail::Fallback)?;
                    let pos = a.param.as_ref().map_or(a.pos, |p| p.pos());
                    if let Some(&q) = qs.iter().find(|q| !(0.0..=1.0).contains(*q)) {
                        self.annotate(annotations::invalid_quantile(q, pos));
                    }
                }
                let mut out = Vec::new();
                let mut vals = Vec::new();
                for (key, members) in groups.keys.into_iter().zip(&groups.members) {
                    let mut r = RSeries::empty(key.0, key.1, n);
                    for (i, &q) in qs.iter().enumerate() {
                        vals.clear();
                        vals.extend(
                            members
                                .iter()
                                .map(|&j| &input[j])
                                .filter(|s| s.present[i])
                                .map(|s| s.vals[i]),
                        );
                        if vals.is_empty() {
                            continue;
                        }
                        let count = vals.len();
                        if let Some(v) = float_aggregate(a.op, &mut vals, count, q) {
                            r.set(i, v);
                        }
                    }
                    out.push(r);
                }
                Ok(RVal::Vector(out))
            }
        }
    }

    /// Groups the input series by their grouping labels, found once per series.
    /// The groups of an aggregation's input, found once for all steps by a hash of each
    /// series' kept pairs ([`group_once`]).
    fn groups(&mut self, a: &AggregateExpr, input: &[RSeries]) -> RResult<Groups> {
        let found = group_once(input, |s| (&s.labels, s.drop_name), &a.grouping, a.without);
        let mut g = Groups {
            keys: Vec::with_capacity(found.len()),
            members: Vec::with_capacity(found.len()),
        };
        for group in found {
            let drop_name = group.members.first().is_some_and(|&j| input[j].drop_name);
            if group
                .members
                .iter()
                .any(|&j| input[j].drop_name != drop_name)
            {
                // Members that differ in name dropping: the flag depends on the step.
                return Err(Bail::Fallback);
            }
            g.keys.push((group.labels, drop_name));
            g.members.push(group.members);
        }
        Ok(g)
    }
}

/// `sum`, `count`, `group`, `min` and `max`, accumulated series by series.
fn accumulate(op: AggregateOp, input: &[RSeries], groups: &Groups, n: usize) -> Vec<RSeries> {
    let mut out = Vec::with_capacity(groups.keys.len());
    let mut comp = vec![0.0; n];
    for (key, members) in groups.keys.iter().zip(&groups.members) {
        let mut r = RSeries::empty(key.0.clone(), key.1, n);
        comp.iter_mut().for_each(|c| *c = 0.0);
        for &j in members {
            let s = &input[j];
            for (i, c) in comp.iter_mut().enumerate() {
                if !s.present[i] {
                    continue;
                }
                let v = s.vals[i];
                let (acc, seen) = (&mut r.vals[i], &mut r.present[i]);
                match op {
                    AggregateOp::Sum => (*acc, *c) = inc(v, *acc, *c),
                    AggregateOp::Count => *acc += 1.0,
                    AggregateOp::Group => *acc = 1.0,
                    AggregateOp::Min => {
                        if !*seen || *acc > v || acc.is_nan() {
                            *acc = v;
                        }
                    }
                    _ => {
                        if !*seen || *acc < v || acc.is_nan() {
                            *acc = v;
                        }
                    }
                }
                *seen = true;
            }
        }
        if op == AggregateOp::Sum {
            for (v, c) in r.vals.iter_mut().zip(&comp) {
                if !v.is_infinite() {
                    *v += c;
                }
            }
        }
        out.push(r);
    }
    out
}

/// `topk` / `bottomk`: per step and group the `k` largest (smallest) present members, NaN
/// last, ties in input order.
fn top_k(input: &[RSeries], groups: &Groups, params: &[f64], desc: bool) -> RResult<Vec<RSeries>> {
    let n = params.len();
    let mut out: Vec<Option<RSeries>> = vec![None; input.len()];
    let mut scratch: Vec<(usize, f64)> = Vec::new();
    for (i, &pf) in params.iter().enumerate() {
        if pf.is_nan() || pf <= i64::MIN as f64 || pf >= i64::MAX as f64 {
            // Errors: step by step reports them.
            return Err(Bail::Fallback);
        }
        let present = input.iter().filter(|s| s.present[i]).count();
        let k = (pf as i64).min(present as i64);
        if k < 1 {
            continue;
        }
        for members in &groups.members {
            scratch.clear();
            scratch.extend(
                members
                    .iter()
                    .filter(|&&j| input[j].present[i])
                    .map(|&j| (j, input[j].vals[i])),
            );
            scratch.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => {
                    let o = a.1.partial_cmp(&b.1).unwrap_or(Ordering::Equal);
                    if desc { o.reverse() } else { o }
                }
            });
            for &(j, v) in scratch.iter().take(k as usize) {
                out[j]
                    .get_or_insert_with(|| {
                        RSeries::empty(input[j].labels.clone(), input[j].drop_name, n)
                    })
                    .set(i, v);
            }
        }
    }
    Ok(out.into_iter().flatten().collect())
}
