//! Binary operators at all steps: scalar and vector/scalar operations series by series;
//! vector/vector arithmetic and comparisons match series by signatures computed once per
//! query, with the matching "one" side found per step in a table by signature. Set
//! operators and `fill` go step by step.

use std::collections::HashMap;

use model::Labels;

use super::{Bail, RResult, RSeries, RVal};
use crate::ast::{BinaryExpr, VectorMatchCardinality as Card, VectorMatching};
use crate::engine::binary::{changes_schema, elem_binop, result_metric, scalar_binop, signature};
use crate::engine::eval::{Evaluator, LabelIndex, Val};

/// Most signature × step cells of a matching table.
const MAX_TABLE: usize = 64 << 20;

impl Evaluator<'_> {
    /// A binary expression at all steps.
    pub(crate) fn range_binary(&mut self, b: &BinaryExpr) -> RResult<RVal> {
        let lhs = self.eval_range(&b.lhs)?;
        let rhs = self.eval_range(&b.rhs)?;
        match (lhs, rhs) {
            (RVal::Scalar(l), RVal::Scalar(r)) => Ok(RVal::Scalar(
                l.iter()
                    .zip(&r)
                    .map(|(l, r)| scalar_binop(b.op, *l, *r))
                    .collect(),
            )),
            (RVal::Vector(v), RVal::Scalar(s)) => vector_scalar(b, v, &s, false),
            (RVal::Scalar(s), RVal::Vector(v)) => vector_scalar(b, v, &s, true),
            (RVal::Vector(l), RVal::Vector(r))
                if !b.op.is_set_operator()
                    && b.matching
                        .as_ref()
                        .is_none_or(|m| m.fill.lhs.is_none() && m.fill.rhs.is_none()) =>
            {
                self.vector_vector(b, l, r)
            }
            (l, r) => self.apply_per_step(&[l, r], |ev, mut vals, _| {
                let r = vals.pop().unwrap_or(Val::Scalar(f64::NAN));
                let l = vals.pop().unwrap_or(Val::Scalar(f64::NAN));
                ev.binary(b, l, r)
            }),
        }
    }

    /// Vector/vector arithmetic or comparison (no set operator, no `fill`).
    fn vector_vector(
        &mut self,
        b: &BinaryExpr,
        lhs: Vec<RSeries>,
        rhs: Vec<RSeries>,
    ) -> RResult<RVal> {
        let default = VectorMatching {
            card: Card::OneToOne,
            ..VectorMatching::default()
        };
        let m = b.matching.as_ref().unwrap_or(&default);
        let one_to_many = m.card == Card::OneToMany;
        let (lhs, rhs) = if one_to_many { (rhs, lhs) } else { (lhs, rhs) };
        let n = self.steps();
        let site = std::ptr::from_ref(b) as usize;
        let mut ids: LabelIndex = HashMap::default();
        let mut sig_id = |ev: &mut Self, l: &Labels| {
            let sig = ev.derived_labels(site, l, |l| signature(l, m));
            let next = ids.len();
            *ids.entry(sig).or_insert(next)
        };
        let rsig: Vec<usize> = rhs.iter().map(|s| sig_id(self, &s.labels)).collect();
        let lsig: Vec<usize> = lhs.iter().map(|s| sig_id(self, &s.labels)).collect();
        let cells = ids.len().saturating_mul(n);
        if cells > MAX_TABLE {
            return Err(Bail::Fallback);
        }
        // The "one" side's series per signature and step.
        let mut owner = vec![u32::MAX; cells];
        for (j, s) in rhs.iter().enumerate() {
            let row = &mut owner[rsig[j] * n..(rsig[j] + 1) * n];
            for (o, _) in row.iter_mut().zip(&s.present).filter(|(_, p)| **p) {
                if *o != u32::MAX {
                    // Duplicate series on the "one" side: an error step by step.
                    return Err(Bail::Fallback);
                }
                *o = u32::try_from(j).map_err(|_| Bail::Fallback)?;
            }
        }
        let one_to_one = m.card == Card::OneToOne;
        let mut matched = vec![false; if one_to_one { cells } else { 0 }];
        let mut out: Vec<RSeries> = Vec::new();
        // Steps with a match, per output (many-to-one: a repeated result is an error).
        let mut hits: Vec<Vec<bool>> = Vec::new();
        let mut by_pair: HashMap<(usize, usize), usize, foldhash::fast::RandomState> =
            HashMap::default();
        let mut reserved = 0;
        for (li, ls) in lhs.iter().enumerate() {
            // Outputs grow with the matches (`group_left`): counted before they pile up.
            if out.len() > reserved {
                self.range_reserve(out.len() - reserved)?;
                reserved = out.len();
            }
            let sg = lsig[li];
            let mut own: Option<usize> = None;
            for i in 0..n {
                if !ls.present[i] {
                    continue;
                }
                let j = owner[sg * n + i];
                if j == u32::MAX {
                    continue;
                }
                let j = j as usize;
                let rs = &rhs[j];
                let (fl, fr) = if one_to_many {
                    (rs.vals[i], ls.vals[i])
                } else {
                    (ls.vals[i], rs.vals[i])
                };
                let Some((mut f, _, keep)) = elem_binop(b.op, fl, fr, None, None) else {
                    return Err(Bail::Fallback);
                };
                if b.return_bool {
                    f = if keep { 1.0 } else { 0.0 };
                }
                if one_to_one {
                    let cell = &mut matched[sg * n + i];
                    if *cell {
                        return Err(Bail::Fallback);
                    }
                    *cell = true;
                }
                let mut new_output = || {
                    out.push(RSeries::empty(
                        result_metric(&ls.labels, &rs.labels, b.op, m),
                        b.return_bool,
                        n,
                    ));
                    hits.push(Vec::new());
                    out.len() - 1
                };
                let o = if m.include.is_empty() {
                    *own.get_or_insert_with(&mut new_output)
                } else {
                    *by_pair.entry((li, j)).or_insert_with(new_output)
                };
                if !one_to_one {
                    let h = &mut hits[o];
                    h.resize(n, false);
                    h[i] = true;
                }
                if keep || b.return_bool {
                    out[o].set(i, f);
                }
            }
        }
        if !one_to_one && repeated_results(&out, &hits) {
            return Err(Bail::Fallback);
        }
        out.retain(RSeries::any);
        Ok(RVal::Vector(out))
    }
}

/// Whether two outputs with the same labels matched at the same step.
fn repeated_results(out: &[RSeries], hits: &[Vec<bool>]) -> bool {
    let mut seen: HashMap<&Labels, Vec<usize>> = HashMap::with_capacity(out.len());
    for (o, s) in out.iter().enumerate() {
        seen.entry(&s.labels).or_default().push(o);
    }
    seen.values().filter(|v| v.len() > 1).any(|v| {
        v.iter().enumerate().any(|(x, &a)| {
            v[x + 1..]
                .iter()
                .any(|&c| hits[a].iter().zip(&hits[c]).any(|(p, q)| *p && *q))
        })
    })
}

/// Vector/scalar (`swap`: scalar/vector) arithmetic or comparison, series by series.
fn vector_scalar(b: &BinaryExpr, mut v: Vec<RSeries>, s: &[f64], swap: bool) -> RResult<RVal> {
    let renames = changes_schema(b.op) || b.return_bool;
    for x in &mut v {
        for (i, &sv) in s.iter().enumerate() {
            if !x.present[i] {
                continue;
            }
            let (l, r) = if swap {
                (sv, x.vals[i])
            } else {
                (x.vals[i], sv)
            };
            let Some((mut f, _, mut keep)) = elem_binop(b.op, l, r, None, None) else {
                return Err(Bail::Fallback);
            };
            if b.op.is_comparison() && swap {
                f = r;
            }
            if b.return_bool {
                f = if keep { 1.0 } else { 0.0 };
                keep = true;
            }
            if keep {
                x.vals[i] = f;
            } else {
                x.present[i] = false;
            }
        }
        x.drop_name |= renames;
    }
    v.retain(RSeries::any);
    Ok(RVal::Vector(v))
}
