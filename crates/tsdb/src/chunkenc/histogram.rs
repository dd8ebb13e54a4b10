//! Integer native histogram chunks (Prometheus's `EncHistogram`), in Prometheus's layout.
//!
//! Header: sample count (2 bytes) and a flags byte whose two high bits are the counter-reset
//! header. The bit stream starts with the layout shared by all samples (zero threshold, schema,
//! positive and negative spans, custom bounds for schema -53); the first sample stores
//! timestamp, count, zero count, sum and buckets; later samples store delta-of-deltas as varbit
//! integers and the sum XOR-compressed. A sample whose layout differs from the chunk's, or that
//! shows a counter reset, does not fit: [`HistogramChunk::append`] then asks for a new chunk
//! (Prometheus would sometimes re-code the chunk instead; both are valid encodings).

use model::histogram::{CounterResetHint, Histogram, Span};
use model::{Timestamp, is_stale_nan};
use storage::{SampleIterator, StorageError, ValueType};

use super::bstream::{BitReader, BitWriter, EndOfStream};
use super::varbit::{
    put_varbit_int, put_varbit_uint, read_varbit_int, read_varbit_uint, xor_read, xor_write,
};
use super::{Chunk, Encoding};
use crate::error::TsdbError;

pub(super) const HEADER: usize = 3;
pub(super) const FLAG_POS: usize = 2;
pub(super) const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// The counter-reset state a histogram chunk declares for its first sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CounterResetHeader {
    /// Unknown whether a reset happened since the previous chunk.
    #[default]
    Unknown,
    /// A counter reset happened right before this chunk.
    CounterReset,
    /// No counter reset since the previous chunk.
    NotCounterReset,
    /// The chunk holds gauge histograms.
    Gauge,
}

impl CounterResetHeader {
    pub(super) fn bits(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::CounterReset => 0b1000_0000,
            Self::NotCounterReset => 0b0100_0000,
            Self::Gauge => 0b1100_0000,
        }
    }

    pub(super) fn from_byte(b: u8) -> Self {
        match b & 0b1100_0000 {
            0b1000_0000 => Self::CounterReset,
            0b0100_0000 => Self::NotCounterReset,
            0b1100_0000 => Self::Gauge,
            _ => Self::Unknown,
        }
    }
}

/// What [`HistogramChunk::append`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistogramAppend {
    /// The sample was appended.
    Appended,
    /// The sample does not fit this chunk: start a new chunk with this header and append it
    /// there.
    NewChunk(CounterResetHeader),
}

/// Layout and running state shared by the encoder and the decoder.
#[derive(Debug, Clone, Default)]
struct State {
    schema: i32,
    z_threshold: f64,
    p_spans: Vec<Span>,
    n_spans: Vec<Span>,
    custom_values: Vec<f64>,
    t: Timestamp,
    cnt: u64,
    z_cnt: u64,
    t_delta: i64,
    cnt_delta: i64,
    z_cnt_delta: i64,
    /// Bucket values as the histogram stores them (each a delta to the previous bucket).
    p_buckets: Vec<i64>,
    n_buckets: Vec<i64>,
    /// Their change since the previous sample.
    p_deltas: Vec<i64>,
    n_deltas: Vec<i64>,
    sum: u64,
    leading: u8,
    trailing: u8,
}

pub(super) fn count_spans(spans: &[Span]) -> usize {
    spans.iter().map(|s| s.length as usize).sum()
}

/// Absolute bucket counts from delta-encoded ones.
fn absolute(deltas: &[i64]) -> impl Iterator<Item = i64> + '_ {
    deltas.iter().scan(0i64, |acc, d| {
        *acc = acc.wrapping_add(*d);
        Some(*acc)
    })
}

/// A chunk of integer native histograms, with the state to append more.
#[derive(Debug, Clone)]
pub struct HistogramChunk {
    w: BitWriter,
    s: State,
}

impl HistogramChunk {
    /// An empty chunk declaring `header`.
    #[must_use]
    pub fn new(header: CounterResetHeader) -> Self {
        let mut stream = Vec::with_capacity(128);
        stream.extend_from_slice(&[0, 0, header.bits()]);
        Self {
            w: BitWriter::from_parts(stream, 0),
            s: State {
                leading: 0xff,
                ..State::default()
            },
        }
    }

    /// Opens encoded bytes, restoring the appender state.
    ///
    /// # Errors
    /// [`TsdbError::Chunk`] when the bytes are not a valid histogram chunk.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, TsdbError> {
        let mut dec = Decoder::new(&bytes);
        let body = bytes.get(HEADER..).unwrap_or_default();
        loop {
            match dec.next(body) {
                Ok(true) => {}
                Ok(false) => break,
                Err(EndOfStream) => {
                    return Err(TsdbError::Chunk(format!(
                        "histogram chunk ends after {} of {} samples",
                        dec.read, dec.total
                    )));
                }
            }
        }
        let free = (body.len() * 8).saturating_sub(dec.r.bits_read());
        if free > 8 || bytes.len() < HEADER {
            return Err(TsdbError::Chunk("histogram chunk has trailing data".into()));
        }
        let mut s = dec.s;
        if !dec.window_set {
            s.leading = 0xff;
        }
        Ok(Self {
            w: BitWriter::from_parts(bytes, free as u8),
            s,
        })
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
    pub fn iter(&self) -> HistogramIterator<&[u8]> {
        HistogramIterator::new(self.w.bytes())
    }

    /// Why `h` cannot follow the chunk's last sample, as the header for the next chunk.
    fn refusal(&self, h: &Histogram) -> Option<CounterResetHeader> {
        let s = &self.s;
        let same_layout = h.schema == s.schema
            && h.zero_threshold.to_bits() == s.z_threshold.to_bits()
            && h.positive_spans == s.p_spans
            && h.negative_spans == s.n_spans
            && (h.schema != CUSTOM_BUCKETS_SCHEMA || h.custom_values == s.custom_values);
        if self.counter_reset_header() == CounterResetHeader::Gauge {
            if is_stale_nan(h.sum) {
                return None;
            }
            if is_stale_nan(f64::from_bits(s.sum)) || !same_layout {
                return Some(CounterResetHeader::Gauge);
            }
            return None;
        }
        if h.counter_reset_hint == CounterResetHint::Gauge {
            return Some(CounterResetHeader::Gauge);
        }
        if h.counter_reset_hint == CounterResetHint::CounterReset {
            return Some(CounterResetHeader::CounterReset);
        }
        if is_stale_nan(h.sum) {
            return None;
        }
        if is_stale_nan(f64::from_bits(s.sum)) {
            return Some(CounterResetHeader::Unknown);
        }
        if h.count < s.cnt {
            return Some(CounterResetHeader::CounterReset);
        }
        if h.schema != s.schema || h.zero_threshold.to_bits() != s.z_threshold.to_bits() {
            return Some(CounterResetHeader::Unknown);
        }
        if h.schema == CUSTOM_BUCKETS_SCHEMA && h.custom_values != s.custom_values {
            return Some(CounterResetHeader::CounterReset);
        }
        if h.zero_count < s.z_cnt {
            return Some(CounterResetHeader::CounterReset);
        }
        if !same_layout {
            return Some(CounterResetHeader::Unknown);
        }
        let decreased =
            |new: &[i64], old: &[i64]| absolute(new).zip(absolute(old)).any(|(n, o)| n < o);
        if decreased(&h.positive_buckets, &s.p_buckets)
            || decreased(&h.negative_buckets, &s.n_buckets)
        {
            return Some(CounterResetHeader::CounterReset);
        }
        None
    }

    /// Appends histogram `h` at `t`, or reports that it needs a new chunk (different layout,
    /// counter reset, gauge/counter switch, after a stale marker, or the chunk is full).
    ///
    /// # Errors
    /// [`TsdbError::Chunk`] when the histogram's bucket counts do not match its spans.
    pub fn append(&mut self, t: Timestamp, h: &Histogram) -> Result<HistogramAppend, TsdbError> {
        if h.positive_buckets.len() != count_spans(&h.positive_spans)
            || h.negative_buckets.len() != count_spans(&h.negative_spans)
        {
            return Err(TsdbError::Chunk(format!(
                "histogram at {t}: bucket counts do not match spans"
            )));
        }
        let num = self.num_samples();
        if num == usize::from(u16::MAX) {
            let gauge = self.counter_reset_header() == CounterResetHeader::Gauge;
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
            // A stale marker carries no buckets (and, first in a chunk, an empty layout).
            stale_only = Histogram {
                sum: h.sum,
                ..Histogram::default()
            };
            &stale_only
        } else {
            h
        };
        let (w, s) = (&mut self.w, &mut self.s);
        let (mut t_delta, mut cnt_delta, mut z_cnt_delta) = (0, 0, 0);
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
            s.p_buckets = vec![0; h.positive_buckets.len()];
            s.n_buckets = vec![0; h.negative_buckets.len()];
            s.p_deltas = vec![0; h.positive_buckets.len()];
            s.n_deltas = vec![0; h.negative_buckets.len()];
            put_varbit_int(w, t);
            put_varbit_uint(w, h.count);
            put_varbit_uint(w, h.zero_count);
            w.write_bits(h.sum.to_bits(), 64);
            for &b in h.positive_buckets.iter().chain(&h.negative_buckets) {
                put_varbit_int(w, b);
            }
        } else {
            t_delta = t.wrapping_sub(s.t);
            cnt_delta = (h.count as i64).wrapping_sub(s.cnt as i64);
            z_cnt_delta = (h.zero_count as i64).wrapping_sub(s.z_cnt as i64);
            let mut cnt_dod = cnt_delta.wrapping_sub(s.cnt_delta);
            let mut z_cnt_dod = z_cnt_delta.wrapping_sub(s.z_cnt_delta);
            if is_stale_nan(h.sum) {
                cnt_dod = 0;
                z_cnt_dod = 0;
            }
            put_varbit_int(w, t_delta.wrapping_sub(s.t_delta));
            put_varbit_int(w, cnt_dod);
            put_varbit_int(w, z_cnt_dod);
            xor_write(w, h.sum.to_bits(), s.sum, &mut s.leading, &mut s.trailing);
            for (i, &b) in h.positive_buckets.iter().enumerate() {
                let delta = b.wrapping_sub(s.p_buckets[i]);
                put_varbit_int(w, delta.wrapping_sub(s.p_deltas[i]));
                s.p_deltas[i] = delta;
            }
            for (i, &b) in h.negative_buckets.iter().enumerate() {
                let delta = b.wrapping_sub(s.n_buckets[i]);
                put_varbit_int(w, delta.wrapping_sub(s.n_deltas[i]));
                s.n_deltas[i] = delta;
            }
        }
        s.t = t;
        s.cnt = h.count;
        s.z_cnt = h.zero_count;
        s.t_delta = t_delta;
        s.cnt_delta = cnt_delta;
        s.z_cnt_delta = z_cnt_delta;
        s.p_buckets[..h.positive_buckets.len()].copy_from_slice(&h.positive_buckets);
        s.n_buckets[..h.negative_buckets.len()].copy_from_slice(&h.negative_buckets);
        s.sum = h.sum.to_bits();
        let n = (num as u16 + 1).to_be_bytes();
        self.w.bytes_mut()[..2].copy_from_slice(&n);
        Ok(HistogramAppend::Appended)
    }
}

impl Chunk for HistogramChunk {
    fn encoding(&self) -> Encoding {
        Encoding::Histogram
    }

    fn bytes(&self) -> &[u8] {
        self.w.bytes()
    }

    fn num_samples(&self) -> usize {
        HistogramChunk::num_samples(self)
    }

    fn iterator(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(self.iter())
    }
}

pub(super) fn put_spans(w: &mut BitWriter, spans: &[Span]) {
    put_varbit_uint(w, spans.len() as u64);
    for s in spans {
        put_varbit_uint(w, u64::from(s.length));
        put_varbit_int(w, i64::from(s.offset));
    }
}

pub(super) fn read_spans(r: &mut BitReader, b: &[u8]) -> Result<Vec<Span>, EndOfStream> {
    let n = read_varbit_uint(r, b)?;
    if n > 1 << 20 {
        return Err(EndOfStream);
    }
    (0..n)
        .map(|_| {
            let length = u32::try_from(read_varbit_uint(r, b)?).map_err(|_| EndOfStream)?;
            let offset = i32::try_from(read_varbit_int(r, b)?).map_err(|_| EndOfStream)?;
            Ok(Span { offset, length })
        })
        .collect()
}

/// Zero thresholds that are powers of two from 2^-243 to 2^10 take one byte.
pub(super) fn put_zero_threshold(w: &mut BitWriter, z: f64) {
    if z == 0.0 {
        w.write_byte(0);
        return;
    }
    let bits = z.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let power_of_two =
        bits >> 63 == 0 && bits & ((1 << 52) - 1) == 0 && biased > 0 && biased < 0x7ff;
    // As Go's math.Frexp: z = 0.5 * 2^exp.
    let exp = biased - 1023 + 1;
    if !power_of_two || !(-242..=11).contains(&exp) {
        w.write_byte(255);
        w.write_bits(bits, 64);
        return;
    }
    w.write_byte((exp + 243) as u8);
}

pub(super) fn read_zero_threshold(r: &mut BitReader, b: &[u8]) -> Result<f64, EndOfStream> {
    match r.read_bits(b, 8)? as u8 {
        0 => Ok(0.0),
        255 => Ok(f64::from_bits(r.read_bits(b, 64)?)),
        x => Ok(2f64.powi(i32::from(x) - 244)),
    }
}

pub(super) fn put_custom_bound(w: &mut BitWriter, f: f64) {
    let tf = f * 1000.0;
    let whole = (f * 1000.0).round() / 1000.0 == f;
    if !(0.0..=33_554_430.0).contains(&tf) || !whole {
        w.write_bit(false);
        w.write_bits(f.to_bits(), 64);
        return;
    }
    put_varbit_uint(w, tf.round() as u64 + 1);
}

pub(super) fn read_custom_bound(r: &mut BitReader, b: &[u8]) -> Result<f64, EndOfStream> {
    match read_varbit_uint(r, b)? {
        0 => Ok(f64::from_bits(r.read_bits(b, 64)?)),
        x => Ok((x - 1) as f64 / 1000.0),
    }
}

/// Decodes samples one after the other.
#[derive(Debug, Clone)]
struct Decoder {
    r: BitReader,
    total: u16,
    read: u16,
    header: CounterResetHeader,
    s: State,
    window_set: bool,
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
            window_set: false,
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
            s.cnt = read_varbit_uint(r, b)?;
            s.z_cnt = read_varbit_uint(r, b)?;
            s.sum = r.read_bits(b, 64)?;
            s.p_buckets = (0..np)
                .map(|_| read_varbit_int(r, b))
                .collect::<Result<_, _>>()?;
            s.n_buckets = (0..nn)
                .map(|_| read_varbit_int(r, b))
                .collect::<Result<_, _>>()?;
            s.p_deltas = vec![0; np];
            s.n_deltas = vec![0; nn];
            self.read = 1;
            return Ok(true);
        }
        s.t_delta = s.t_delta.wrapping_add(read_varbit_int(r, b)?);
        s.t = s.t.wrapping_add(s.t_delta);
        s.cnt_delta = s.cnt_delta.wrapping_add(read_varbit_int(r, b)?);
        s.cnt = (s.cnt as i64).wrapping_add(s.cnt_delta) as u64;
        s.z_cnt_delta = s.z_cnt_delta.wrapping_add(read_varbit_int(r, b)?);
        s.z_cnt = (s.z_cnt as i64).wrapping_add(s.z_cnt_delta) as u64;
        if xor_read(r, b, &mut s.sum, &mut s.leading, &mut s.trailing)? {
            self.window_set = true;
        }
        if !is_stale_nan(f64::from_bits(s.sum)) {
            for i in 0..s.p_buckets.len() {
                s.p_deltas[i] = s.p_deltas[i].wrapping_add(read_varbit_int(r, b)?);
                s.p_buckets[i] = s.p_buckets[i].wrapping_add(s.p_deltas[i]);
            }
            for i in 0..s.n_buckets.len() {
                s.n_deltas[i] = s.n_deltas[i].wrapping_add(read_varbit_int(r, b)?);
                s.n_buckets[i] = s.n_buckets[i].wrapping_add(s.n_deltas[i]);
            }
        }
        self.read += 1;
        Ok(true)
    }
}

/// Iterates histogram chunk bytes (header included) held in any byte container.
#[derive(Debug)]
pub struct HistogramIterator<B> {
    data: B,
    dec: Decoder,
    cur: ValueType,
    err: Option<StorageError>,
}

impl<B: AsRef<[u8]>> HistogramIterator<B> {
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

impl<B: AsRef<[u8]> + Send> SampleIterator for HistogramIterator<B> {
    fn next(&mut self) -> ValueType {
        if self.err.is_some() {
            return ValueType::None;
        }
        let body = self.data.as_ref().get(HEADER..).unwrap_or_default();
        self.cur = match self.dec.next(body) {
            Ok(true) => ValueType::Histogram,
            Ok(false) => ValueType::None,
            Err(EndOfStream) => {
                self.err = Some(StorageError::Corruption {
                    file: "histogram chunk".into(),
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

    fn at_histogram(&self) -> (Timestamp, Histogram) {
        let s = &self.dec.s;
        let sum = f64::from_bits(s.sum);
        if is_stale_nan(sum) {
            return (
                s.t,
                Histogram {
                    sum,
                    ..Histogram::default()
                },
            );
        }
        let counter_reset_hint = match self.dec.header {
            CounterResetHeader::Gauge => CounterResetHint::Gauge,
            _ if self.dec.read > 1 => CounterResetHint::NotCounterReset,
            _ => CounterResetHint::Unknown,
        };
        let h = Histogram {
            counter_reset_hint,
            schema: s.schema,
            zero_threshold: s.z_threshold,
            zero_count: s.z_cnt,
            count: s.cnt,
            sum,
            positive_spans: s.p_spans.clone(),
            negative_spans: s.n_spans.clone(),
            positive_buckets: s.p_buckets.clone(),
            negative_buckets: s.n_buckets.clone(),
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
