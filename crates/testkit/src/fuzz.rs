//! Bounded robustness (property) tests for parsers of untrusted input: the case count
//! (`FIREWATCH_FUZZ_CASES` overrides it for a soak run, see `scripts/fuzz`) and input
//! strategies that mutate valid seeds (flip, truncate, duplicate, insert and delete bytes)
//! or produce arbitrary bytes, the stable-toolchain stand-in for a coverage-guided fuzzer.

use proptest::prelude::*;
use proptest::test_runner::Config;

/// The environment variable that overrides every robustness test's case count.
pub const FUZZ_CASES_ENV: &str = "FIREWATCH_FUZZ_CASES";

/// A proptest config running `default` cases, or `FIREWATCH_FUZZ_CASES` when set to a number.
#[must_use]
pub fn fuzz_config(default: u32) -> Config {
    let cases = std::env::var(FUZZ_CASES_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        // Failures are persisted beside the test file (tests/robustness.proptest-regressions).
        ..Config::default()
    }
}

/// One edit applied to a seed.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Set(usize, u8),
    Truncate(usize),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Insert(usize, Vec<u8>),
    Swap(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Edit::Flip(i, 1 << b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Edit::Duplicate(i, n)),
        (
            any::<usize>(),
            prop::collection::vec(
                prop_oneof![
                    any::<u8>(),
                    Just(b'\n'),
                    Just(b'"'),
                    Just(b'{'),
                    Just(b'}'),
                    Just(0xff)
                ],
                1..8
            )
        )
            .prop_map(|(i, v)| Edit::Insert(i, v)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
    ]
}

fn apply(buf: &mut Vec<u8>, e: &Edit) {
    let len = buf.len();
    let at = |i: usize| if len == 0 { 0 } else { i % len };
    match e {
        Edit::Flip(i, m) if len > 0 => buf[at(*i)] ^= m,
        Edit::Set(i, b) if len > 0 => buf[at(*i)] = *b,
        Edit::Truncate(i) => buf.truncate(i % (len + 1)),
        Edit::Delete(i, n) if len > 0 => {
            let s = at(*i);
            buf.drain(s..(s + n).min(len));
        }
        Edit::Duplicate(i, n) if len > 0 => {
            let s = at(*i);
            let part = buf[s..(s + n).min(len)].to_vec();
            buf.splice(s..s, part);
        }
        Edit::Insert(i, v) => {
            let s = i % (len + 1);
            buf.splice(s..s, v.iter().copied());
        }
        Edit::Swap(a, b) if len > 0 => buf.swap(at(*a), at(*b)),
        _ => {}
    }
}

/// One of `seeds` with one to `max_edits` random edits applied.
///
/// # Panics
/// When `seeds` is empty.
pub fn mutated(seeds: Vec<Vec<u8>>, max_edits: usize) -> impl Strategy<Value = Vec<u8>> {
    assert!(!seeds.is_empty(), "mutated needs at least one seed");
    let n = seeds.len();
    (0..n, prop::collection::vec(edit(), 1..=max_edits.max(1))).prop_map(move |(i, edits)| {
        let mut buf = seeds[i].clone();
        for e in &edits {
            apply(&mut buf, e);
        }
        buf
    })
}

/// Like [`mutated`], as (lossy) UTF-8 text, for parsers that take `&str`.
pub fn mutated_text(seeds: Vec<String>, max_edits: usize) -> impl Strategy<Value = String> {
    mutated(
        seeds.into_iter().map(String::into_bytes).collect(),
        max_edits,
    )
    .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Arbitrary bytes up to `max_len` long.
pub fn arbitrary_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max_len)
}

/// The seed files under `dir` (a crate's `tests/fuzz_seeds/<target>`), sorted by name, read
/// as bytes; the caller adds in-code seeds.
///
/// # Panics
/// When the directory cannot be read.
#[must_use]
pub fn seed_files(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading seed dir {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display())))
        .collect()
}
