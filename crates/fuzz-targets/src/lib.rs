//! Fuzz harnesses for every parser of untrusted input (issue 16, item 1): one function per
//! target taking arbitrary bytes, which must never panic, hang or abort whatever they get.
//! The same functions run under AFL++ (`fuzz/src/bin/<target>.rs`, `scripts/fuzz --afl`) and,
//! over each target's committed seeds (`fuzz/corpus/<target>/`) plus a bounded random-mutation
//! pass, in the normal test suite (`tests/seed_corpora.rs`), so CI runs every target without
//! the AFL++ toolchain.
//!
//! Targets whose input is a choice plus bytes (the exposition format, the block file, the
//! Kubernetes kind...) read the choice from the first byte.

mod alertmanager_api;
mod discovery_sd;
mod tsdb_files;

use std::path::Path;

pub use alertmanager_api::alertmanager_api;
pub use discovery_sd::{file_sd, http_sd, kubernetes};
pub use tsdb_files::{
    BLOCK_FILES, block, block_samples, head_chunk_samples, head_chunks, seed_block,
    seed_head_chunk_file, seed_wal_segments, wal_record, wal_segment, wal_segment_records,
};

/// A harness: bytes in, nothing out; it must not panic.
pub type Harness = fn(&[u8]);

/// Every target by name (the name of its AFL++ binary and of its corpus directory).
pub const TARGETS: &[(&str, Harness)] = &[
    ("exposition", exposition),
    ("promql", promql),
    ("prometheus_yml", prometheus_yml),
    ("rule_file", rule_file),
    ("alertmanager_yml", alertmanager_yml),
    ("web_config", web_config),
    ("remote_write", remote_write),
    ("alertmanager_api", alertmanager_api),
    ("wal_record", wal_record),
    ("wal_segment", wal_segment),
    ("head_chunks", head_chunks),
    ("block", block),
    ("file_sd", file_sd),
    ("http_sd", http_sd),
    ("kubernetes", kubernetes),
];

/// A fresh temporary directory for a harness that reads files, in RAM (`/dev/shm`) when the
/// machine has it: AFL++ runs the harness thousands of times a second.
///
/// # Errors
/// The directory cannot be created.
pub fn scratch_dir() -> std::io::Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
}

/// The scrape body parsers: the first byte chooses the text format, OpenMetrics or the
/// protobuf (delimited `MetricFamily`) format; the rest is the body.
pub fn exposition(data: &[u8]) {
    use model::exposition::{Format, ProtobufOptions, ProtobufParser, parse_families};
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    match first % 3 {
        0 => drop(parse_families(body, Format::Text)),
        1 => drop(parse_families(body, Format::OpenMetrics)),
        _ => {
            let mut p = ProtobufParser::new(body, ProtobufOptions::default());
            while let Ok(Some(_)) = p.next_entry() {}
        }
    }
}

/// The PromQL parser (queries from the API, rule files and dashboards).
pub fn promql(data: &[u8]) {
    if let Ok(q) = std::str::from_utf8(data) {
        let _ = promql::parser::parse(q);
    }
}

/// Loading a prometheus.yml (YAML, then validation of every section).
pub fn prometheus_yml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = config::Config::from_yaml_str(text, "/nonexistent");
    }
}

/// Rule files (YAML, then every expression parsed and checked, templates too).
pub fn rule_file(data: &[u8]) {
    use config::ValidationScheme;
    use config::rules::{RuleFile, promql_check};
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = RuleFile::parse(
            text,
            Path::new("fuzz.yml"),
            &promql_check,
            ValidationScheme::Utf8,
        );
    }
}

/// The Alertmanager's configuration file (YAML, routes, receivers, templates, time
/// intervals, inhibition rules).
pub fn alertmanager_yml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = alertmanager::Config::parse(text, Path::new("fuzz.yml"));
    }
}

/// `--web.config.file` (TLS, client CAs, basic auth users with bcrypt hashes, headers).
pub fn web_config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = web::webconfig::WebConfig::parse(text);
    }
}

/// Remote-write 1.0 and 2.0 and remote-read request bodies. The first byte chooses the
/// decoder; the rest is snappy-compressed first (so that the fuzzer reaches the protobuf
/// decoding), except for 3, which hands the bytes over as they are (the snappy path).
pub fn remote_write(data: &[u8]) {
    use remote::read::decode_request;
    use remote::receiver::{Protocol, decode};
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
}
