//! A subquery met by the step-by-step evaluator (an instant query, or a rule's), its inner
//! expression evaluated a node at a time over the subquery's whole grid instead of once per
//! grid step: `max_over_time(sum by (job) (rate(x[2m]))[30m:1m])` at one instant reads each
//! series' windows with one moving cursor instead of thirty searches.

use std::collections::HashSet;

use model::Labels;

use super::select::reads_query_bounds;
use super::{Bail, RSeries, RVal};
use crate::ast::SubqueryExpr;
use crate::engine::error::EvalError;
use crate::engine::eval::Evaluator;
use crate::kernels::FPoint;
use crate::value::Series;

impl Evaluator<'_> {
    /// The inner values of `sq` at the grid times `first`, `first + step`, … `last`, as the
    /// step-by-step subquery collects them (series in order of evaluation, names to drop
    /// marked); `None` where only step by step answers exactly (histograms, errors, series
    /// with equal labels, the query's bounds read inside), and nothing it did is kept then.
    pub(crate) fn subquery_all_steps(
        &mut self,
        sq: &SubqueryExpr,
        first: i64,
        last: i64,
        step: i64,
    ) -> Result<Option<Vec<Series>>, EvalError> {
        if first > last || step <= 0 || reads_query_bounds(&sq.expr) {
            return Ok(None);
        }
        let outer = (self.start, self.end, self.step);
        let (held, peak, notes) = (self.range_held, self.step_peak, self.annotations.len());
        (self.start, self.end, self.step) = (first, last, step);
        let value = self.eval_range(&sq.expr);
        (self.start, self.end, self.step) = outer;
        (self.range_held, self.step_peak) = (held, peak);
        let series = match value {
            Ok(RVal::Vector(v)) => v,
            Ok(RVal::Scalar(s)) => vec![RSeries {
                labels: Labels::empty(),
                drop_name: false,
                present: vec![true; s.len()],
                vals: s,
            }],
            Ok(RVal::String(_)) | Err(Bail::Fallback) => {
                self.annotations.truncate(notes);
                return Ok(None);
            }
            Err(Bail::Fatal(e)) => return Err(e),
        };
        // Step by step keys a subquery's series by labels alone.
        let mut seen = HashSet::with_capacity(series.len());
        if !series.iter().all(|s| seen.insert(&s.labels)) {
            self.annotations.truncate(notes);
            return Ok(None);
        }
        Ok(Some(
            series
                .into_iter()
                .filter(RSeries::any)
                .map(|s| Series {
                    floats: (0..s.present.len())
                        .filter(|&i| s.present[i])
                        .map(|i| FPoint::new(first + i as i64 * step, s.vals[i]))
                        .collect(),
                    labels: s.labels,
                    histograms: Vec::new(),
                    drop_name: s.drop_name,
                })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use model::{Histogram, Labels, Sample};
    use storage::Appendable;
    use storage::memory::MemoryStorage;

    use crate::engine::Engine;
    use crate::value::Value;

    fn storage() -> MemoryStorage {
        let st = MemoryStorage::new();
        let mut app = st.appender();
        for i in 0..10 {
            let inst = format!("h{i}");
            for (name, code) in [("req_total", "200"), ("req_total", "500"), ("mem", "")] {
                let l = Labels::from_pairs([
                    ("__name__", name),
                    ("instance", inst.as_str()),
                    ("job", if i % 2 == 0 { "a" } else { "b" }),
                    ("code", code),
                ]);
                for s in 0..200 {
                    // A gap, and a reset now and then.
                    if i == 3 && (60..80).contains(&s) {
                        continue;
                    }
                    let v = ((s % 97) * (i + 1)) as f64;
                    app.append(0, &l, s * 15_000 + 7, Sample::Float(v)).unwrap();
                }
            }
        }
        let h = Labels::from_pairs([("__name__", "hist")]);
        for s in 0..200 {
            app.append(
                0,
                &h,
                s * 15_000,
                Sample::Histogram(Histogram::default().into()),
            )
            .unwrap();
        }
        app.commit().unwrap();
        st
    }

    /// Samples as `(labels, value bits)`, sorted.
    fn sorted(v: Value) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = match v {
            Value::Vector(v) => v
                .into_iter()
                .map(|s| (s.labels.to_string(), s.f.to_bits()))
                .collect(),
            Value::Matrix(m) => m
                .into_iter()
                .map(|s| (s.labels.to_string(), s.floats[0].f.to_bits()))
                .collect(),
            other => panic!("{other:?}"),
        };
        out.sort();
        out
    }

    /// An instant query with a subquery (inner expression over the grid a node at a time)
    /// gives the step-by-step evaluator's answer bit for bit.
    #[test]
    fn instant_subqueries_match_step_by_step() {
        let st = storage();
        let e = Engine::default();
        for q in [
            "max_over_time(sum by (job) (rate(req_total[2m]))[30m:1m])",
            "avg_over_time(mem[10m:30s])",
            "rate(req_total[5m:1m])",
            "max_over_time((mem > 100)[10m:1m])",
            "sum_over_time(sum(mem)[10m:])",
            "last_over_time(mem[10m:1m] offset 2m)",
            "count_over_time((mem offset 1m)[10m:45s])",
            "quantile_over_time(0.5, (mem * 2)[20m:1m])",
            "max_over_time(max_over_time(mem[5m:1m])[10m:2m])",
            "count_over_time(hist[10m:1m])",
            "sum_over_time(vector(time())[5m:1m])",
            "max_over_time(label_replace(mem, \"x\", \"$1\", \"instance\", \"(.*)\")[10m:1m])",
        ] {
            for ts in [1_500_000, 2_000_007, 2_985_000] {
                let expr = crate::parser::parse(q).unwrap();
                let instant = e.instant_query_expr(&st, &expr, q, ts, None).unwrap();
                let reference = e
                    .range_query_step_by_step(&st, &expr, q, ts, ts, 1000, None)
                    .unwrap();
                assert_eq!(
                    sorted(instant.value),
                    sorted(reference.value),
                    "{q} at {ts}"
                );
                assert_eq!(instant.annotations, reference.annotations, "{q} at {ts}");
            }
        }
    }
}
