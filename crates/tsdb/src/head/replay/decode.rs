//! The decoder threads of WAL replay: records never span segments, so each thread reads and
//! decodes whole segments (segment `k` goes to thread `k` modulo their number) and the
//! replaying thread takes the segments back in order, one thread's queue after the other's.
//! Reading (CRC, snappy) and decoding, the largest share of a replay, then run on every core
//! (Prometheus decodes on one goroutine beside the one that applies the records). Float
//! samples records, nearly all of a log, are only checked here and stay encoded: the appender
//! threads decode them, so no thread handles every sample one by one.

use std::sync::mpsc::SyncSender;

use crate::error::TsdbError;
use crate::wal::record::{self, Record, SampleIter};
use crate::wal::{SegmentRef, WalReader};

/// Decoded records sent to the replaying thread at once.
const RECORD_BATCH: usize = 32;

/// What a decoder thread sends, in log order. A batch never spans two segments.
pub(super) enum Decoded {
    /// A record, or why it does not decode.
    Record(Result<Record, String>),
    /// A float samples record that decodes, left encoded: the appender threads read it.
    Samples(Vec<u8>),
    /// The segment ended; `records` is whether it held any.
    SegmentEnd { index: u32, records: bool },
    /// The segment is damaged here (or unreadable); nothing follows.
    Failed(TsdbError),
}

/// Reads and decodes `segments` in order (the first from `first_offset` on when it is the
/// log's first segment, `first` true), sending batches; stops at the first damaged segment
/// or when the receiver is gone.
pub(super) fn decode_segments(segments: Vec<(SegmentRef, u64)>, tx: &SyncSender<Vec<Decoded>>) {
    for (seg, offset) in segments {
        let index = seg.index;
        let mut reader = WalReader::new(vec![seg]);
        if offset > 0 {
            reader = reader.starting_at(offset);
        }
        let mut batch = Vec::with_capacity(RECORD_BATCH + 1);
        let mut records = false;
        loop {
            match reader.next_record() {
                Ok(Some(rec)) => {
                    records = true;
                    batch.push(decode(rec));
                    if batch.len() >= RECORD_BATCH {
                        let full =
                            std::mem::replace(&mut batch, Vec::with_capacity(RECORD_BATCH + 1));
                        if tx.send(full).is_err() {
                            return;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    batch.push(Decoded::Failed(e));
                    let _ = tx.send(batch);
                    return;
                }
            }
        }
        batch.push(Decoded::SegmentEnd { index, records });
        if tx.send(batch).is_err() {
            return;
        }
    }
}

/// A record decoded, except a float samples record, which is only checked.
fn decode(rec: &[u8]) -> Decoded {
    if rec.first() == Some(&record::SAMPLES) {
        return match SampleIter::new(rec).and_then(SampleIter::validate) {
            Ok(_) => Decoded::Samples(rec.to_vec()),
            Err(e) => Decoded::Record(Err(e.to_string())),
        };
    }
    Decoded::Record(record::decode(rec).map_err(|e| e.to_string()))
}
