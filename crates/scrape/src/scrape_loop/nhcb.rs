//! `convert_classic_histograms_to_nhcb`: the series of a classic histogram (`X_bucket{le=...}`,
//! `X_count`, `X_sum`), as a scrape meets them one after the other, are collected and stored
//! as one native histogram with custom buckets (schema -53) named `X`, as Prometheus's NHCB
//! parser does.
//!
//! Only series of a family whose `TYPE` is `histogram` and whose name is that family's name
//! with one of the three suffixes are collected. A group ends at the first entry that is not
//! part of it (another series, a `HELP`/`TYPE` line, the end of the exposition). The bucket
//! bounds (the `le` values without `+Inf`) become the custom values; counts must be
//! cumulative, and the `+Inf` bucket, when given, must equal `_count`; a group that breaks
//! either rule is not converted. Counts that are all integers make an integer histogram
//! (empty buckets kept in runs of up to two, as Prometheus's `Compact(2)`), others a float one
//! (no empty bucket kept).

use std::sync::Arc;

use model::exposition::{ExemplarRef, LabelPair, MetricType};
use model::{FloatHistogram, Histogram, Labels, Sample, Span, Timestamp};
use storage::Exemplar;

/// The schema of native histograms with custom buckets.
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// What a classic histogram series contributes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    /// A `_bucket` series with its `le` bound.
    Bucket(f64),
    /// The `_count` series.
    Count,
    /// The `_sum` series.
    Sum,
}

/// Why a classic histogram could not be converted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConvertError {
    /// A bucket with a negative count.
    #[error("bucket count must be non-negative: le={le}, count={count}")]
    NegativeBucketCount {
        /// The bucket's bound.
        le: f64,
        /// Its count.
        count: f64,
    },
    /// A negative `_count`.
    #[error("count must be non-negative: count={0}")]
    NegativeCount(f64),
    /// Neither buckets nor `_count`.
    #[error("count must be provided when no buckets are present")]
    MissingCount,
    /// A bucket counting fewer observations than one with a lower bound.
    #[error("count is not cumulative: le={le} counts {count}, less than {below} below it")]
    NotCumulative {
        /// The bound of the offending bucket.
        le: f64,
        /// Its count.
        count: f64,
        /// The count of the bucket below it.
        below: f64,
    },
    /// `_count` differs from the `+Inf` bucket.
    #[error("count mismatch: count={count} != le=+Inf count={inf}")]
    CountMismatch {
        /// `_count`.
        count: f64,
        /// The `+Inf` bucket's count.
        inf: f64,
    },
}

/// The collected series of one classic histogram.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ClassicHistogram {
    /// `(le, cumulative count)`, sorted by bound, one per bound (a repeated bound keeps its
    /// first count).
    buckets: Vec<(f64, f64)>,
    count: Option<f64>,
    sum: f64,
    /// The first error met while collecting.
    error: Option<ConvertError>,
}

impl ClassicHistogram {
    /// Forgets everything collected.
    pub fn clear(&mut self) {
        self.buckets.clear();
        self.count = None;
        self.sum = 0.0;
        self.error = None;
    }

    /// Records the cumulative `count` of the bucket bounded by `le` (not NaN).
    pub fn set_bucket(&mut self, le: f64, count: f64) {
        if self.error.is_some() {
            return;
        }
        if count < 0.0 {
            self.error = Some(ConvertError::NegativeBucketCount { le, count });
            return;
        }
        let i = self.buckets.partition_point(|b| b.0 < le);
        if self.buckets.get(i).is_some_and(|b| b.0 == le) {
            return;
        }
        if let Some(&(_, below)) = i.checked_sub(1).and_then(|j| self.buckets.get(j))
            && count < below
        {
            self.error = Some(ConvertError::NotCumulative { le, count, below });
            return;
        }
        if let Some(&(above_le, above)) = self.buckets.get(i)
            && count > above
        {
            self.error = Some(ConvertError::NotCumulative {
                le: above_le,
                count: above,
                below: count,
            });
            return;
        }
        self.buckets.insert(i, (le, count));
    }

    /// Records `_count`.
    pub fn set_count(&mut self, count: f64) {
        if self.error.is_none() && count < 0.0 {
            self.error = Some(ConvertError::NegativeCount(count));
        }
        self.count = Some(count);
    }

    /// Records `_sum`.
    pub fn set_sum(&mut self, sum: f64) {
        self.sum = sum;
    }

    /// The native histogram with custom buckets: [`Sample::Histogram`] when every count is an
    /// integer, else [`Sample::FloatHistogram`].
    ///
    /// # Errors
    /// The rule the collected series break.
    pub fn convert(&self) -> Result<Sample, ConvertError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let count = match (self.count, self.buckets.last()) {
            (Some(c), _) => c,
            (None, Some(&(_, c))) => c,
            (None, None) => return Err(ConvertError::MissingCount),
        };
        let mut cumulative: Vec<f64> = self.buckets.iter().map(|b| b.1).collect();
        let mut bounds: Vec<f64> = self.buckets.iter().map(|b| b.0).collect();
        if bounds.last() == Some(&f64::INFINITY) {
            bounds.pop();
        } else {
            cumulative.push(count);
        }
        let inf = cumulative.last().copied().unwrap_or(count);
        if inf != count {
            return Err(ConvertError::CountMismatch { count, inf });
        }
        let mut counts = Vec::with_capacity(cumulative.len());
        let mut previous = 0.0;
        for c in cumulative {
            counts.push(c - previous);
            previous = c;
        }
        let integral = |v: f64| v.fract() == 0.0 && v.abs() < 2f64.powi(63);
        if integral(count) && counts.iter().all(|&c| integral(c)) {
            let (positive_spans, kept) = compact(&counts, 2);
            let mut deltas = Vec::with_capacity(kept.len());
            let mut prev = 0i64;
            for c in kept {
                let c = c as i64;
                deltas.push(c - prev);
                prev = c;
            }
            Ok(Sample::Histogram(Arc::new(Histogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                count: count as u64,
                sum: self.sum,
                positive_spans,
                positive_buckets: deltas,
                custom_values: bounds,
                ..Histogram::default()
            })))
        } else {
            let (positive_spans, positive_buckets) = compact(&counts, 0);
            Ok(Sample::FloatHistogram(Arc::new(FloatHistogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                count,
                sum: self.sum,
                positive_spans,
                positive_buckets,
                custom_values: bounds,
                ..FloatHistogram::default()
            })))
        }
    }
}

/// The spans and counts of the non-empty buckets of `counts` (bucket `i` at index `i`), runs
/// of at most `max_empty` empty buckets between two non-empty ones kept inside one span.
fn compact(counts: &[f64], max_empty: usize) -> (Vec<Span>, Vec<f64>) {
    let mut spans: Vec<Span> = Vec::new();
    let mut kept = Vec::new();
    // The index one past the last bucket kept.
    let mut end = 0usize;
    for (i, &c) in counts.iter().enumerate() {
        if c == 0.0 {
            continue;
        }
        match spans.last_mut() {
            Some(span) if i - end <= max_empty => {
                kept.extend(std::iter::repeat_n(0.0, i - end));
                span.length += (i - end) as u32 + 1;
            }
            _ => spans.push(Span {
                offset: (i - end) as i32,
                length: 1,
            }),
        }
        kept.push(c);
        end = i + 1;
    }
    (spans, kept)
}

/// The `le` bound of a bucket label value, as Go's `strconv.ParseFloat` reads it; NaN and
/// unreadable values are not buckets.
fn parse_le(value: &str) -> Option<f64> {
    value.parse::<f64>().ok().filter(|v| !v.is_nan())
}

/// A converted classic histogram, ready to append as the series `name{labels}`.
#[derive(Debug)]
pub struct Converted {
    /// The cache key of the histogram series (never the bytes of an exposed series).
    pub key: Vec<u8>,
    /// The family name.
    pub name: String,
    /// The labels of the classic series without `le`, in their written order.
    pub labels: Vec<LabelPair<'static>>,
    /// The histogram.
    pub sample: Sample,
    /// The timestamp of the group's first series, if it had one.
    pub timestamp: Option<i64>,
    /// The start (created) timestamp of the group's first series, 0 if none.
    pub start: Timestamp,
    /// The exemplars of its buckets (their timestamps default to the sample's).
    pub exemplars: Vec<PendingExemplar>,
}

/// An exemplar of a bucket, kept until the histogram is appended.
#[derive(Debug, Clone)]
pub struct PendingExemplar {
    /// Its labels.
    pub labels: Labels,
    /// Its value.
    pub value: f64,
    /// Its timestamp, if the exposition gave one.
    pub timestamp: Option<i64>,
}

impl PendingExemplar {
    /// The storage's exemplar, timestamped `t` when it had no timestamp of its own.
    #[must_use]
    pub fn to_exemplar(&self, t: Timestamp) -> Exemplar {
        Exemplar {
            labels: self.labels.clone(),
            value: self.value,
            ts: self.timestamp.unwrap_or(t),
            has_ts: self.timestamp.is_some(),
        }
    }
}

/// One series of an exposition, as the collector sees it.
#[derive(Debug, Clone, Copy)]
pub struct ClassicSeries<'s, 'p, 'a> {
    /// Its name.
    pub name: &'s str,
    /// Its labels (without the name).
    pub labels: &'s [LabelPair<'a>],
    /// Its value.
    pub value: f64,
    /// Its timestamp, if written.
    pub timestamp: Option<i64>,
    /// Its start timestamp (0 when none).
    pub start: Timestamp,
    /// Its exemplar.
    pub exemplar: Option<&'s ExemplarRef<'p, 'a>>,
}

/// Collects the classic histograms of one exposition, one group at a time.
#[derive(Debug, Default)]
pub struct Collector {
    /// The last `TYPE` seen: family name and type.
    family: Option<(String, MetricType)>,
    /// Whether a group is being collected.
    collecting: bool,
    /// The group's key: `0xfe`, the family name, then the labels without `le` sorted by
    /// name, each as `0xff name 0xff value`.
    key: Vec<u8>,
    /// Scratch key of the series being looked at.
    scratch: Vec<u8>,
    /// The key of the last native histogram appended: its classic series stay classic.
    native: Vec<u8>,
    /// The family name of the group in progress.
    name: String,
    labels: Vec<LabelPair<'static>>,
    histogram: ClassicHistogram,
    timestamp: Option<i64>,
    start: Timestamp,
    exemplars: Vec<PendingExemplar>,
}

/// The family name and role of a series of a histogram family, if it is one of its classic
/// series.
fn classify(family: &str, name: &str, labels: &[LabelPair<'_>]) -> Option<Role> {
    let (base, role) = if let Some(base) = name.strip_suffix("_bucket") {
        let le = labels.iter().find(|l| l.name == "le")?;
        (base, Role::Bucket(parse_le(&le.value)?))
    } else if let Some(base) = name.strip_suffix("_count") {
        (base, Role::Count)
    } else if let Some(base) = name.strip_suffix("_sum") {
        (base, Role::Sum)
    } else {
        return None;
    };
    (base == family).then_some(role)
}

/// Writes the group key of `family{labels}` without `le` into `out`.
fn group_key(out: &mut Vec<u8>, family: &str, labels: &[LabelPair<'_>]) {
    out.clear();
    out.push(0xfe);
    out.extend_from_slice(family.as_bytes());
    let mut sorted: Vec<&LabelPair<'_>> = labels.iter().filter(|l| l.name != "le").collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for l in sorted {
        out.push(0xff);
        out.extend_from_slice(l.name.as_bytes());
        out.push(0xff);
        out.extend_from_slice(l.value.as_bytes());
    }
}

impl Collector {
    /// Starts a new exposition: nothing collected, no family known.
    pub fn reset(&mut self) {
        self.family = None;
        self.collecting = false;
        self.native.clear();
        self.histogram.clear();
        self.exemplars.clear();
    }

    /// Whether the last `TYPE` declared a histogram (only then can a series be collected).
    #[must_use]
    pub fn in_histogram_family(&self) -> bool {
        matches!(self.family, Some((_, MetricType::Histogram)))
    }

    /// Records a `TYPE` line. Call [`Collector::finish`] first.
    pub fn set_family(&mut self, name: &str, metric_type: MetricType) {
        self.family = Some((name.to_owned(), metric_type));
    }

    /// Records that the native histogram `name{labels}` was appended: the classic series of
    /// the same histogram (protobuf with `always_scrape_classic_histograms`) stay classic.
    pub fn native_histogram(&mut self, name: &str, labels: &[LabelPair<'_>]) {
        group_key(&mut self.native, name, labels);
    }

    /// Offers a series. Returns `Ok(true)` when it belongs to a classic histogram and was
    /// collected; `finished` then holds the group it ended, if any. `Ok(false)` for other
    /// series, which also end the group in progress (into `finished`).
    pub fn offer(
        &mut self,
        s: &ClassicSeries<'_, '_, '_>,
        finished: &mut Option<Converted>,
    ) -> bool {
        let role = match &self.family {
            Some((family, MetricType::Histogram)) => {
                classify(family, s.name, s.labels).map(|r| (r, family.len()))
            }
            _ => None,
        };
        let Some((role, base_len)) = role else {
            *finished = self.finish();
            return false;
        };
        let base = &s.name[..base_len];
        let mut scratch = std::mem::take(&mut self.scratch);
        group_key(&mut scratch, base, s.labels);
        if scratch == self.native {
            self.scratch = scratch;
            *finished = self.finish();
            return false;
        }
        if self.collecting && scratch != self.key {
            *finished = self.finish();
        }
        if !self.collecting {
            self.collecting = true;
            std::mem::swap(&mut self.key, &mut scratch);
            self.name.clear();
            self.name.push_str(base);
            self.labels = s
                .labels
                .iter()
                .filter(|l| l.name != "le")
                .map(|l| LabelPair {
                    name: l.name.clone().into_owned().into(),
                    value: l.value.clone().into_owned().into(),
                })
                .collect();
            self.timestamp = s.timestamp;
            self.start = s.start;
        }
        self.scratch = scratch;
        match role {
            Role::Bucket(le) => self.histogram.set_bucket(le, s.value),
            Role::Count => self.histogram.set_count(s.value),
            Role::Sum => self.histogram.set_sum(s.value),
        }
        if let Some(x) = s.exemplar {
            self.exemplars.push(PendingExemplar {
                labels: Labels::from_pairs(x.labels.iter().map(|l| (&*l.name, &*l.value))),
                value: x.value,
                timestamp: x.timestamp,
            });
        }
        true
    }

    /// Ends the group in progress: its histogram, or `None` when there was none or it could
    /// not be converted (a debug log says why).
    pub fn finish(&mut self) -> Option<Converted> {
        if !self.collecting {
            return None;
        }
        self.collecting = false;
        let converted = self.histogram.convert();
        self.histogram.clear();
        let exemplars = std::mem::take(&mut self.exemplars);
        let name = std::mem::take(&mut self.name);
        match converted {
            Ok(sample) => Some(Converted {
                key: self.key.clone(),
                name,
                labels: std::mem::take(&mut self.labels),
                sample,
                timestamp: self.timestamp,
                start: self.start,
                exemplars,
            }),
            Err(e) => {
                tracing::debug!(histogram = %name, error = %e, "classic histogram not converted to NHCB");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
