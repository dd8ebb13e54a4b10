//! What CI runs instead of AFL++ (issue 16, item 1): every fuzz target's committed seeds
//! (`fuzz/corpus/<target>/`) and the inputs AFL++ found crashing (`fuzz/regressions/<target>/`,
//! fixed since) go through its harness, then a bounded random-mutation pass of the seeds
//! (flips, truncations, insertions... `testkit::fuzz`; `FIREWATCH_FUZZ_CASES` cases per
//! target, 150 by default). Seeds of the structured targets are checked to reach deep
//! (the head chunk and block seeds decode every sample, the WAL segment seeds every record), and the AFL++ binaries of `fuzz/`
//! match the targets one for one.

use std::path::{Path, PathBuf};

use firewatch_fuzz_targets::{
    BLOCK_FILES, TARGETS, block_samples, head_chunk_samples, wal_segment_records,
};
use proptest::prelude::*;
use testkit::fuzz::{fuzz_config, mutated};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir` (sorted by name), none when it does not exist.
fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    inputs(&fuzz_dir().join("corpus").join(target))
        .into_iter()
        .map(|(_, b)| b)
        .collect()
}

#[test]
fn every_target_runs_its_seeds_and_past_crashes() {
    for (name, harness) in TARGETS {
        let corpus = inputs(&fuzz_dir().join("corpus").join(name));
        assert!(
            !corpus.is_empty(),
            "{name}: no seeds in fuzz/corpus/{name}/"
        );
        for (file, bytes) in corpus {
            eprintln!("{name}: seed {file}");
            harness(&bytes);
        }
        for (file, bytes) in inputs(&fuzz_dir().join("regressions").join(name)) {
            eprintln!("{name}: regression {file}");
            harness(&bytes);
        }
    }
}

#[test]
fn afl_binaries_match_the_targets() {
    let mut bins: Vec<String> = inputs(&fuzz_dir().join("src/bin"))
        .into_iter()
        .map(|(f, _)| f.trim_end_matches(".rs").to_owned())
        .collect();
    bins.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    names.sort();
    assert_eq!(bins, names, "fuzz/src/bin/*.rs and TARGETS differ");
}

#[test]
fn structured_seeds_reach_the_decoders() {
    let head = seeds("head_chunks");
    assert!(
        head.iter().any(|s| head_chunk_samples(s) == 120),
        "a head_chunks seed holds 4 chunks of 30 samples"
    );
    let wal = seeds("wal_segment");
    assert_eq!(wal.len(), 3, "three WAL segment seeds");
    assert!(
        wal.iter().any(|s| s.len() > 32 * 1024 + 1),
        "a WAL segment seed spans pages"
    );
    for seed in &wal {
        for live in [false, true] {
            assert_eq!(
                wal_segment_records(live, &seed[1..]),
                3,
                "every WAL segment seed decodes its 3 records (live reader: {live})"
            );
        }
    }
    let block = seeds("block");
    for (i, file) in BLOCK_FILES.iter().enumerate() {
        let seed = block
            .iter()
            .find(|s| s.first() == Some(&u8::try_from(i).unwrap()))
            .unwrap_or_else(|| panic!("no block seed replacing {file}"));
        assert_eq!(
            block_samples(file, &seed[1..]),
            Ok(250),
            "the block seed for {file} opens and reads all 5 x 50 samples"
        );
    }
}

/// A target and one of its seeds mutated.
fn target_and_input() -> impl Strategy<Value = (usize, Vec<u8>)> {
    (0..TARGETS.len()).prop_flat_map(|t| {
        let s = seeds(TARGETS[t].0);
        (Just(t), mutated(s, 6))
    })
}

proptest! {
    #![proptest_config(fuzz_config(150 * u32::try_from(TARGETS.len()).unwrap()))]

    #[test]
    fn mutated_seeds_never_panic((t, input) in target_and_input()) {
        (TARGETS[t].1)(&input);
    }
}
