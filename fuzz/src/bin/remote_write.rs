//! Fuzz target: remote-write 1.0 and 2.0 and remote-read request bodies. The first byte
//! chooses the decoder; the rest is snappy-compressed first (so that the fuzzer reaches the
//! protobuf decoding), except for 3, which hands the bytes over as they are (the snappy path).

use firewatch_remote::read::decode_request;
use firewatch_remote::receiver::{Protocol, decode};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&first, rest)) = data.split_first() else {
            return;
        };
        let Ok(packed) = snap::raw::Encoder::new().compress_vec(rest) else {
            return;
        };
        match first % 4 {
            0 => drop(decode(Protocol::V1, &packed)),
            1 => drop(decode(Protocol::V2, &packed)),
            2 => drop(decode_request(&packed)),
            _ => {
                let _ = decode(Protocol::V1, rest);
                let _ = decode(Protocol::V2, rest);
            }
        }
    });
}
