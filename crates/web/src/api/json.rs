//! Query results in Prometheus's JSON shapes: `[t, "v"]` points, `{"metric":..,"value":..}`
//! vector elements, `{"metric":..,"values":..}` matrix series.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, SerializeTuple, Serializer};

use model::{FloatHistogram, Labels};
use promql::value::format_value;
use promql::{Sample, Series, Value};

/// A label set as a JSON object.
pub struct JsonLabels<'a>(pub &'a Labels);

impl Serialize for JsonLabels<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for l in self.0 {
            m.serialize_entry(l.name, l.value)?;
        }
        m.end()
    }
}

/// A timestamp in milliseconds, written as a JSON number of seconds (`1435781451.781`).
struct JsonTime(i64);

impl Serialize for JsonTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Whole seconds as integers (`10`, as Go writes them), others as the shortest float
        // that round-trips, which for millisecond values is the exact decimal (`1.5`).
        if self.0 % 1000 == 0 {
            s.serialize_i64(self.0 / 1000)
        } else {
            s.serialize_f64(self.0 as f64 / 1000.0)
        }
    }
}

/// `[t, "v"]`.
struct JsonPoint(i64, f64);

impl Serialize for JsonPoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&JsonTime(self.0))?;
        t.serialize_element(&format_value(self.1))?;
        t.end()
    }
}

/// `[t, {count, sum, buckets}]`.
struct JsonHistogramPoint<'a>(i64, &'a FloatHistogram);

impl Serialize for JsonHistogramPoint<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&JsonTime(self.0))?;
        t.serialize_element(&JsonHistogram(self.1))?;
        t.end()
    }
}

struct JsonHistogram<'a>(&'a FloatHistogram);

impl Serialize for JsonHistogram<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("count", &format_value(h.count))?;
        m.serialize_entry("sum", &format_value(h.sum))?;
        let buckets = histogram_buckets(h);
        if !buckets.is_empty() {
            let rows: Vec<(u8, String, String, String)> = buckets
                .into_iter()
                .map(|(rule, lo, hi, c)| {
                    (rule, format_value(lo), format_value(hi), format_value(c))
                })
                .collect();
            m.serialize_entry("buckets", &rows)?;
        }
        m.end()
    }
}

/// The non-empty buckets of `h` as `(boundary rule, lower, upper, count)` in ascending order;
/// the rule is Prometheus's: 0 open left, 1 open right (negative), 2 open both, 3 closed
/// (the zero bucket).
fn histogram_buckets(h: &FloatHistogram) -> Vec<(u8, f64, f64, f64)> {
    let base = 2f64.powf(2f64.powi(-h.schema));
    let bounds = |idx: i32| -> (f64, f64) {
        if h.schema == -53 {
            let i = idx as usize;
            let lo = if i == 0 {
                f64::NEG_INFINITY
            } else {
                h.custom_values.get(i - 1).copied().unwrap_or(f64::INFINITY)
            };
            let hi = h.custom_values.get(i).copied().unwrap_or(f64::INFINITY);
            (lo, hi)
        } else {
            (base.powi(idx - 1), base.powi(idx))
        }
    };
    let expand = |spans: &[model::Span], counts: &[f64]| -> Vec<(i32, f64)> {
        let mut out = Vec::new();
        let mut idx = 0i32;
        let mut ci = 0usize;
        for span in spans {
            idx += span.offset;
            for _ in 0..span.length {
                if let Some(&c) = counts.get(ci) {
                    out.push((idx, c));
                }
                ci += 1;
                idx += 1;
            }
        }
        out
    };
    let mut out = Vec::new();
    for (idx, c) in expand(&h.negative_spans, &h.negative_buckets)
        .into_iter()
        .rev()
    {
        if c != 0.0 {
            let (lo, hi) = bounds(idx);
            out.push((1, -hi, -lo, c));
        }
    }
    if h.zero_count != 0.0 {
        out.push((3, -h.zero_threshold, h.zero_threshold, h.zero_count));
    }
    for (idx, c) in expand(&h.positive_spans, &h.positive_buckets) {
        if c != 0.0 {
            let (lo, hi) = bounds(idx);
            out.push((0, lo, hi, c));
        }
    }
    out
}

struct JsonSample<'a>(&'a Sample);

impl Serialize for JsonSample<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("metric", &JsonLabels(&self.0.labels))?;
        match &self.0.h {
            Some(h) => m.serialize_entry("histogram", &JsonHistogramPoint(self.0.t, h))?,
            None => m.serialize_entry("value", &JsonPoint(self.0.t, self.0.f))?,
        }
        m.end()
    }
}

struct JsonSeries<'a>(&'a Series);

impl Serialize for JsonSeries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let series = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("metric", &JsonLabels(&series.labels))?;
        if !series.floats.is_empty() {
            let pts: Vec<JsonPoint> = series.floats.iter().map(|p| JsonPoint(p.t, p.f)).collect();
            m.serialize_entry("values", &pts)?;
        }
        if !series.histograms.is_empty() {
            let pts: Vec<JsonHistogramPoint<'_>> = series
                .histograms
                .iter()
                .map(|p| JsonHistogramPoint(p.t, &p.h))
                .collect();
            m.serialize_entry("histograms", &pts)?;
        }
        m.end()
    }
}

/// `{"resultType": ..., "result": ...}`.
pub struct QueryData<'a>(pub &'a Value);

impl Serialize for QueryData<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("resultType", self.0.result_type())?;
        match self.0 {
            Value::Scalar { t, v } => m.serialize_entry("result", &JsonPoint(*t, *v))?,
            Value::String { t, v } => m.serialize_entry("result", &(JsonTime(*t), v))?,
            Value::Vector(samples) => {
                m.serialize_entry("result", &SeqOf(samples, JsonSample))?;
            }
            Value::Matrix(series) => {
                m.serialize_entry("result", &SeqOf(series, JsonSeries))?;
            }
        }
        m.end()
    }
}

struct SeqOf<'a, T, W, F: Fn(&'a T) -> W>(&'a [T], F);

impl<'a, T, W: Serialize, F: Fn(&'a T) -> W> Serialize for SeqOf<'a, T, W, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for x in self.0 {
            seq.serialize_element(&(self.1)(x))?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let v = Value::Vector(vec![Sample::float(
            model::labels!("__name__" => "up", "job" => "a"),
            1_435_781_451_781,
            1.0,
        )]);
        assert_eq!(
            serde_json::to_string(&QueryData(&v)).unwrap(),
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1435781451.781,"1"]}]}"#
        );
        let s = Value::Scalar {
            t: 10_000,
            v: f64::NEG_INFINITY,
        };
        assert_eq!(
            serde_json::to_string(&QueryData(&s)).unwrap(),
            r#"{"resultType":"scalar","result":[10,"-Inf"]}"#
        );
        let st = Value::String {
            t: 1500,
            v: "x".into(),
        };
        assert_eq!(
            serde_json::to_string(&QueryData(&st)).unwrap(),
            r#"{"resultType":"string","result":[1.5,"x"]}"#
        );
    }
}
