//! Compatibility with Prometheus 2.42's own tools: blocks Firewatch writes are listed, dumped and
//! analyzed by `promtool`, and blocks `promtool` creates are read by Firewatch — sample for
//! sample, and re-encoded byte for byte (XOR chunks, chunk segments, index).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use firewatch_tsdb::block::{BlockReader, BlockWriter};
use firewatch_tsdb::chunkenc::{Encoding, XorChunk, XorIterator};
use firewatch_tsdb::chunks::{SegmentWriter, unpack_chunk_ref};
use firewatch_tsdb::index::IndexWriter;
use model::{Labels, MatchOp, Matcher, STALE_NAN};
use storage::{Querier, SampleIterator, ValueType};

type SeriesSamples = BTreeMap<String, Vec<(i64, u64)>>;

/// Runs `promtool args...` with a time limit; returns stdout, panicking on failure.
fn promtool(args: &[&str]) -> String {
    let mut child = Command::new("promtool")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus) must be installed");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("promtool {args:?} timed out");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "promtool {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Parses `promtool tsdb dump` lines: `{labels} value timestamp`.
fn parse_dump(out: &str) -> SeriesSamples {
    let mut m = SeriesSamples::new();
    for line in out.lines().filter(|l| !l.is_empty()) {
        let (rest, ts) = line.rsplit_once(' ').unwrap();
        let (labels, v) = rest.rsplit_once(' ').unwrap();
        let v: f64 = v.parse().unwrap_or_else(|_| panic!("value in {line:?}"));
        m.entry(labels.to_owned())
            .or_default()
            .push((ts.parse().unwrap(), v.to_bits()));
    }
    m
}

/// Every sample of every block under `dir`, read with Firewatch's block reader.
fn read_blocks(dir: &Path) -> SeriesSamples {
    let mut m = SeriesSamples::new();
    let all = Matcher::new(MatchOp::RegexMatch, "__name__", ".+").unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if !p.join("meta.json").exists() {
            continue;
        }
        let b = BlockReader::open(&p).unwrap();
        let q = b.block_querier(i64::MIN, i64::MAX);
        for s in q.select(true, None, std::slice::from_ref(&all)).unwrap() {
            let s = s.unwrap();
            let mut it = s.iter();
            let v = m.entry(s.labels().to_string()).or_default();
            while it.next() == ValueType::Float {
                let (t, x) = it.at();
                v.push((t, x.to_bits()));
            }
            assert!(it.err().is_none(), "{:?}", it.err());
        }
    }
    for v in m.values_mut() {
        v.sort_unstable();
    }
    m
}

/// NaN payloads are not preserved by `%g` printing: compare NaNs as NaNs.
fn normalize(m: &SeriesSamples) -> SeriesSamples {
    m.iter()
        .map(|(k, v)| {
            let v = v
                .iter()
                .map(|&(t, b)| {
                    (
                        t,
                        if f64::from_bits(b).is_nan() {
                            f64::NAN.to_bits()
                        } else {
                            b
                        },
                    )
                })
                .collect();
            (k.clone(), v)
        })
        .collect()
}

fn firewatch_series() -> Vec<(Labels, Vec<(i64, f64)>)> {
    let t0 = 1_700_000_000_000i64;
    let mut counter = 0.0;
    let mut jitter = 7u64;
    let requests: Vec<(i64, f64)> = (0..500)
        .map(|i| {
            jitter = jitter
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            counter += (jitter >> 60) as f64;
            if i == 250 {
                counter = 3.0; // counter reset
            }
            (t0 + i * 15_000 + (jitter >> 59) as i64, counter)
        })
        .collect();
    let mut special: Vec<(i64, f64)> = (0..130)
        .map(|i| (t0 + i * 1000, -(i as f64) / 3.0))
        .collect();
    special[3].1 = f64::NAN;
    special[4].1 = f64::INFINITY;
    special[5].1 = f64::NEG_INFINITY;
    special[6].1 = STALE_NAN;
    special[7].1 = 1e300;
    special[8].1 = -0.0;
    vec![
        (
            Labels::from_pairs([
                ("__name__", "http_requests_total"),
                ("code", "200"),
                ("path", "/a b"),
            ]),
            requests,
        ),
        (
            Labels::from_pairs([("__name__", "temperature"), ("room", "küche")]),
            special,
        ),
        (
            Labels::from_pairs([("__name__", "single")]),
            vec![(t0 - 5, 42.0)],
        ),
    ]
}

#[test]
fn promtool_reads_firewatch_blocks() {
    if !testkit::peers(
        "tsdb::format_promtool::promtool_reads_firewatch_blocks",
        &["promtool"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let series = firewatch_series();
    let mut w = BlockWriter::new(dir.path());
    for (l, s) in &series {
        w.add_series(l.clone(), s).unwrap();
    }
    let meta = w.write().unwrap();
    // A Prometheus data directory always has a WAL directory; `promtool tsdb dump` needs one.
    std::fs::create_dir(dir.path().join("wal")).unwrap();
    let d = dir.path().to_str().unwrap();

    let list = promtool(&["tsdb", "list", d]);
    let line = list
        .lines()
        .find(|l| l.starts_with(&meta.ulid.to_string()))
        .unwrap_or_else(|| panic!("{list}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[1], meta.min_time.to_string(), "{line}");
    assert_eq!(fields[2], meta.max_time.to_string(), "{line}");
    let nums: Vec<&str> = fields[4..7].to_vec();
    assert_eq!(
        nums,
        [
            meta.stats.num_samples.to_string(),
            meta.stats.num_chunks.to_string(),
            meta.stats.num_series.to_string()
        ]
    );

    let dumped = parse_dump(&promtool(&["tsdb", "dump", d]));
    let mut want = SeriesSamples::new();
    for (l, s) in &series {
        want.insert(
            l.to_string(),
            s.iter().map(|&(t, v)| (t, v.to_bits())).collect(),
        );
    }
    assert_eq!(normalize(&dumped), normalize(&want));
    // And Firewatch reads back its own block bit for bit (the stale marker included).
    assert_eq!(read_blocks(dir.path()), want);

    let analyze = promtool(&["tsdb", "analyze", d, &meta.ulid.to_string()]);
    assert!(
        analyze.contains(&format!("Block ID: {}", meta.ulid)),
        "{analyze}"
    );
    assert!(analyze.contains("Series: 3"), "{analyze}");
}

/// Writes an OpenMetrics file with gauges over `hours` hours at 15 s; returns the samples.
fn write_openmetrics(path: &Path, hours: i64) -> SeriesSamples {
    let start_s = 1_600_000_000i64;
    let mut text = String::from("# HELP fw_gauge A gauge.\n# TYPE fw_gauge gauge\n");
    let mut want = SeriesSamples::new();
    for (k, inst) in ["a", "b", "c"].iter().enumerate() {
        let key = format!("{{__name__=\"fw_gauge\", instance=\"{inst}\"}}");
        for i in 0..hours * 240 {
            let t_ms = (start_s + i * 15) * 1000 + (i % 7) * 3;
            let v = match (k, i) {
                (1, 10) => f64::NAN,
                (1, 11) => f64::INFINITY,
                (2, _) => (i as f64).sin() * 1e3,
                _ => (i * (k as i64 + 1)) as f64 * 0.5,
            };
            let vs = if v.is_nan() {
                "NaN".to_owned()
            } else if v.is_infinite() {
                "+Inf".to_owned()
            } else {
                format!("{v:?}")
            };
            text.push_str(&format!(
                "fw_gauge{{instance=\"{inst}\"}} {vs} {}.{:03}\n",
                t_ms / 1000,
                t_ms % 1000
            ));
            want.entry(key.clone())
                .or_default()
                .push((t_ms, v.to_bits()));
        }
    }
    text.push_str("# EOF\n");
    std::fs::write(path, text).unwrap();
    want
}

#[test]
fn firewatch_reads_promtool_blocks_bit_for_bit() {
    if !testkit::peers(
        "tsdb::format_promtool::firewatch_reads_promtool_blocks_bit_for_bit",
        &["promtool"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let om = dir.path().join("in.om");
    let out = dir.path().join("data");
    std::fs::create_dir(&out).unwrap();
    let want = write_openmetrics(&om, 5);
    promtool(&[
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        om.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    let got = read_blocks(&out);
    assert_eq!(normalize(&got), normalize(&want));

    let mut blocks = 0;
    for entry in std::fs::read_dir(&out).unwrap() {
        let p = entry.unwrap().path();
        if !p.join("meta.json").exists() {
            continue;
        }
        blocks += 1;
        reencode_block(&p);
    }
    assert!(
        blocks >= 3,
        "5 hours make at least three 2h blocks, got {blocks}"
    );
}

/// Re-encodes a Prometheus block's chunks, chunk segments and index with Firewatch's writers
/// and checks that the bytes are identical.
fn reencode_block(block: &Path) {
    let b = BlockReader::open(block).unwrap();
    let ix = b.index();
    let tmp = tempfile::tempdir().unwrap();
    let mut iw = IndexWriter::create(tmp.path().join("index")).unwrap();
    for s in ix.symbols().unwrap() {
        iw.add_symbol(s).unwrap();
    }
    let mut all_chunks = Vec::new();
    for r in ix.all_postings().unwrap() {
        let (labels, metas) = ix.series(r).unwrap();
        for m in &metas {
            let (enc, data) = b.chunks().chunk(m.r#ref).unwrap();
            assert_eq!(enc, Encoding::Xor);
            // Decode, then append the samples to a new chunk: same bytes.
            let mut it = XorIterator::new(data);
            let mut c = XorChunk::new();
            while it.next() == ValueType::Float {
                let (t, v) = it.at();
                c.append(t, v).unwrap();
            }
            assert_eq!(c.bytes(), data, "chunk {} of {labels}", m.r#ref);
            all_chunks.push((m.r#ref, data.to_vec()));
        }
        iw.add_series(&labels, &metas).unwrap();
    }
    iw.close().unwrap();
    assert!(
        std::fs::read(tmp.path().join("index")).unwrap()
            == std::fs::read(block.join("index")).unwrap(),
        "index of {} differs",
        block.display()
    );

    all_chunks.sort_by_key(|c| c.0);
    let mut sw = SegmentWriter::new(tmp.path().join("chunks")).unwrap();
    for (r, data) in &all_chunks {
        assert_eq!(
            sw.write_chunk(Encoding::Xor, data).unwrap(),
            *r,
            "{:?}",
            unpack_chunk_ref(*r)
        );
    }
    sw.close().unwrap();
    assert!(
        std::fs::read(tmp.path().join("chunks/000001")).unwrap()
            == std::fs::read(block.join("chunks/000001")).unwrap(),
        "chunk segment of {} differs",
        block.display()
    );
}

/// Splits analyze output into its sections, each with its lines sorted (Go's sort is not
/// stable, so equal counts may come in any order).
fn sections(text: &str) -> Vec<Vec<String>> {
    text.split("\n\n")
        .map(|s| {
            let mut lines: Vec<String> = s.lines().map(str::to_owned).collect();
            lines.sort();
            lines
        })
        .collect()
}

#[test]
fn tool_list_and_analyze_print_what_promtool_prints() {
    if !testkit::peers(
        "tsdb::format_promtool::tool_list_and_analyze_print_what_promtool_prints",
        &["promtool"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Two blocks: one of Firewatch's, one of promtool's.
    let mut w = BlockWriter::new(dir.path());
    for (l, s) in firewatch_series() {
        w.add_series(l, &s).unwrap();
    }
    let meta = w.write().unwrap();
    let om = dir.path().join("in.om");
    write_openmetrics(&om, 1);
    promtool(&[
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        om.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    std::fs::remove_file(&om).unwrap();
    std::fs::create_dir(dir.path().join("wal")).unwrap();
    let d = dir.path().to_str().unwrap();

    for human in [false, true] {
        let mut ours = Vec::new();
        firewatch_tsdb::block::tool::list_blocks(dir.path(), human, &mut ours).unwrap();
        let args: &[&str] = if human {
            &["tsdb", "list", "-r", d]
        } else {
            &["tsdb", "list", d]
        };
        assert_eq!(String::from_utf8(ours).unwrap(), promtool(args));
    }

    for id in [Some(meta.ulid.to_string()), None] {
        let mut ours = Vec::new();
        firewatch_tsdb::block::tool::analyze_block(dir.path(), id.as_deref(), 1000, &mut ours)
            .unwrap();
        let mut args = vec!["tsdb", "analyze", "--limit=1000", d];
        if let Some(id) = &id {
            args.push(id);
        }
        let theirs = promtool(&args);
        assert_eq!(
            sections(&String::from_utf8(ours).unwrap()),
            sections(&theirs)
        );
    }
}
