//! Tests of the index writer, reader and matcher evaluation.

use std::collections::BTreeSet;

use model::{Labels, MatchOp, Matcher};
use proptest::prelude::*;

use super::*;
use crate::chunks::ChunkMeta;

fn meta(r: u64, mint: i64, maxt: i64) -> ChunkMeta {
    ChunkMeta {
        r#ref: r,
        min_time: mint,
        max_time: maxt,
        chunk: None,
    }
}

/// Writes `series` (sorted here) into an index in `dir`; returns the path and the series
/// with their references in order.
fn write_index(
    dir: &std::path::Path,
    mut series: Vec<(Labels, Vec<ChunkMeta>)>,
) -> (std::path::PathBuf, Vec<(u64, Labels, Vec<ChunkMeta>)>) {
    series.sort_by(|a, b| a.0.cmp(&b.0));
    series.dedup_by(|a, b| a.0 == b.0);
    let mut syms = BTreeSet::new();
    for (l, _) in &series {
        for p in l {
            syms.insert(p.name.to_owned());
            syms.insert(p.value.to_owned());
        }
    }
    let path = dir.join("index");
    let mut w = IndexWriter::create(&path).unwrap();
    for s in &syms {
        w.add_symbol(s).unwrap();
    }
    let mut out = Vec::new();
    for (l, c) in series {
        let id = w.add_series(&l, &c).unwrap();
        out.push((id, l, c));
    }
    w.close().unwrap();
    (path, out)
}

fn ls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

#[test]
fn writer_layout_and_reader_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let series = vec![
        (
            ls(&[("__name__", "up"), ("job", "a")]),
            vec![meta(8, 1000, 2000), meta(100, 2001, 5000)],
        ),
        (
            ls(&[("__name__", "up"), ("job", "b")]),
            vec![meta(300, -50, 10)],
        ),
        (ls(&[("__name__", "x"), ("i", "1")]), vec![]),
    ];
    let (path, written) = write_index(dir.path(), series);
    let raw = std::fs::read(&path).unwrap();
    assert_eq!(&raw[..5], [0xba, 0xaa, 0xd7, 0x00, 2]);
    let r = IndexReader::open(&path).unwrap();
    assert_eq!(r.toc().symbols, 5);
    // Symbol table: len, count, then the sorted strings.
    assert_eq!(u32::from_be_bytes(raw[9..13].try_into().unwrap()), 8);
    assert_eq!(
        r.symbols().unwrap(),
        ["1", "__name__", "a", "b", "i", "job", "up", "x"]
    );
    for (id, l, c) in &written {
        let (gl, gc) = r.series(*id).unwrap();
        assert_eq!(&gl, l);
        assert_eq!(&gc, c);
    }
    assert_eq!(r.label_names(), ["__name__", "i", "job"]);
    assert_eq!(r.label_values("job"), ["a", "b"]);
    assert!(r.label_values("nope").is_empty());
    let ids: Vec<u64> = written.iter().map(|w| w.0).collect();
    assert_eq!(r.all_postings().unwrap(), ids);
    assert_eq!(r.postings("__name__", &["up"]).unwrap(), ids[..2]);
    assert_eq!(r.postings("job", &["b", "a"]).unwrap(), ids[..2]);
    assert!(r.postings("job", &["c"]).unwrap().is_empty());
    assert!(r.series(1).is_err());
}

#[test]
fn writer_rejects_disorder() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = IndexWriter::create(dir.path().join("index")).unwrap();
    w.add_symbol("b").unwrap();
    assert!(w.add_symbol("a").is_err());
    w.add_symbol("c").unwrap();
    w.add_series(&ls(&[("b", "c")]), &[]).unwrap();
    assert!(
        w.add_series(&ls(&[("b", "b")]), &[]).is_err(),
        "not a symbol or out of order"
    );
    assert!(w.add_series(&ls(&[("b", "c")]), &[]).is_err(), "duplicate");
    assert!(w.add_series(&ls(&[("c", "c")]), &[]).is_ok());
    assert!(
        w.add_series(&ls(&[("c", "zz")]), &[]).is_err(),
        "unknown symbol"
    );
}

/// Series offered in a shuffled order are accepted exactly when they sort after the last
/// one accepted (Prometheus's order: by name, then value, a prefix first), and what was
/// accepted reads back whole, postings included, although refused series came between
/// (the writer reuses the previous series' pair references).
#[test]
fn writer_accepts_exactly_the_series_after_the_last_one() {
    let names = ["__name__", "a", "b", "job"];
    let values = ["", "x", "xy", "y", "z"];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |m: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % m as u64) as usize
    };
    let mut sets: Vec<Labels> = (0..400)
        .map(|_| {
            let n = 1 + next(names.len());
            // An empty value leaves the name out.
            let pairs: Vec<(&str, &str)> = (0..n)
                .map(|i| (names[i], values[next(values.len())]))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            Labels::from_pairs(pairs)
        })
        .filter(|l| !l.is_empty())
        .collect();
    sets.sort();
    // Mostly ascending with repeats and steps back, as a broken caller might offer them.
    let offered: Vec<Labels> = (0..sets.len())
        .map(|i| {
            let ahead = i + next(3);
            sets[ahead.saturating_sub(next(3)).min(sets.len() - 1)].clone()
        })
        .collect();
    let syms: BTreeSet<&str> = names.iter().chain(&values[1..]).copied().collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let mut w = IndexWriter::create(&path).unwrap();
    for s in &syms {
        w.add_symbol(s).unwrap();
    }
    let mut accepted: Vec<(u64, Labels)> = Vec::new();
    let mut refused = 0;
    for l in offered {
        let after = accepted.last().is_none_or(|(_, last)| l > *last);
        match w.add_series(&l, &[]) {
            Ok(id) => {
                assert!(after, "{l} accepted after {}", accepted.last().unwrap().1);
                accepted.push((id, l));
            }
            Err(e) => {
                assert!(!after, "{l} refused: {e}");
                refused += 1;
            }
        }
    }
    assert!(refused > 20 && accepted.len() > 100, "{refused} refused");
    w.close().unwrap();
    let r = IndexReader::open(&path).unwrap();
    for (id, l) in &accepted {
        assert_eq!(&r.series(*id).unwrap().0, l);
    }
    for name in names {
        for v in &values[1..] {
            let want: Vec<u64> = accepted
                .iter()
                .filter(|(_, l)| l.get(name) == Some(*v))
                .map(|(id, _)| *id)
                .collect();
            assert_eq!(r.postings(name, &[v]).unwrap(), want, "{name}={v}");
        }
    }
}

#[test]
fn corrupt_index_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (path, written) = write_index(dir.path(), vec![(ls(&[("a", "b")]), vec![meta(8, 0, 1)])]);
    let mut raw = std::fs::read(&path).unwrap();
    let off = (written[0].0 * 16) as usize + 2;
    raw[off] ^= 0xff;
    std::fs::write(&path, &raw).unwrap();
    let r = IndexReader::open(&path).unwrap();
    assert!(
        r.series(written[0].0)
            .unwrap_err()
            .to_string()
            .contains("checksum")
    );
    let n = raw.len();
    raw[n - 10] ^= 1;
    std::fs::write(&path, &raw).unwrap();
    assert!(
        IndexReader::open(&path)
            .unwrap_err()
            .to_string()
            .contains("TOC")
    );
}

/// Series with few and many labels come back whole, also through `series_like` (which then
/// clones the labels it is given).
#[test]
fn series_with_many_labels_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let series: Vec<(Labels, Vec<ChunkMeta>)> = [1, 31, 32, 33, 100]
        .iter()
        .map(|&n| {
            let pairs: Vec<(String, String)> = (0..n)
                .map(|i| (format!("l{i:03}"), format!("v{n}-{i}")))
                .collect();
            (Labels::from_pairs(pairs), vec![meta(8, 0, n)])
        })
        .collect();
    let (path, written) = write_index(dir.path(), series);
    let r = IndexReader::open(&path).unwrap();
    for (id, labels, chunks) in written {
        let (l, c) = r.series(id).unwrap();
        assert_eq!(l, labels);
        assert_eq!(c, chunks);
        // Through the shared path too: equal labels give a clone of `like`.
        let (l2, _) = r.series_like(id, Some(&labels)).unwrap();
        assert_eq!(l2.buffer_id(), labels.buffer_id());
    }
}

/// Symbols are checked to be UTF-8 once, when the index is opened: a symbol table holding
/// other bytes (under a valid checksum) is refused then, not read later.
#[test]
fn symbol_table_that_is_not_utf8_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_index(dir.path(), vec![(ls(&[("a", "zz")]), vec![meta(8, 0, 1)])]);
    let toc_symbols = IndexReader::open(&path).unwrap().toc().symbols as usize;
    let mut raw = std::fs::read(&path).unwrap();
    let len = u32::from_be_bytes(raw[toc_symbols..toc_symbols + 4].try_into().unwrap()) as usize;
    let body = toc_symbols + 4..toc_symbols + 4 + len;
    let at = body.start
        + raw[body.clone()]
            .windows(2)
            .position(|w| w == b"zz")
            .unwrap();
    raw[at..at + 2].copy_from_slice(&[0xc3, 0x28]);
    let crc = crate::encoding::crc32c(&raw[body.clone()]);
    raw[body.end..body.end + 4].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(&path, &raw).unwrap();
    let err = IndexReader::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("read symbols") && err.contains("UTF-8"),
        "{err}"
    );
}

#[test]
fn set_operations() {
    assert_eq!(intersect(&[1, 3, 5, 7], &[2, 3, 7, 9]), [3, 7]);
    let big: Vec<u64> = (0..1000).collect();
    assert_eq!(intersect(&[5, 500, 2000], &big), [5, 500]);
    assert_eq!(merge(vec![vec![1, 4], vec![2, 4, 6], vec![]]), [1, 2, 4, 6]);
    assert_eq!(without(&[1, 2, 3, 4], &[2, 4, 5]), [1, 3]);
    assert!(merge(vec![]).is_empty());
}

fn label_set() -> impl Strategy<Value = Labels> {
    proptest::collection::btree_map(
        prop_oneof![Just("a"), Just("b"), Just("c")],
        prop_oneof![Just("x"), Just("y"), Just("xy"), Just("z")],
        0..3,
    )
    .prop_map(|m| {
        let mut pairs: Vec<(&str, &str)> = m.into_iter().collect();
        pairs.push(("__name__", "m"));
        Labels::from_pairs(pairs)
    })
}

fn matcher() -> impl Strategy<Value = Matcher> {
    let op = prop_oneof![
        Just(MatchOp::Equal),
        Just(MatchOp::NotEqual),
        Just(MatchOp::RegexMatch),
        Just(MatchOp::RegexNoMatch)
    ];
    let name = prop_oneof![Just("a"), Just("b"), Just("c"), Just("d")];
    let value = prop_oneof![
        Just(""),
        Just("x"),
        Just("y"),
        Just("x|"),
        Just("x.*"),
        Just(".+"),
        Just(".*"),
        Just("x|z")
    ];
    (op, name, value).prop_map(|(op, n, v)| Matcher::new(op, n, v).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn matchers_select_like_prometheus(
        sets in proptest::collection::vec(label_set(), 1..20),
        ms in proptest::collection::vec(matcher(), 1..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (path, written) = write_index(dir.path(), sets.into_iter().map(|l| (l, vec![])).collect());
        let r = IndexReader::open(&path).unwrap();
        let got = postings_for_matchers(&r, &ms).unwrap();
        // The definition: an absent label has value "", and every matcher must match.
        let want: Vec<u64> = written
            .iter()
            .filter(|(_, l, _)| ms.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))))
            .map(|(id, _, _)| *id)
            .collect();
        prop_assert_eq!(got, want, "matchers {:?}", ms);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn corrupt_bytes_never_panic(pos in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let dir = tempfile::tempdir().unwrap();
        let series = vec![
            (ls(&[("__name__", "up"), ("job", "a")]), vec![meta(8, 1000, 2000), meta(100, 2001, 5000)]),
            (ls(&[("__name__", "up"), ("job", "b")]), vec![meta(300, -50, 10)]),
        ];
        let (path, _) = write_index(dir.path(), series);
        let mut raw = std::fs::read(&path).unwrap();
        let i = pos.index(raw.len());
        raw[i] ^= xor;
        std::fs::write(&path, &raw).unwrap();
        if let Ok(r) = IndexReader::open(&path) {
            let _ = r.symbols();
            for n in r.label_names().to_vec() {
                let vals = r.label_values(&n);
                let refs: Vec<&str> = vals.iter().map(String::as_str).collect();
                let _ = r.postings(&n, &refs);
            }
            if let Ok(all) = r.all_postings() {
                for id in all {
                    let _ = r.series(id);
                }
            }
            for id in 0..(raw.len() as u64 / 16 + 2) {
                let _ = r.series(id);
            }
        }
    }
}
