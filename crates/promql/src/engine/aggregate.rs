//! Aggregation operators (`sum`, `avg`, `count`, `min`, `max`, `group`, `stddev`, `stdvar`,
//! `quantile`, `count_values`, `topk`, `bottomk`, `limitk`, `limit_ratio`) at one step.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use model::{Labels, METRIC_NAME};

use super::annotations;
use super::error::EvalError;
use super::eval::{Evaluator, Val};
use super::histo;
use crate::ast::{AggregateExpr, AggregateOp};
use crate::kernels::kahan::inc;
use crate::kernels::quantile::quantile;
use crate::value::{Sample, format_value};

/// The grouping key / output labels of a series.
/// Built straight from the series' labels (already sorted): one allocation.
pub(crate) fn group_labels(l: &Labels, grouping: &[String], without: bool) -> Labels {
    let kept = l.iter().filter(|x| kept(x.name, grouping, without));
    Labels::from_sorted(kept.map(|x| (x.name, x.value)))
}

/// Whether a label named `name` is part of the grouping key.
fn kept(name: &str, grouping: &[String], without: bool) -> bool {
    let listed = grouping.iter().any(|g| g == name);
    if without {
        name != METRIC_NAME && !listed
    } else {
        listed
    }
}

/// The groups of `input` (in order of first member), without building a label set per
/// series: a hash of each series' kept pairs finds the candidate groups, whose labels are
/// then compared pair by pair with the kept ones.
pub(crate) fn group_once<T>(
    input: &[T],
    series: impl Fn(&T) -> (&Labels, bool),
    grouping: &[String],
    without: bool,
) -> Vec<Group> {
    use std::hash::{BuildHasher, Hasher};
    // `by ()` (or no clause): one group of every series, without reading their labels.
    if !without && grouping.is_empty() {
        if input.is_empty() {
            return Vec::new();
        }
        return vec![Group {
            labels: Labels::empty(),
            members: (0..input.len()).collect(),
            drop_name: input.iter().any(|s| series(s).1),
        }];
    }
    let state = foldhash::fast::FixedState::default();
    let mut groups: Vec<Group> = Vec::new();
    // Hash -> first group with it; further groups with the same hash are chained.
    let mut index: HashMap<u64, usize, foldhash::fast::RandomState> = HashMap::default();
    let mut chain: Vec<Option<usize>> = Vec::new();
    for (i, s) in input.iter().enumerate() {
        let (labels, drop_name) = series(s);
        let pairs = labels.iter().filter(|x| kept(x.name, grouping, without));
        let mut h = state.build_hasher();
        for x in pairs.clone() {
            h.write(x.name.as_bytes());
            h.write_u8(0xff);
            h.write(x.value.as_bytes());
            h.write_u8(0xff);
        }
        let hash = h.finish();
        let mut found = None;
        let mut next = index.get(&hash).copied();
        let mut last = None;
        while let Some(g) = next {
            if same_pairs(&groups[g].labels, pairs.clone()) {
                found = Some(g);
                break;
            }
            last = Some(g);
            next = chain[g];
        }
        let gi = found.unwrap_or_else(|| {
            groups.push(Group {
                labels: Labels::from_sorted(pairs.map(|x| (x.name, x.value))),
                members: Vec::new(),
                drop_name: false,
            });
            chain.push(None);
            let g = groups.len() - 1;
            match last {
                Some(prev) => chain[prev] = Some(g),
                None => {
                    index.insert(hash, g);
                }
            }
            g
        });
        groups[gi].members.push(i);
        groups[gi].drop_name |= drop_name;
    }
    groups
}

/// Whether `pairs` are the labels of `l`, in order.
fn same_pairs<'a>(l: &Labels, mut pairs: impl Iterator<Item = model::Label<'a>>) -> bool {
    for x in l {
        match pairs.next() {
            Some(y) if x.name == y.name && x.value == y.value => {}
            _ => return false,
        }
    }
    pairs.next().is_none()
}

/// Running state of one group.
pub(crate) struct Group {
    /// The group's labels (the kept pairs).
    pub(crate) labels: Labels,
    /// The input positions of its series, in input order.
    pub(crate) members: Vec<usize>,
    /// Whether any member's name is to be dropped.
    pub(crate) drop_name: bool,
}

/// Prometheus's labels hash (xxhash64 of `name 0xff value 0xff ...`), used by `limit_ratio`.
fn prom_hash(l: &Labels) -> u64 {
    let mut buf = Vec::with_capacity(l.byte_size() + 2 * l.len());
    for x in l {
        buf.extend_from_slice(x.name.as_bytes());
        buf.push(0xff);
        buf.extend_from_slice(x.value.as_bytes());
        buf.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&buf, 0)
}

/// Whether a series is in the `ratio` sample (deterministic by labels).
fn in_ratio_sample(ratio: f64, l: &Labels) -> bool {
    let offset = prom_hash(l) as f64 / u64::MAX as f64;
    if ratio >= 0.0 {
        offset < ratio
    } else {
        offset >= 1.0 + ratio
    }
}

/// Sorts descending (`desc`) or ascending with NaN always last; stable (also `sort` and
/// `sort_desc`).
pub(crate) fn sort_by_value(v: &mut [Sample], desc: bool) {
    v.sort_by(|a, b| match (a.f.is_nan(), b.f.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            let o = a.f.partial_cmp(&b.f).unwrap_or(Ordering::Equal);
            if desc { o.reverse() } else { o }
        }
    });
}

impl Evaluator<'_> {
    /// Evaluates an aggregation at `ts`.
    pub(crate) fn aggregate(&mut self, a: &AggregateExpr, ts: i64) -> Result<Val, EvalError> {
        let param = match &a.param {
            Some(p) => Some(self.eval(p, ts)?),
            None => None,
        };
        let input = self.eval(&a.expr, ts)?.into_vector();
        self.aggregate_values(a, param.as_ref(), &input, ts)
    }

    /// Aggregates `input` at `ts`, with the evaluated parameter `param`.
    pub(crate) fn aggregate_values(
        &mut self,
        a: &AggregateExpr,
        param: Option<&Val>,
        input: &[Sample],
        ts: i64,
    ) -> Result<Val, EvalError> {
        let mut grouping = a.grouping.clone();
        if a.op == AggregateOp::CountValues {
            let label = match param {
                Some(Val::String(s)) => s.clone(),
                _ => String::new(),
            };
            // Invalid UTF-8 in the literal shows up as replacement characters.
            if label.is_empty() || label.contains('\u{FFFD}') {
                let shown = a
                    .param
                    .as_deref()
                    .and_then(|p| self.source_text(p))
                    .map_or_else(|| format!("{label:?}"), str::to_owned);
                return Err(EvalError::exec(format!("invalid label name {shown}")));
            }
            if !a.without {
                grouping.push(label.clone());
            }
            return Ok(Val::Vector(count_values(
                input, &grouping, a.without, &label, ts,
            )));
        }
        let pf = param.map_or(f64::NAN, Val::scalar);
        let param_pos = a.param.as_ref().map(|p| p.pos()).unwrap_or(a.pos);
        // Group the input. The group labels of a series are remembered from the second
        // evaluation of this aggregation on (steps of a range query, a subquery's grid): at
        // a single evaluation (instant queries, rules) the series are grouped by a hash of
        // their kept pairs, and only each group's labels are built.
        let site = std::ptr::from_ref(a) as usize;
        let groups =
            if let std::collections::hash_map::Entry::Vacant(e) = self.label_cache.entry(site) {
                e.insert(super::eval::LabelCache::default());
                group_once(input, |s| (&s.labels, s.drop_name), &grouping, a.without)
            } else {
                let mut groups: Vec<Group> = Vec::new();
                let mut index: super::eval::LabelIndex = HashMap::default();
                for (i, s) in input.iter().enumerate() {
                    let key = self
                        .derived_labels(site, &s.labels, |l| group_labels(l, &grouping, a.without));
                    let gi = *index.entry(key.clone()).or_insert_with(|| {
                        groups.push(Group {
                            labels: key,
                            members: Vec::new(),
                            drop_name: false,
                        });
                        groups.len() - 1
                    });
                    groups[gi].members.push(i);
                    groups[gi].drop_name |= s.drop_name;
                }
                groups
            };
        match a.op {
            AggregateOp::Topk | AggregateOp::Bottomk | AggregateOp::Limitk => {
                if pf.is_nan() {
                    return Err(EvalError::exec("Parameter value is NaN"));
                }
                if pf <= i64::MIN as f64 {
                    return Err(EvalError::exec(format!(
                        "Scalar value {} underflows int64",
                        format_value(pf)
                    )));
                }
                if pf >= i64::MAX as f64 {
                    return Err(EvalError::exec(format!(
                        "Scalar value {} overflows int64",
                        format_value(pf)
                    )));
                }
                let k = (pf as i64).min(input.len() as i64);
                if k < 1 {
                    return Ok(Val::Vector(Vec::new()));
                }
                return Ok(Val::Vector(self.top_k(a, input, &groups, k as usize)));
            }
            AggregateOp::LimitRatio => {
                if pf.is_nan() {
                    return Err(EvalError::exec("Ratio value is NaN"));
                }
                if pf == 0.0 {
                    return Ok(Val::Vector(Vec::new()));
                }
                let r = if pf > 1.0 {
                    self.annotate(annotations::invalid_ratio(pf, 1.0, param_pos));
                    1.0
                } else if pf < -1.0 {
                    self.annotate(annotations::invalid_ratio(pf, -1.0, param_pos));
                    -1.0
                } else {
                    pf
                };
                let mut out = Vec::new();
                for g in &groups {
                    out.extend(
                        g.members
                            .iter()
                            .map(|&i| &input[i])
                            .filter(|s| in_ratio_sample(r, &s.labels))
                            .cloned(),
                    );
                }
                return Ok(Val::Vector(out));
            }
            AggregateOp::Quantile if pf.is_nan() || !(0.0..=1.0).contains(&pf) => {
                self.annotate(annotations::invalid_quantile(pf, param_pos));
            }
            _ => {}
        }
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            let members: Vec<&Sample> = g.members.iter().map(|&i| &input[i]).collect();
            if let Some((f, h)) = self.aggregate_group(a, &members, pf) {
                out.push(Sample {
                    labels: g.labels,
                    t: ts,
                    f,
                    h,
                    drop_name: g.drop_name,
                });
            }
        }
        Ok(Val::Vector(out))
    }

    fn aggregate_group(
        &mut self,
        a: &AggregateExpr,
        members: &[&Sample],
        q: f64,
    ) -> Option<(f64, Option<Arc<model::FloatHistogram>>)> {
        let pos = a.expr.pos();
        let mut floats: Vec<f64> = members
            .iter()
            .filter(|s| s.h.is_none())
            .map(|s| s.f)
            .collect();
        let hists: Vec<&Arc<model::FloatHistogram>> =
            members.iter().filter_map(|s| s.h.as_ref()).collect();
        let op = a.op;
        if matches!(op, AggregateOp::Sum | AggregateOp::Avg) && !hists.is_empty() {
            if !floats.is_empty() {
                self.annotate(annotations::mixed_floats_histograms_agg(pos));
                return None;
            }
            let refs: Vec<&model::FloatHistogram> = hists.iter().map(AsRef::as_ref).collect();
            self.check_reset_collision(&refs, pos);
            if histo::mismatched_bounds(&refs) {
                self.annotate(annotations::Annotation::info(
                    "mismatched custom buckets were reconciled during aggregation",
                    pos,
                ));
            }
            let Some(acc) = histo::sum_or_mean(&refs, op == AggregateOp::Avg) else {
                let metric = members[0].labels.metric_name().unwrap_or("").to_owned();
                self.annotate(super::hist_fns::mixed_exp_custom(&metric, pos));
                return None;
            };
            return Some((0.0, Some(Arc::new(acc))));
        }
        if !hists.is_empty() && !matches!(op, AggregateOp::Count | AggregateOp::Group) {
            self.annotate(annotations::histogram_ignored_in_agg(op.as_str(), pos));
        }
        if floats.is_empty() && !matches!(op, AggregateOp::Count | AggregateOp::Group) {
            return None;
        }
        float_aggregate(op, &mut floats, members.len(), q).map(|v| (v, None))
    }

    /// Warns when both counter resets and non-resets are summed up.
    pub(crate) fn check_reset_collision(
        &mut self,
        hs: &[&model::FloatHistogram],
        pos: crate::ast::PosRange,
    ) {
        use model::histogram::CounterResetHint as H;
        let reset = hs.iter().any(|h| h.counter_reset_hint == H::CounterReset);
        let not_reset = hs
            .iter()
            .any(|h| h.counter_reset_hint == H::NotCounterReset);
        if reset && not_reset {
            self.annotate(annotations::Annotation::warn(
                "conflicting counter resets during histogram aggregation",
                pos,
            ));
        }
    }

    fn top_k(
        &mut self,
        a: &AggregateExpr,
        input: &[Sample],
        groups: &[Group],
        k: usize,
    ) -> Vec<Sample> {
        let mut out = Vec::new();
        for g in groups {
            let mut members: Vec<Sample> = Vec::with_capacity(g.members.len());
            for &i in &g.members {
                let s = &input[i];
                if s.h.is_some() && a.op != AggregateOp::Limitk {
                    self.annotate(annotations::histogram_ignored_in_agg(a.op.as_str(), a.pos));
                    continue;
                }
                members.push(s.clone());
            }
            match a.op {
                AggregateOp::Topk => sort_by_value(&mut members, true),
                AggregateOp::Bottomk => sort_by_value(&mut members, false),
                _ => {}
            }
            members.truncate(k);
            out.extend(members);
        }
        out
    }
}

/// A float aggregation (`sum`, `avg`, `count`, `group`, `min`, `max`, `stddev`, `stdvar`,
/// `quantile` with `q`) of a group's float values; `count` is the number of members (floats
/// and histograms). `None` for other operators.
pub(crate) fn float_aggregate(
    op: AggregateOp,
    floats: &mut [f64],
    count: usize,
    q: f64,
) -> Option<f64> {
    if floats.is_empty() && !matches!(op, AggregateOp::Count | AggregateOp::Group) {
        return None;
    }
    let v = match op {
        AggregateOp::Sum => {
            let (mut sum, mut c) = (0.0, 0.0);
            for f in floats.iter() {
                (sum, c) = inc(*f, sum, c);
            }
            if sum.is_infinite() { sum } else { sum + c }
        }
        AggregateOp::Avg => crate::kernels::over_time::mean(floats.iter().copied()),
        AggregateOp::Count => count as f64,
        AggregateOp::Group => 1.0,
        AggregateOp::Min => floats
            .iter()
            .fold(floats[0], |m, &f| if m > f || m.is_nan() { f } else { m }),
        AggregateOp::Max => floats
            .iter()
            .fold(floats[0], |m, &f| if m < f || m.is_nan() { f } else { m }),
        AggregateOp::Stddev | AggregateOp::Stdvar => {
            let first = floats[0];
            let (mut count, mut mean, mut value) = (
                1.0,
                first,
                if first.is_nan() || first.is_infinite() {
                    f64::NAN
                } else {
                    0.0
                },
            );
            for &f in &floats[1..] {
                count += 1.0;
                let delta = f - mean;
                mean += delta / count;
                value += delta * (f - mean);
            }
            if op == AggregateOp::Stddev {
                (value / count).sqrt()
            } else {
                value / count
            }
        }
        AggregateOp::Quantile => quantile(q, floats),
        _ => return None,
    };
    Some(v)
}

fn count_values(
    input: &[Sample],
    grouping: &[String],
    without: bool,
    label: &str,
    ts: i64,
) -> Vec<Sample> {
    let mut order: Vec<Labels> = Vec::new();
    let mut counts: HashMap<Labels, f64> = HashMap::new();
    for s in input {
        let value = match &s.h {
            Some(h) => super::hist_quantile::histogram_string(h),
            None => format_value(s.f),
        };
        let mut b = s.labels.builder();
        b.set(label, &value);
        let key = group_labels(&b.labels(), grouping, without);
        let c = counts.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            0.0
        });
        *c += 1.0;
    }
    order
        .into_iter()
        .map(|l| Sample::float(l.clone(), ts, counts[&l]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Grouping at a single evaluation (by hashes of the kept pairs) finds the groups that
    /// building each series' group labels does, in the same order.
    #[test]
    fn grouping_once_matches_group_labels() {
        let mut input = Vec::new();
        for i in 0..300 {
            let mut pairs = vec![("__name__", format!("m{}", i % 2))];
            if i % 3 != 0 {
                pairs.push(("job", format!("j{}", i % 5)));
            }
            if i % 7 != 0 {
                pairs.push(("le", String::new() + if i % 4 == 0 { "" } else { "1" }));
            }
            pairs.push(("instance", format!("h{}", i % 11)));
            let mut s = Sample::float(Labels::from_pairs(pairs), 0, i as f64);
            s.drop_name = i % 13 == 0;
            input.push(s);
        }
        let groupings: [&[&str]; 5] = [&[], &["job"], &["job", "le"], &["__name__"], &["nope"]];
        for grouping in groupings {
            let grouping: Vec<String> = grouping.iter().map(|&g| g.to_owned()).collect();
            for without in [false, true] {
                let got = group_once(&input, |s| (&s.labels, s.drop_name), &grouping, without);
                let mut want: Vec<(Labels, Vec<usize>, bool)> = Vec::new();
                for (i, s) in input.iter().enumerate() {
                    let key = group_labels(&s.labels, &grouping, without);
                    match want.iter_mut().find(|g| g.0 == key) {
                        Some(g) => {
                            g.1.push(i);
                            g.2 |= s.drop_name;
                        }
                        None => want.push((key, vec![i], s.drop_name)),
                    }
                }
                let got: Vec<(Labels, Vec<usize>, bool)> = got
                    .into_iter()
                    .map(|g| (g.labels, g.members, g.drop_name))
                    .collect();
                assert_eq!(got, want, "{grouping:?} without={without}");
            }
        }
    }

    #[test]
    fn grouping_and_sorting() {
        let l = Labels::from_pairs([("__name__", "m"), ("a", "1"), ("b", "2")]);
        assert_eq!(
            group_labels(&l, &["a".into()], false),
            Labels::from_pairs([("a", "1")])
        );
        assert_eq!(
            group_labels(&l, &["a".into()], true),
            Labels::from_pairs([("b", "2")])
        );
        let mut v: Vec<Sample> = [1.0, f64::NAN, 3.0, 2.0]
            .iter()
            .map(|&f| Sample::float(Labels::empty(), 0, f))
            .collect();
        sort_by_value(&mut v, true);
        assert_eq!(v[0].f, 3.0);
        assert!(v[3].f.is_nan());
        assert!(in_ratio_sample(1.0, &l));
        assert!(!in_ratio_sample(-1.0 + 1e-300, &l) || in_ratio_sample(-1.0, &l));
    }
}
