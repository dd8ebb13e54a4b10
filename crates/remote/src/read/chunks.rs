//! The chunks of one series in a streamed remote read response: runs of floats as XOR chunks,
//! runs of native histograms as histogram or float histogram chunks (custom-bucket ones
//! included), each of at most 120 samples, and a histogram chunk cut wherever the next
//! histogram cannot follow (another layout, a counter reset), as the TSDB cuts its own.
//! Prometheus streams the chunks its querier holds; Firewatch re-encodes the selected samples,
//! which keeps the answer to the query's range.

use model::Sample;
use tsdb::chunkenc::{
    CounterResetHeader, Encoding, FloatHistogramChunk, HistogramAppend, HistogramChunk, XorChunk,
};

use crate::error::RemoteError;
use crate::proto;

/// Most samples in one chunk (Prometheus's 120 for XOR chunks).
const SAMPLES_PER_CHUNK: usize = 120;

/// The chunk being filled.
enum Open {
    Xor(XorChunk),
    Histogram(HistogramChunk),
    FloatHistogram(FloatHistogramChunk),
}

impl Open {
    fn encoding(&self) -> Encoding {
        match self {
            Self::Xor(_) => Encoding::Xor,
            Self::Histogram(_) => Encoding::Histogram,
            Self::FloatHistogram(_) => Encoding::FloatHistogram,
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Self::Xor(c) => c.bytes(),
            Self::Histogram(c) => c.bytes(),
            Self::FloatHistogram(c) => c.bytes(),
        }
    }
}

/// A chunk with the time range of its samples.
struct Filling {
    chunk: Open,
    samples: usize,
    min_t: i64,
    max_t: i64,
}

impl Filling {
    fn new(chunk: Open, t: i64) -> Self {
        Self {
            chunk,
            samples: 0,
            min_t: t,
            max_t: t,
        }
    }

    fn finish(self) -> proto::Chunk {
        proto::Chunk {
            min_time_ms: self.min_t,
            max_time_ms: self.max_t,
            r#type: i32::from(self.chunk.encoding().as_u8()),
            data: self.chunk.bytes().to_vec(),
        }
    }
}

/// Encodes `points` (in time order, one per timestamp) as chunks.
///
/// # Errors
/// [`RemoteError::Invalid`] for a histogram whose bucket counts do not match its spans (the
/// TSDB does not store such a one).
pub(super) fn encode(points: &[(i64, Sample)]) -> Result<Vec<proto::Chunk>, RemoteError> {
    let mut done = Vec::new();
    let mut open: Option<Filling> = None;
    for (t, sample) in points {
        let t = *t;
        let fits = open
            .as_ref()
            .is_some_and(|f| f.samples < SAMPLES_PER_CHUNK && same_kind(&f.chunk, sample));
        if !fits {
            done.extend(open.take().map(Filling::finish));
        }
        let filling = open.get_or_insert_with(|| Filling::new(empty_for(sample), t));
        if let Some(header) = append(&mut filling.chunk, t, sample)? {
            // The histogram cannot follow the chunk's last one: a new chunk says why.
            let previous = std::mem::replace(filling, Filling::new(with_header(sample, header), t));
            done.push(previous.finish());
            if append(&mut filling.chunk, t, sample)?.is_some() {
                return Err(RemoteError::Invalid(format!(
                    "histogram at {t} does not start a chunk"
                )));
            }
        }
        filling.samples += 1;
        filling.max_t = t;
    }
    done.extend(open.map(Filling::finish));
    Ok(done)
}

fn same_kind(chunk: &Open, sample: &Sample) -> bool {
    matches!(
        (chunk, sample),
        (Open::Xor(_), Sample::Float(_))
            | (Open::Histogram(_), Sample::Histogram(_))
            | (Open::FloatHistogram(_), Sample::FloatHistogram(_))
    )
}

fn empty_for(sample: &Sample) -> Open {
    with_header(sample, CounterResetHeader::Unknown)
}

fn with_header(sample: &Sample, header: CounterResetHeader) -> Open {
    match sample {
        Sample::Float(_) => Open::Xor(XorChunk::new()),
        Sample::Histogram(_) => Open::Histogram(HistogramChunk::new(header)),
        Sample::FloatHistogram(_) => Open::FloatHistogram(FloatHistogramChunk::new(header)),
    }
}

/// Appends `sample` to `chunk` (of its kind); `Some(header)` when it needs a new chunk.
fn append(
    chunk: &mut Open,
    t: i64,
    sample: &Sample,
) -> Result<Option<CounterResetHeader>, RemoteError> {
    let invalid = |e: tsdb::TsdbError| RemoteError::Invalid(e.to_string());
    let outcome = match (chunk, sample) {
        (Open::Xor(c), Sample::Float(v)) => {
            c.append(t, *v).map_err(invalid)?;
            HistogramAppend::Appended
        }
        (Open::Histogram(c), Sample::Histogram(h)) => c.append(t, h).map_err(invalid)?,
        (Open::FloatHistogram(c), Sample::FloatHistogram(h)) => c.append(t, h).map_err(invalid)?,
        _ => unreachable!("a chunk is opened for its sample's kind"),
    };
    Ok(match outcome {
        HistogramAppend::Appended => None,
        HistogramAppend::NewChunk(header) => Some(header),
    })
}
