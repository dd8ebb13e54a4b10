//! Reading the streamed remote read response as a client
//! (`application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse`): frames of a
//! uvarint length, the big-endian CRC-32C of the message and a `ChunkedReadResponse`, whose
//! series carry XOR (or histogram) chunks; the chunks are decoded and cut to the query's
//! range, and a series split over consecutive frames is joined again. Mirrors Prometheus's
//! `storage/remote/chunked.go` (`ChunkedReader`) and the chunked series set of `codec.go`.

use std::sync::Arc;

use model::{Labels, Sample};
use prost::Message;
use storage::ValueType;
use tsdb::chunkenc::Encoding;

use crate::error::RemoteError;
use crate::proto;

/// The largest frame accepted (Prometheus's default `remote_read` chunked read limit).
pub const MAX_FRAME_BYTES: u64 = 50 << 20;

/// A series as the client hands it to the query: labels and its samples in time order.
pub type ReadSeries = (Labels, Vec<(i64, Sample)>);

fn invalid(what: impl std::fmt::Display) -> RemoteError {
    RemoteError::Invalid(format!("streamed remote read response: {what}"))
}

/// The messages of a streamed body, each checked against its CRC-32C.
///
/// # Errors
/// A truncated frame, a frame over [`MAX_FRAME_BYTES`] or a checksum mismatch, naming the
/// frame.
pub fn frames(mut body: &[u8]) -> Result<Vec<&[u8]>, RemoteError> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let n = out.len();
        let len = prost::encoding::decode_varint(&mut body)
            .map_err(|e| invalid(format!("frame {n}: length: {e}")))?;
        if len > MAX_FRAME_BYTES {
            return Err(invalid(format!(
                "frame {n}: {len} bytes, more than the limit of {MAX_FRAME_BYTES}"
            )));
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if body.len() < 4 + len {
            return Err(invalid(format!(
                "frame {n}: truncated ({} of {} bytes)",
                body.len().saturating_sub(4),
                len
            )));
        }
        let want = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
        let msg = &body[4..4 + len];
        let got = crc32c::crc32c(msg);
        if got != want {
            return Err(invalid(format!(
                "frame {n}: checksum {got:08x}, expected {want:08x}"
            )));
        }
        out.push(msg);
        body = &body[4 + len..];
    }
    Ok(out)
}

/// The series of a streamed body with their samples in `[start, end]`, sorted by labels.
///
/// # Errors
/// Framing errors, undecodable messages, unknown chunk encodings, invalid labels or chunks.
pub fn decode_streamed(body: &[u8], start: i64, end: i64) -> Result<Vec<ReadSeries>, RemoteError> {
    let mut out: Vec<ReadSeries> = Vec::new();
    for (n, frame) in frames(body)?.into_iter().enumerate() {
        let msg =
            proto::ChunkedReadResponse::decode(frame).map_err(|source| RemoteError::Protobuf {
                message: "prometheus.ChunkedReadResponse",
                source,
            })?;
        for (i, cs) in msg.chunked_series.iter().enumerate() {
            let labels = crate::receiver::labels_from(
                i,
                cs.labels
                    .iter()
                    .map(|l| (l.name.as_str(), l.value.as_str())),
            )
            .map_err(|e| invalid(format!("frame {n}: {e}")))?;
            let mut samples = Vec::new();
            for (ci, c) in cs.chunks.iter().enumerate() {
                let where_ = || format!("frame {n}, series {labels}, chunk {ci}");
                if c.max_time_ms < start || c.min_time_ms > end {
                    continue;
                }
                let enc = u8::try_from(c.r#type)
                    .ok()
                    .and_then(Encoding::from_u8)
                    .filter(|e| *e != Encoding::None)
                    .ok_or_else(|| {
                        invalid(format!("{}: unknown chunk type {}", where_(), c.r#type))
                    })?;
                let mut it = tsdb::chunkenc::iterator(enc, &c.data)
                    .map_err(|e| invalid(format!("{}: {e}", where_())))?;
                let mut vt = it.seek(start);
                while vt != ValueType::None && it.at_t() <= end {
                    samples.push(match vt {
                        ValueType::Float => {
                            let (t, v) = it.at();
                            (t, Sample::Float(v))
                        }
                        ValueType::Histogram => {
                            let (t, h) = it.at_histogram();
                            (t, Sample::Histogram(Arc::new(h)))
                        }
                        ValueType::FloatHistogram => {
                            let (t, h) = it.at_float_histogram();
                            (t, Sample::FloatHistogram(Arc::new(h)))
                        }
                        ValueType::None => break,
                    });
                    vt = it.next();
                }
                if let Some(e) = it.err() {
                    return Err(invalid(format!("{}: {e}", where_())));
                }
            }
            // A series too large for one frame goes on in the next ones.
            match out.last_mut() {
                Some((last, s)) if *last == labels => s.extend(samples),
                _ => out.push((labels, samples)),
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, s) in &mut out {
        s.sort_by_key(|x| x.0);
        s.dedup_by_key(|x| x.0);
    }
    out.retain(|(_, s)| !s.is_empty());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::write_frame;

    fn xor(samples: &[(i64, f64)]) -> proto::Chunk {
        let mut c = tsdb::chunkenc::XorChunk::new();
        for (t, v) in samples {
            c.append(*t, *v).unwrap();
        }
        proto::Chunk {
            min_time_ms: samples[0].0,
            max_time_ms: samples[samples.len() - 1].0,
            r#type: 1,
            data: c.bytes().to_vec(),
        }
    }

    fn frame(out: &mut Vec<u8>, name: &str, chunks: Vec<proto::Chunk>) {
        let msg = proto::ChunkedReadResponse {
            chunked_series: vec![proto::ChunkedSeries {
                labels: vec![proto::Label {
                    name: "__name__".into(),
                    value: name.into(),
                }],
                chunks,
            }],
            query_index: 0,
        };
        write_frame(out, &msg.encode_to_vec());
    }

    #[test]
    fn frames_join_split_series_cut_to_the_range_and_refuse_damage() {
        let a1: Vec<(i64, f64)> = (0..120).map(|i| (i * 10, i as f64)).collect();
        let a2: Vec<(i64, f64)> = (120..200).map(|i| (i * 10, i as f64)).collect();
        let mut body = Vec::new();
        frame(&mut body, "a", vec![xor(&a1)]);
        frame(&mut body, "a", vec![xor(&a2)]);
        frame(&mut body, "b", vec![xor(&[(5, 1.0)])]);
        let got = decode_streamed(&body, 1000, 1500).unwrap();
        assert_eq!(got.len(), 1, "b lies outside the range");
        assert_eq!(got[0].0.metric_name(), Some("a"));
        let ts: Vec<i64> = got[0].1.iter().map(|s| s.0).collect();
        assert_eq!(ts, (100..=150).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(decode_streamed(&body, 0, 2000).unwrap()[0].1.len(), 200);

        // Each kind of damage is refused with its reason.
        let mut flipped = body.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let e = decode_streamed(&flipped, 0, 2000).unwrap_err().to_string();
        assert!(e.contains("frame 2: checksum"), "{e}");
        let e = decode_streamed(&body[..body.len() - 3], 0, 2000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("frame 2: truncated"), "{e}");
        let mut huge = Vec::new();
        prost::encoding::encode_varint(MAX_FRAME_BYTES + 1, &mut huge);
        huge.extend_from_slice(&[0; 8]);
        let e = decode_streamed(&huge, 0, 1).unwrap_err().to_string();
        assert!(e.contains("more than the limit"), "{e}");
        let mut unknown = Vec::new();
        let mut c = xor(&[(1, 1.0)]);
        c.r#type = 9;
        frame(&mut unknown, "a", vec![c]);
        let e = decode_streamed(&unknown, 0, 10).unwrap_err().to_string();
        assert!(e.contains("unknown chunk type 9"), "{e}");
    }
}
