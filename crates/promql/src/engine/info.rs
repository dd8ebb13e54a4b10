//! `info(v, [selector])`: enriches series with the data labels of matching info series
//! (`target_info` by default), joined on the identifying labels `instance` and `job`.

use std::collections::HashMap;
use std::rc::Rc;

use model::{Labels, METRIC_NAME, MatchOp, Matcher, is_stale_nan};
use storage::{SelectHints, ValueType};

use super::error::EvalError;
use super::eval::{Evaluator, Val};
use crate::ast::{Call, Expr};
use crate::value::Sample;

const IDENTIFYING: [&str; 2] = ["instance", "job"];

/// Name matchers actually used to find info series.
fn effective_name_matchers(ms: &[Matcher]) -> Vec<Matcher> {
    if ms
        .iter()
        .any(|m| matches!(m.op, MatchOp::Equal | MatchOp::RegexMatch))
    {
        return ms.to_vec();
    }
    if !ms.is_empty() {
        let mut out =
            vec![Matcher::new(MatchOp::RegexMatch, METRIC_NAME, ".+_info").expect("valid regex")];
        out.extend_from_slice(ms);
        return out;
    }
    vec![Matcher::equal(METRIC_NAME, "target_info")]
}

/// The `@` timestamp and offset of the first vector selector in `e` (as Prometheus picks
/// the time of the info series).
fn first_selector_timing(e: &Expr) -> (Option<i64>, i64) {
    let mut found: Option<(Option<i64>, i64)> = None;
    fn walk(e: &Expr, sq_off: i64, sq_ts: Option<i64>, found: &mut Option<(Option<i64>, i64)>) {
        if found.is_some() {
            return;
        }
        match e {
            Expr::VectorSelector(vs) => {
                *found = Some((vs.timestamp.or(sq_ts), vs.original_offset + sq_off));
            }
            Expr::MatrixSelector(ms) => {
                let vs = &ms.vector_selector;
                *found = Some((vs.timestamp.or(sq_ts), vs.original_offset + sq_off));
            }
            Expr::Subquery(sq) => walk(
                &sq.expr,
                sq_off + sq.original_offset,
                sq_ts.or(sq.timestamp),
                found,
            ),
            other => other
                .children()
                .into_iter()
                .for_each(|c| walk(c, sq_off, sq_ts, found)),
        }
    }
    walk(e, 0, None, &mut found);
    found.unwrap_or((None, 0))
}

/// One loaded info series.
pub(crate) struct InfoSeries {
    labels: Labels,
    samples: Vec<(i64, f64)>,
}

impl Evaluator<'_> {
    /// Evaluates `info()` at `ts`.
    pub(crate) fn info(&mut self, c: &Call, ts: i64) -> Result<Val, EvalError> {
        let base = self.eval(&c.args[0], ts)?.into_vector();
        let (data_matchers, name_matchers): (Vec<Matcher>, Vec<Matcher>) =
            match c.args.get(1).map(Expr::unwrap_parens) {
                Some(Expr::VectorSelector(vs)) => vs
                    .matchers
                    .iter()
                    .cloned()
                    .partition(|m| m.name != METRIC_NAME),
                _ => (Vec::new(), vec![Matcher::equal(METRIC_NAME, "target_info")]),
            };
        let effective = effective_name_matchers(&name_matchers);
        let ignored = |l: &Labels| {
            effective
                .iter()
                .all(|m| m.matches(l.metric_name().unwrap_or("")))
        };
        let (at, offset) = first_selector_timing(&c.args[0]);
        let ref_t = at.unwrap_or(ts) - offset;
        let any_ids = base
            .iter()
            .any(|s| !ignored(&s.labels) && IDENTIFYING.iter().any(|l| s.labels.has(l)));
        let infos = if any_ids {
            self.load_info(c, &data_matchers, &effective)?
        } else {
            Rc::new(Vec::new())
        };
        // The latest info sample within the lookback, per info series.
        let lookback = self.lookback();
        let mut by_sig: HashMap<Labels, (i64, &Labels)> = HashMap::new();
        for is in infos.iter() {
            let i = is.samples.partition_point(|(t, _)| *t <= ref_t);
            let Some(&(t, v)) = i.checked_sub(1).map(|i| &is.samples[i]) else {
                continue;
            };
            if t <= ref_t - lookback || is_stale_nan(v) {
                continue;
            }
            let sig = signature(is.labels.metric_name().unwrap_or(""), &is.labels);
            match by_sig.get(&sig) {
                Some((et, el)) if *et == t => {
                    return Err(EvalError::exec(format!(
                        "found duplicate series for info metric: existing {el} @ {et}, new {} @ {t}",
                        is.labels
                    )));
                }
                Some((et, _)) if *et > t => {}
                _ => {
                    by_sig.insert(sig, (t, &is.labels));
                }
            }
        }
        let info_names: Vec<String> = {
            let mut v: Vec<String> = by_sig
                .keys()
                .filter_map(|k| k.metric_name().map(str::to_owned))
                .collect();
            v.sort();
            v.dedup();
            v
        };
        let restrict = !data_matchers.is_empty();
        let mut out = Vec::with_capacity(base.len());
        for bs in base {
            if ignored(&bs.labels) {
                out.push(bs);
                continue;
            }
            let mut add: Vec<(String, String)> = Vec::new();
            let mut seen = false;
            for name in &info_names {
                let Some((_, il)) = by_sig.get(&signature(name, &bs.labels)) else {
                    continue;
                };
                seen = true;
                for l in il.iter() {
                    if l.name == METRIC_NAME
                        || (restrict && !data_matchers.iter().any(|m| m.name == l.name))
                    {
                        continue;
                    }
                    if let Some((_, v)) = add.iter().find(|(n, _)| n == l.name)
                        && v != l.value
                    {
                        return Err(EvalError::exec(format!("conflicting label: {}", l.name)));
                    }
                    if bs.labels.has(l.name) || add.iter().any(|(n, _)| n == l.name) {
                        continue;
                    }
                    add.push((l.name.to_owned(), l.value.to_owned()));
                }
            }
            if !seen && !data_matchers.iter().all(Matcher::matches_empty) {
                continue;
            }
            let mut b = bs.labels.builder();
            for (n, v) in &add {
                b.set(n, v);
            }
            out.push(Sample {
                labels: b.labels(),
                ..bs
            });
        }
        Ok(Val::Vector(out))
    }

    fn load_info(
        &mut self,
        c: &Call,
        data: &[Matcher],
        names: &[Matcher],
    ) -> Result<Rc<Vec<InfoSeries>>, EvalError> {
        let key = std::ptr::from_ref(c) as usize;
        if let Some(v) = self.info_cache.get(&key) {
            return Ok(Rc::clone(v));
        }
        let mut matchers = data.to_vec();
        matchers.extend_from_slice(names);
        let hints = SelectHints {
            start: i64::MIN / 4,
            end: i64::MAX / 4,
            func: Some("info".to_owned()),
            ..SelectHints::default()
        };
        let mut out = Vec::new();
        for s in self.querier.select(false, Some(&hints), &matchers)? {
            let s = s?;
            let mut it = s.iter();
            let mut samples = Vec::new();
            loop {
                match it.next() {
                    ValueType::None => break,
                    ValueType::Float => samples.push(it.at()),
                    _ => {
                        return Err(EvalError::exec(format!(
                            "this should be an info metric, with float samples: {}",
                            s.labels()
                        )));
                    }
                }
            }
            drop(it);
            out.push(InfoSeries {
                labels: s.labels().clone(),
                samples,
            });
        }
        let rc = Rc::new(out);
        self.info_cache.insert(key, Rc::clone(&rc));
        Ok(rc)
    }
}

/// `{__name__=name, instance=..., job=...}` of a series, for joining with info series.
fn signature(name: &str, l: &Labels) -> Labels {
    let mut pairs: Vec<(&str, &str)> = vec![(METRIC_NAME, name)];
    for id in IDENTIFYING {
        if let Some(v) = l.get(id) {
            pairs.push((id, v));
        }
    }
    Labels::from_pairs(pairs)
}
