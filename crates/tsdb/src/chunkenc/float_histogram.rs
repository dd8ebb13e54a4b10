//! Float native histogram chunks (Prometheus's `EncFloatHistogram`): the same header and
//! layout as integer histogram chunks; the first sample stores count, zero count, sum and every
//! bucket as raw floats, later samples XOR-compress each of them against its previous value
//! (each with its own zero window) after a varbit timestamp delta-of-delta.

use model::histogram::{CounterResetHint, FloatHistogram};
use model::{Timestamp, is_stale_nan};
use storage::{SampleIterator, StorageError, ValueType};

use super::bstream::{BitReader, BitWriter, EndOfStream};
use super::histogram::{
    CUSTOM_BUCKETS_SCHEMA, CounterResetHeader, FLAG_POS, HEADER, HistogramAppend, count_spans,
    put_custom_bound, put_spans, put_zero_threshold, read_custom_bound, read_spans,
    read_zero_threshold,
};
use super::varbit::{
    put_varbit_int, put_varbit_uint, read_varbit_int, read_varbit_uint, xor_read, xor_write,
};
use super::{Chunk, Encoding};
use crate::error::TsdbError;

/// A float value with its own XOR zero window.
#[derive(Debug, Clone, Copy, Default)]
struct XorValue {
    bits: u64,
    leading: u8,
    trailing: u8,
}

impl XorValue {
    fn fresh(v: f64) -> Self {
        Self {
            bits: v.to_bits(),
            leading: 0xff,
            trailing: 0,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct State {
    schema: i32,
    z_threshold: f64,
    p_spans: Vec<model::histogram::Span>,
    n_spans: Vec<model::histogram::Span>,
    custom_values: Vec<f64>,
    t: Timestamp,
    t_delta: i64,
    cnt: XorValue,
    z_cnt: XorValue,
    sum: XorValue,
    p: Vec<XorValue>,
    n: Vec<XorValue>,
}

/// A chunk of float native histograms, with the state to append more.
#[derive(Debug, Clone)]
pub struct FloatHistogramChunk {
    w: BitWriter,
    s: State,
}

impl FloatHistogramChunk {
    /// An empty chunk declaring `header`.
    #[must_use]
    pub fn new(header: CounterResetHeader) -> Self {
        let mut stream = Vec::with_capacity(128);
        stream.extend_from_slice(&[0, 0, header.bits()]);
        Self {
            w: BitWriter::from_parts(stream, 0),
            s: State::default(),
        }
    }

    /// Number of samples.
    #[must_use]
    pub fn num_samples(&self) -> usize {
        let b = self.w.bytes();
        usize::from(u16::from_be_bytes([b[0], b[1]]))
    }

    /// The counter-reset header.
    #[must_use]
    pub fn counter_reset_header(&self) -> CounterResetHeader {
        CounterResetHeader::from_byte(self.w.bytes()[FLAG_POS])
    }

    fn set_header(&mut self, h: CounterResetHeader) {
        let b = &mut self.w.bytes_mut()[FLAG_POS];
        *b = (*b & 0b0011_1111) | h.bits();
    }

    /// The encoded bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        self.w.bytes()
    }

    /// Takes the encoded bytes.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.w.into_parts().0
    }

    /// An iterator over the samples, borrowing the chunk.
    #[must_use]
    pub fn iter(&self) -> FloatHistogramIterator<&[u8]> {
        FloatHistogramIterator::new(self.w.bytes())
    }

    fn refusal(&self, h: &FloatHistogram) -> Option<CounterResetHeader> {
        let s = &self.s;
        let same_layout = h.schema == s.schema
            && h.zero_threshold.to_bits() == s.z_threshold.to_bits()
            && h.positive_spans == s.p_spans
            && h.negative_spans == s.n_spans
            && (h.schema != CUSTOM_BUCKETS_SCHEMA || h.custom_values == s.custom_values);
        let prev_stale = is_stale_nan(f64::from_bits(s.sum.bits));
        if self.counter_reset_header() == CounterResetHeader::Gauge {
            if is_stale_nan(h.sum) {
                return None;
            }
            return (prev_stale || !same_layout).then_some(CounterResetHeader::Gauge);
        }
        match h.counter_reset_hint {
            CounterResetHint::Gauge => return Some(CounterResetHeader::Gauge),
            CounterResetHint::CounterReset => return Some(CounterResetHeader::CounterReset),
            _ => {}
        }
        if is_stale_nan(h.sum) {
            return None;
        }
        if prev_stale {
            return Some(CounterResetHeader::Unknown);
        }
        if h.count < f64::from_bits(s.cnt.bits) || h.zero_count < f64::from_bits(s.z_cnt.bits) {
            return Some(CounterResetHeader::CounterReset);
        }
        if !same_layout {
            return Some(CounterResetHeader::Unknown);
        }
        let decreased = |new: &[f64], old: &[XorValue]| {
            new.iter()
                .zip(old)
                .any(|(n, o)| *n < f64::from_bits(o.bits))
        };
        if decreased(&h.positive_buckets, &s.p) || decreased(&h.negative_buckets, &s.n) {
            return Some(CounterResetHeader::CounterReset);
        }
        None
    }

    /// Appends float histogram `h` at `t`, or reports that it needs a new chunk (as
    /// [`super::HistogramChunk::append`]).
    ///
    /// # Errors
    /// [`TsdbError::Chunk`] when the histogram's bucket counts do not match its spans.
    pub fn append(
        &mut self,
        t: Timestamp,
        h: &FloatHistogram,
    ) -> Result<HistogramAppend, TsdbError> {
        if h.positive_buckets.len() != count_spans(&h.positive_spans)
            || h.negative_buckets.len() != count_spans(&h.negative_spans)
        {
            return Err(TsdbError::Chunk(format!(
                "float histogram at {t}: bucket counts do not match spans"
            )));
        }
        let num = self.num_samples();
        let gauge = self.counter_reset_header() == CounterResetHeader::Gauge;
        if num == usize::from(u16::MAX) {
            let next = if gauge {
                CounterResetHeader::Gauge
            } else {
                CounterResetHeader::Unknown
            };
            return Ok(HistogramAppend::NewChunk(next));
        }
        if num > 0 {
            if let Some(header) = self.refusal(h) {
                return Ok(HistogramAppend::NewChunk(header));
            }
        } else {
            match h.counter_reset_hint {
                CounterResetHint::Gauge => self.set_header(CounterResetHeader::Gauge),
                CounterResetHint::CounterReset => self.set_header(CounterResetHeader::CounterReset),
                _ => {}
            }
        }
        let stale_only;
        let h = if is_stale_nan(h.sum) {
            stale_only = FloatHistogram {
                sum: h.sum,
                ..FloatHistogram::default()
            };
            &stale_only
        } else {
            h
        };
        let (w, s) = (&mut self.w, &mut self.s);
        let mut t_delta = 0;
        if num == 0 {
            put_zero_threshold(w, h.zero_threshold);
            put_varbit_int(w, i64::from(h.schema));
            put_spans(w, &h.positive_spans);
            put_spans(w, &h.negative_spans);
            if h.schema == CUSTOM_BUCKETS_SCHEMA {
                put_varbit_uint(w, h.custom_values.len() as u64);
                for &v in &h.custom_values {
                    put_custom_bound(w, v);
                }
            }
            s.schema = h.schema;
            s.z_threshold = h.zero_threshold;
            s.p_spans.clone_from(&h.positive_spans);
            s.n_spans.clone_from(&h.negative_spans);
            s.custom_values.clone_from(&h.custom_values);
            s.p = h
                .positive_buckets
                .iter()
                .map(|&v| XorValue::fresh(v))
                .collect();
            s.n = h
                .negative_buckets
                .iter()
                .map(|&v| XorValue::fresh(v))
                .collect();
            put_varbit_int(w, t);
            for v in [h.count, h.zero_count, h.sum]
                .iter()
                .chain(&h.positive_buckets)
                .chain(&h.negative_buckets)
            {
                w.write_bits(v.to_bits(), 64);
            }
            s.cnt = XorValue::fresh(h.count);
            s.z_cnt = XorValue::fresh(h.zero_count);
            s.sum = XorValue::fresh(h.sum);
        } else {
            t_delta = t.wrapping_sub(s.t);
            put_varbit_int(w, t_delta.wrapping_sub(s.t_delta));
            let mut put = |x: &mut XorValue, v: f64| {
                xor_write(w, v.to_bits(), x.bits, &mut x.leading, &mut x.trailing);
                x.bits = v.to_bits();
            };
            put(&mut s.cnt, h.count);
            put(&mut s.z_cnt, h.zero_count);
            put(&mut s.sum, h.sum);
            for (x, &v) in s.p.iter_mut().zip(&h.positive_buckets) {
                put(x, v);
            }
            for (x, &v) in s.n.iter_mut().zip(&h.negative_buckets) {
                put(x, v);
            }
        }
        s.t = t;
        s.t_delta = t_delta;
        let n = (num as u16 + 1).to_be_bytes();
        self.w.bytes_mut()[..2].copy_from_slice(&n);
        Ok(HistogramAppend::Appended)
    }
}

impl Chunk for FloatHistogramChunk {
    fn encoding(&self) -> Encoding {
        Encoding::FloatHistogram
    }

    fn bytes(&self) -> &[u8] {
        self.w.bytes()
    }

    fn num_samples(&self) -> usize {
        FloatHistogramChunk::num_samples(self)
    }

    fn iterator(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(self.iter())
    }
}

#[derive(Debug, Clone)]
struct Decoder {
    r: BitReader,
    total: u16,
    read: u16,
    header: CounterResetHeader,
    s: State,
}

impl Decoder {
    fn new(chunk: &[u8]) -> Self {
        let (total, header) = match chunk {
            [a, b, f, ..] => (
                u16::from_be_bytes([*a, *b]),
                CounterResetHeader::from_byte(*f),
            ),
            _ => (0, CounterResetHeader::Unknown),
        };
        Self {
            r: BitReader::new(),
            total,
            read: 0,
            header,
            s: State::default(),
        }
    }

    fn next(&mut self, b: &[u8]) -> Result<bool, EndOfStream> {
        if self.read >= self.total {
            return Ok(false);
        }
        let (r, s) = (&mut self.r, &mut self.s);
        if self.read == 0 {
            s.z_threshold = read_zero_threshold(r, b)?;
            s.schema = i32::try_from(read_varbit_int(r, b)?).map_err(|_| EndOfStream)?;
            s.p_spans = read_spans(r, b)?;
            s.n_spans = read_spans(r, b)?;
            s.custom_values.clear();
            if s.schema == CUSTOM_BUCKETS_SCHEMA {
                let n = read_varbit_uint(r, b)?;
                if n > 1 << 20 {
                    return Err(EndOfStream);
                }
                for _ in 0..n {
                    s.custom_values.push(read_custom_bound(r, b)?);
                }
            }
            let (np, nn) = (count_spans(&s.p_spans), count_spans(&s.n_spans));
            if np > 1 << 20 || nn > 1 << 20 {
                return Err(EndOfStream);
            }
            s.t = read_varbit_int(r, b)?;
            let mut raw = || {
                r.read_bits(b, 64).map(|bits| XorValue {
                    bits,
                    leading: 0,
                    trailing: 0,
                })
            };
            s.cnt = raw()?;
            s.z_cnt = raw()?;
            s.sum = raw()?;
            s.p = (0..np).map(|_| raw()).collect::<Result<_, _>>()?;
            s.n = (0..nn).map(|_| raw()).collect::<Result<_, _>>()?;
            self.read = 1;
            return Ok(true);
        }
        s.t_delta = s.t_delta.wrapping_add(read_varbit_int(r, b)?);
        s.t = s.t.wrapping_add(s.t_delta);
        let mut get = |x: &mut XorValue| {
            xor_read(r, b, &mut x.bits, &mut x.leading, &mut x.trailing).map(|_| ())
        };
        get(&mut s.cnt)?;
        get(&mut s.z_cnt)?;
        get(&mut s.sum)?;
        if !is_stale_nan(f64::from_bits(s.sum.bits)) {
            for x in s.p.iter_mut().chain(s.n.iter_mut()) {
                get(x)?;
            }
        }
        self.read += 1;
        Ok(true)
    }
}

/// Iterates float histogram chunk bytes (header included) held in any byte container.
#[derive(Debug)]
pub struct FloatHistogramIterator<B> {
    data: B,
    dec: Decoder,
    cur: ValueType,
    err: Option<StorageError>,
}

impl<B: AsRef<[u8]>> FloatHistogramIterator<B> {
    /// An iterator positioned before the first sample of `data`.
    pub fn new(data: B) -> Self {
        let dec = Decoder::new(data.as_ref());
        Self {
            data,
            dec,
            cur: ValueType::None,
            err: None,
        }
    }
}

impl<B: AsRef<[u8]> + Send> SampleIterator for FloatHistogramIterator<B> {
    fn next(&mut self) -> ValueType {
        if self.err.is_some() {
            return ValueType::None;
        }
        let body = self.data.as_ref().get(HEADER..).unwrap_or_default();
        self.cur = match self.dec.next(body) {
            Ok(true) => ValueType::FloatHistogram,
            Ok(false) => ValueType::None,
            Err(EndOfStream) => {
                self.err = Some(StorageError::Corruption {
                    file: "float histogram chunk".into(),
                    reason: format!(
                        "data ends after {} of {} samples",
                        self.dec.read, self.dec.total
                    ),
                });
                ValueType::None
            }
        };
        self.cur
    }

    fn current(&self) -> ValueType {
        self.cur
    }

    /// Histogram samples have no float value: the timestamp and NaN.
    fn at(&self) -> (Timestamp, f64) {
        (self.dec.s.t, f64::NAN)
    }

    fn at_histogram(&self) -> (Timestamp, model::Histogram) {
        unreachable!("a float histogram chunk holds no integer histograms")
    }

    fn at_float_histogram(&self) -> (Timestamp, FloatHistogram) {
        let s = &self.dec.s;
        let sum = f64::from_bits(s.sum.bits);
        if is_stale_nan(sum) {
            return (
                s.t,
                FloatHistogram {
                    sum,
                    ..FloatHistogram::default()
                },
            );
        }
        let counter_reset_hint = match self.dec.header {
            CounterResetHeader::Gauge => CounterResetHint::Gauge,
            _ if self.dec.read > 1 => CounterResetHint::NotCounterReset,
            _ => CounterResetHint::Unknown,
        };
        let h = FloatHistogram {
            counter_reset_hint,
            schema: s.schema,
            zero_threshold: s.z_threshold,
            zero_count: f64::from_bits(s.z_cnt.bits),
            count: f64::from_bits(s.cnt.bits),
            sum,
            positive_spans: s.p_spans.clone(),
            negative_spans: s.n_spans.clone(),
            positive_buckets: s.p.iter().map(|x| f64::from_bits(x.bits)).collect(),
            negative_buckets: s.n.iter().map(|x| f64::from_bits(x.bits)).collect(),
            custom_values: s.custom_values.clone(),
        };
        (s.t, h)
    }

    fn at_t(&self) -> Timestamp {
        self.dec.s.t
    }

    fn err(&self) -> Option<&StorageError> {
        self.err.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::STALE_NAN;
    use model::histogram::Span;
    use proptest::prelude::*;

    fn fh(count: f64, sum: f64, pos: Vec<f64>) -> FloatHistogram {
        FloatHistogram {
            schema: 0,
            zero_threshold: 0.001,
            zero_count: 0.5,
            count,
            sum,
            positive_spans: vec![Span {
                offset: 1,
                length: pos.len() as u32,
            }],
            positive_buckets: pos,
            ..FloatHistogram::default()
        }
    }

    fn decode(c: &FloatHistogramChunk) -> Vec<(i64, FloatHistogram)> {
        let mut it = c.iter();
        let mut out = Vec::new();
        while it.next() == ValueType::FloatHistogram {
            out.push(it.at_float_histogram());
        }
        assert!(it.err().is_none());
        out
    }

    #[test]
    fn first_sample_layout_and_refusals() {
        let mut c = FloatHistogramChunk::new(CounterResetHeader::Unknown);
        let a = fh(3.0, 1.5, vec![1.0, 1.5]);
        assert_eq!(c.append(4, &a).unwrap(), HistogramAppend::Appended);
        // count 00 01, flags, zero threshold 2^-10 is not a power of two... 0.001 is not: 255.
        assert_eq!(&c.bytes()[..4], [0, 1, 0, 255]);
        let mut down = fh(3.0, 1.5, vec![0.5, 1.5]);
        down.count = 3.0;
        assert_eq!(
            c.append(5, &down).unwrap(),
            HistogramAppend::NewChunk(CounterResetHeader::CounterReset)
        );
        assert_eq!(
            c.append(5, &fh(4.0, 2.0, vec![1.0])).unwrap(),
            HistogramAppend::NewChunk(CounterResetHeader::Unknown)
        );
        let stale = FloatHistogram {
            sum: STALE_NAN,
            ..FloatHistogram::default()
        };
        assert_eq!(c.append(6, &stale).unwrap(), HistogramAppend::Appended);
        assert_eq!(
            c.append(7, &a).unwrap(),
            HistogramAppend::NewChunk(CounterResetHeader::Unknown)
        );
        let got = decode(&c);
        assert_eq!(got[0].1, a);
        assert!(is_stale_nan(got[1].1.sum));
    }

    proptest! {
        #[test]
        fn roundtrip(steps in proptest::collection::vec((0i64..100_000, 0u32..1000, 0u32..1000), 1..130)) {
            let mut c = FloatHistogramChunk::new(CounterResetHeader::Unknown);
            let (mut t, mut b0, mut b1) = (1_700_000_000_000i64, 0.0, 0.0);
            let mut want = Vec::new();
            for (dt, x, y) in steps {
                t += dt;
                b0 += f64::from(x) / 8.0;
                b1 += f64::from(y) * 0.1;
                let h = fh(b0 + b1 + 0.5, b0 * 1.5 - b1, vec![b0, b1]);
                prop_assert_eq!(c.append(t, &h).unwrap(), HistogramAppend::Appended);
                want.push((t, h));
            }
            let got = decode(&c);
            prop_assert_eq!(got.len(), want.len());
            for (i, ((gt, gh), (t, h))) in got.iter().zip(&want).enumerate() {
                prop_assert_eq!(gt, t);
                let hint = if i == 0 { CounterResetHint::Unknown } else { CounterResetHint::NotCounterReset };
                prop_assert_eq!(gh, &FloatHistogram { counter_reset_hint: hint, ..h.clone() });
            }
        }
    }
}
