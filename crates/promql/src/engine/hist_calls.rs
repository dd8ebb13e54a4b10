//! Functions over histogram vectors: `histogram_quantile`, `histogram_quantiles` and
//! `histogram_fraction`, for classic `le` buckets and native histograms alike.

use std::collections::HashMap;
use std::sync::Arc;

use model::{FloatHistogram, Labels};

use super::annotations::{self, Annotation};
use super::eval::Evaluator;
use super::functions::parse_go_float;
use super::hist_quantile;
use crate::ast::Call;
use crate::kernels::quantile::{self, Bucket};
use crate::value::Sample;

/// A classic histogram gathered from its `le` series.
struct Classic {
    /// The labels without `le` (and with the name, for messages).
    sig: Labels,
    /// The output labels (without `le` and name).
    labels: Labels,
    buckets: Vec<Bucket>,
}

/// A float as OpenMetrics writes it (`1.0`, `0.25`, `+Inf`).
fn openmetrics_float(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        crate::value::format_value(v)
    }
}

impl Evaluator<'_> {
    /// Splits a vector into classic histograms (by labels without `le`) and native ones;
    /// a native histogram with the labels of a classic one makes both be ignored.
    fn split_histograms(
        &mut self,
        v: Vec<Sample>,
        pos: crate::ast::PosRange,
    ) -> (Vec<Classic>, Vec<(Labels, Arc<FloatHistogram>)>) {
        let mut classics: Vec<Classic> = Vec::new();
        let mut index: HashMap<Labels, usize> = HashMap::new();
        let mut natives = Vec::new();
        for s in v {
            if let Some(h) = s.h {
                natives.push((s.labels, h));
                continue;
            }
            let le = s.labels.get("le").unwrap_or("");
            let Ok(ub) = parse_go_float(le) else {
                let metric = s.labels.metric_name().unwrap_or("").to_owned();
                self.annotate(annotations::bad_bucket_label(&metric, le, pos));
                continue;
            };
            let mut b = s.labels.builder();
            b.del("le");
            let sig = b.labels();
            let i = *index.entry(sig.clone()).or_insert_with(|| {
                let mut b = sig.builder();
                b.del(model::METRIC_NAME);
                classics.push(Classic {
                    sig: sig.clone(),
                    labels: b.labels(),
                    buckets: Vec::new(),
                });
                classics.len() - 1
            });
            classics[i].buckets.push(Bucket {
                upper_bound: ub,
                count: s.f,
            });
        }
        natives.retain(|(l, _)| {
            let Some(&i) = index.get(l) else { return true };
            let metric = l.metric_name().unwrap_or("").to_owned();
            self.annotate(Annotation::warn(
                format!("vector contains a mix of classic and native histograms for metric name {metric:?}"),
                pos,
            ));
            classics[i].buckets.clear();
            false
        });
        classics.retain(|c| !c.buckets.is_empty());
        (classics, natives)
    }

    /// Reports NaN observations in a histogram function's input.
    fn note_nans(
        &mut self,
        note: hist_quantile::NanNote,
        func: &str,
        labels: &Labels,
        pos: crate::ast::PosRange,
    ) {
        let metric = labels.metric_name().unwrap_or("");
        let text = match (note, func) {
            (hist_quantile::NanNote::None, _) => return,
            (hist_quantile::NanNote::NanResult, _) => {
                format!("input to {func} has NaN observations, result is NaN")
            }
            (hist_quantile::NanNote::Skewed, "histogram_fraction") => {
                format!(
                    "input to {func} has NaN observations, which are excluded from all fractions"
                )
            }
            (hist_quantile::NanNote::Skewed, _) => {
                format!("input to {func} has NaN observations, result is skewed higher")
            }
        };
        let text = if metric.is_empty() {
            text
        } else {
            format!("{text} for metric name {metric:?}")
        };
        self.annotate(Annotation::info(text, pos));
    }

    /// `histogram_quantile(q, v)`.
    pub(crate) fn histogram_quantile(
        &mut self,
        c: &Call,
        q: f64,
        v: Vec<Sample>,
        ts: i64,
    ) -> Vec<Sample> {
        if q.is_nan() || !(0.0..=1.0).contains(&q) {
            self.annotate(annotations::invalid_quantile(q, c.args[0].pos()));
        }
        let pos = c.args[1].pos();
        let (classics, natives) = self.split_histograms(v, pos);
        let mut out = Vec::new();
        for (labels, h) in natives {
            let (f, note) = hist_quantile::histogram_quantile_noted(q, &h);
            self.note_nans(note, "histogram_quantile", &labels, pos);
            out.push(Sample {
                labels,
                t: ts,
                f,
                h: None,
                drop_name: true,
            });
        }
        for mut cl in classics {
            let (f, fixes) = quantile::bucket_quantile(q, &mut cl.buckets);
            if fixes.forced_monotonic {
                self.annotate(annotations::forced_monotonicity(
                    cl.sig.metric_name().unwrap_or(""),
                    pos,
                ));
            }
            out.push(Sample {
                labels: cl.labels,
                t: ts,
                f,
                h: None,
                drop_name: true,
            });
        }
        out
    }

    /// `histogram_quantiles(v, "label", q1, q2, ...)`: one series per quantile.
    pub(crate) fn histogram_quantiles(
        &mut self,
        c: &Call,
        label: &str,
        qs: &[f64],
        v: Vec<Sample>,
        ts: i64,
    ) -> Vec<Sample> {
        for (i, q) in qs.iter().enumerate() {
            if q.is_nan() || !(0.0..=1.0).contains(q) {
                self.annotate(annotations::invalid_quantile(*q, c.args[i + 2].pos()));
            }
        }
        let pos = c.args[0].pos();
        let (classics, natives) = self.split_histograms(v, pos);
        let with_q = |l: &Labels, q: f64| {
            let mut b = l.builder();
            b.set(label, &openmetrics_float(q));
            b.labels()
        };
        let mut out = Vec::new();
        for &q in qs {
            for (labels, h) in &natives {
                let (f, note) = hist_quantile::histogram_quantile_noted(q, h);
                self.note_nans(note, "histogram_quantile", labels, pos);
                out.push(Sample {
                    labels: with_q(labels, q),
                    t: ts,
                    f,
                    h: None,
                    drop_name: true,
                });
            }
            for cl in &classics {
                let mut buckets = cl.buckets.clone();
                let (f, fixes) = quantile::bucket_quantile(q, &mut buckets);
                if fixes.forced_monotonic {
                    self.annotate(annotations::forced_monotonicity(
                        cl.sig.metric_name().unwrap_or(""),
                        pos,
                    ));
                }
                out.push(Sample {
                    labels: with_q(&cl.labels, q),
                    t: ts,
                    f,
                    h: None,
                    drop_name: true,
                });
            }
        }
        out
    }

    /// `histogram_fraction(lower, upper, v)`.
    pub(crate) fn histogram_fraction(
        &mut self,
        c: &Call,
        lower: f64,
        upper: f64,
        v: Vec<Sample>,
        ts: i64,
    ) -> Vec<Sample> {
        let (classics, natives) = self.split_histograms(v, c.args[2].pos());
        let mut out = Vec::new();
        for (labels, h) in natives {
            let f = hist_quantile::histogram_fraction(lower, upper, &h);
            if h.sum.is_nan()
                && hist_quantile::all_buckets(&h)
                    .iter()
                    .map(|b| b.count)
                    .sum::<f64>()
                    < h.count
            {
                self.note_nans(
                    hist_quantile::NanNote::Skewed,
                    "histogram_fraction",
                    &labels,
                    c.args[2].pos(),
                );
            }
            out.push(Sample {
                labels,
                t: ts,
                f,
                h: None,
                drop_name: true,
            });
        }
        for mut cl in classics {
            let f = quantile::bucket_fraction(lower, upper, &mut cl.buckets);
            out.push(Sample {
                labels: cl.labels,
                t: ts,
                f,
                h: None,
                drop_name: true,
            });
        }
        out
    }
}
