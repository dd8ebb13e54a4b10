//! Query results in Prometheus's JSON shapes: `[t, "v"]` points, `{"metric":..,"value":..}`
//! vector elements, `{"metric":..,"values":..}` matrix series.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use model::{FloatHistogram, Labels, gofmt};
use promql::{Series, Value};

use crate::api::json_numbers::{StepTimes, TimeWriter, append_shortest_f};

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

/// Appends `s` as a JSON string, escaped as every other answer's strings are (serde_json).
fn put_str(out: &mut Vec<u8>, s: &str) {
    let _ = Serializer::serialize_str(&mut serde_json::Serializer::new(&mut *out), s);
}

/// `{"name":"value",...}`.
fn put_labels(out: &mut Vec<u8>, labels: &Labels) {
    out.push(b'{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        put_str(out, l.name);
        out.push(b':');
        put_str(out, l.value);
    }
    out.push(b'}');
}

/// A sample value as a JSON string, as Prometheus's `jsonutil.MarshalFloat` writes it: Go's
/// shortest `'f'` form, or the `'e'` form below 1e-6 and from 1e21 (`"1e-07"`, `"1e+21"`).
fn put_value(out: &mut Vec<u8>, f: f64) {
    out.push(b'"');
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        gofmt::append_shortest_e(out, f);
    } else {
        append_shortest_f(out, f);
    }
    out.push(b'"');
}

/// `[t, "v"]` of a vector or matrix: the time with three decimals when it has a fraction
/// (`jsonutil.MarshalTimestamp`: `1435781451.780`, `10`).
fn put_point(out: &mut Vec<u8>, times: &mut TimeWriter<'_>, t: i64, f: f64) {
    out.push(b'[');
    times.put(out, t);
    out.push(b',');
    put_value(out, f);
    out.push(b']');
}

/// `[t, {count, sum, buckets}]`.
fn put_histogram_point(out: &mut Vec<u8>, t: i64, h: &FloatHistogram) {
    out.push(b'[');
    gofmt::append_millis_as_seconds(out, t);
    out.push(b',');
    out.extend_from_slice(br#"{"count":"#);
    put_value(out, h.count);
    out.extend_from_slice(br#","sum":"#);
    put_value(out, h.sum);
    let buckets = histogram_buckets(h);
    if !buckets.is_empty() {
        out.extend_from_slice(br#","buckets":["#);
        for (i, (rule, lo, hi, c)) in buckets.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            out.push(b'0' + rule);
            for v in [lo, hi, c] {
                out.push(b',');
                put_value(out, v);
            }
            out.push(b']');
        }
        out.push(b']');
    }
    out.extend_from_slice(b"}]");
}

/// The time of a scalar or string result: Go's `encoding/json` of `float64(t) / 1000`
/// (`1435781451.781`, `1.5`, `10`).
fn put_scalar_time(out: &mut Vec<u8>, t: i64) {
    if t % 1000 == 0 {
        gofmt::append_millis_as_seconds(out, t);
    } else {
        gofmt::append_shortest_f(out, t as f64 / 1000.0);
    }
}

/// Appends `{"resultType": ..., "result": ...}` of a query result as Prometheus's API writes it
/// (`web/api/v1` and `util/jsonutil`): values as strings, vector and matrix times in
/// milliseconds' three decimals, the scalar's value in Go's `'f'` form. Written straight into
/// `out`, without a string per value: a range query answers up to millions of points.
pub fn write_query_data(out: &mut Vec<u8>, value: &Value) {
    write_query_data_on(out, value, None);
}

/// As [`write_query_data`], the times of a range query's steps taken from `steps` (formatted
/// once per answer instead of once per point).
pub fn write_query_data_on(out: &mut Vec<u8>, value: &Value, steps: Option<&StepTimes>) {
    out.extend_from_slice(br#"{"resultType":"#);
    put_str(out, value.result_type());
    out.extend_from_slice(br#","result":"#);
    match value {
        Value::Scalar { t, v } => {
            out.push(b'[');
            put_scalar_time(out, *t);
            out.extend_from_slice(b",\"");
            gofmt::append_shortest_f(out, *v);
            out.extend_from_slice(b"\"]");
        }
        Value::String { t, v } => {
            out.push(b'[');
            put_scalar_time(out, *t);
            out.push(b',');
            put_str(out, v);
            out.push(b']');
        }
        Value::Vector(samples) => {
            // An instant vector's samples all have the query's time.
            let at = samples.first().map(|s| StepTimes::new(s.t, s.t, 1, 1));
            out.push(b'[');
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(br#"{"metric":"#);
                put_labels(out, &s.labels);
                match &s.h {
                    Some(h) => {
                        out.extend_from_slice(br#","histogram":"#);
                        put_histogram_point(out, s.t, h);
                    }
                    None => {
                        out.extend_from_slice(br#","value":"#);
                        put_point(out, &mut TimeWriter::new(at.as_ref()), s.t, s.f);
                    }
                }
                out.push(b'}');
            }
            out.push(b']');
        }
        Value::Matrix(series) => {
            out.push(b'[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                put_series(out, s, steps);
            }
            out.push(b']');
        }
    }
    out.push(b'}');
}

/// `{"metric":..,"values":[..],"histograms":[..]}`, each list only when not empty.
fn put_series(out: &mut Vec<u8>, s: &Series, steps: Option<&StepTimes>) {
    out.extend_from_slice(br#"{"metric":"#);
    put_labels(out, &s.labels);
    if !s.floats.is_empty() {
        out.extend_from_slice(br#","values":["#);
        let mut times = TimeWriter::new(steps);
        for (i, p) in s.floats.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            put_point(out, &mut times, p.t, p.f);
        }
        out.push(b']');
    }
    if !s.histograms.is_empty() {
        out.extend_from_slice(br#","histograms":["#);
        for (i, p) in s.histograms.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            put_histogram_point(out, p.t, &p.h);
        }
        out.push(b']');
    }
    out.push(b'}');
}

/// A query's whole answer: `{"status":"success","data":..,"warnings":[..],"infos":[..]}` (the
/// envelope of [`crate::api::Success`], the lists only when not empty); `steps`, a range
/// query's step times (see [`write_query_data_on`]).
#[must_use]
pub fn query_answer(
    value: &Value,
    warnings: &[String],
    infos: &[String],
    steps: Option<&StepTimes>,
) -> Vec<u8> {
    let points = match value {
        Value::Matrix(series) => series.iter().map(|s| s.floats.len() + 4).sum(),
        Value::Vector(samples) => samples.len() * 4,
        _ => 1,
    };
    let mut out = Vec::with_capacity(64 + points * 28);
    out.extend_from_slice(br#"{"status":"success","data":"#);
    write_query_data_on(&mut out, value, steps);
    for (name, list) in [("warnings", warnings), ("infos", infos)] {
        if list.is_empty() {
            continue;
        }
        out.push(b',');
        put_str(&mut out, name);
        out.extend_from_slice(b":[");
        for (i, w) in list.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            put_str(&mut out, w);
        }
        out.push(b']');
    }
    out.push(b'}');
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use model::Labels;
    use promql::Sample;
    use promql::value::FPoint;

    fn data(v: &Value) -> String {
        let mut out = Vec::new();
        write_query_data(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    /// The shapes and number texts of Prometheus's answers (checked against the real
    /// Prometheus 2.42: `vector(1e21)` is `"1e+21"`, the scalar `1e21` is
    /// `"1000000000000000000000"`, a vector's time `1000.500`, a scalar's `1000.5`).
    #[test]
    // 667082108456853.25 is exact in binary (a tie between ...853.2 and ...853.3).
    #[allow(clippy::excessive_precision)]
    fn shapes() {
        let v = Value::Vector(vec![
            Sample::float(
                model::labels!("__name__" => "up", "job" => "a\"b"),
                1_435_781_451_781,
                1.0,
            ),
            Sample::float(Labels::default(), 1_500, 1e21),
            Sample::float(Labels::default(), -50, 1e-7),
            Sample::float(Labels::default(), 2_000, 667_082_108_456_853.25),
            Sample::float(Labels::default(), 2_000, 1e-6),
            Sample::float(Labels::default(), 2_000, f64::NAN),
        ]);
        assert_eq!(
            data(&v),
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\"b"},"value":[1435781451.781,"1"]},{"metric":{},"value":[1.500,"1e+21"]},{"metric":{},"value":[-0.050,"1e-07"]},{"metric":{},"value":[2,"667082108456853.2"]},{"metric":{},"value":[2,"0.000001"]},{"metric":{},"value":[2,"NaN"]}]}"#
        );
        let s = Value::Scalar {
            t: 10_000,
            v: f64::NEG_INFINITY,
        };
        assert_eq!(data(&s), r#"{"resultType":"scalar","result":[10,"-Inf"]}"#);
        let s = Value::Scalar { t: 1_500, v: 1e21 };
        assert_eq!(
            data(&s),
            r#"{"resultType":"scalar","result":[1.5,"1000000000000000000000"]}"#
        );
        let st = Value::String {
            t: 1500,
            v: "x\n".into(),
        };
        assert_eq!(data(&st), r#"{"resultType":"string","result":[1.5,"x\n"]}"#);
        let m = Value::Matrix(vec![
            Series {
                labels: model::labels!("a" => "1"),
                floats: vec![
                    FPoint { t: 999_750, f: 0.5 },
                    FPoint {
                        t: 1_000_000,
                        f: -2.0,
                    },
                ],
                ..Series::default()
            },
            Series::default(),
        ]);
        assert_eq!(
            data(&m),
            r#"{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[999.750,"0.5"],[1000,"-2"]]},{"metric":{}}]}"#
        );
        assert_eq!(
            data(&Value::Matrix(vec![])),
            r#"{"resultType":"matrix","result":[]}"#
        );
        // With the range query's step times in a table: the same bytes.
        let mut on = Vec::new();
        write_query_data_on(
            &mut on,
            &m,
            Some(&StepTimes::new(999_500, 1_000_000, 250, 11_000)),
        );
        assert_eq!(String::from_utf8(on).unwrap(), data(&m));
    }

    #[test]
    fn histograms() {
        let h = FloatHistogram {
            count: 3.0,
            sum: 1e-9,
            schema: 0,
            zero_threshold: 0.001,
            zero_count: 1.0,
            positive_spans: vec![model::Span {
                offset: 1,
                length: 2,
            }],
            positive_buckets: vec![2.0, 0.0],
            ..FloatHistogram::default()
        };
        let v = Value::Vector(vec![Sample {
            h: Some(std::sync::Arc::new(h)),
            ..Sample::float(Labels::default(), 1_001, 0.0)
        }]);
        assert_eq!(
            data(&v),
            r#"{"resultType":"vector","result":[{"metric":{},"histogram":[1.001,{"count":"3","sum":"1e-09","buckets":[[3,"-0.001","0.001","1"],[0,"1","2","2"]]}]}]}"#
        );
    }

    #[test]
    fn the_answer_envelope() {
        let v = Value::Scalar { t: 0, v: 1.0 };
        assert_eq!(
            String::from_utf8(query_answer(&v, &[], &[], None)).unwrap(),
            r#"{"status":"success","data":{"resultType":"scalar","result":[0,"1"]}}"#
        );
        assert_eq!(
            String::from_utf8(query_answer(
                &v,
                &["w \"1\"".into()],
                &["i".into(), "j".into()],
                None
            ))
            .unwrap(),
            r#"{"status":"success","data":{"resultType":"scalar","result":[0,"1"]},"warnings":["w \"1\""],"infos":["i","j"]}"#
        );
    }
}
