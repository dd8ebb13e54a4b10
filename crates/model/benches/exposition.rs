//! Exposition parsing throughput (MB/s) of Firewatch's pull parser beside the
//! `prometheus-parse` and `openmetrics-parser` crates, on two ~50,000-line inputs: a
//! node-exporter capture repeated with distinct labels, and synthetic series with long label
//! sets.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use firewatch_model::exposition::{Entry, Format, LazyEntry, Parser};

const NODE: &str = include_str!("fixtures/node_exporter.prom");
const TARGET_LINES: usize = 50_000;

/// Repeats each family's samples with a distinct `replica` label until ~50,000 lines,
/// keeping one HELP/TYPE pair per family so the input stays a valid exposition.
fn node_exporter_input() -> String {
    let mut families: Vec<(Vec<&str>, Vec<&str>)> = Vec::new();
    for line in NODE.lines() {
        if line.starts_with("# HELP") {
            families.push((vec![line], Vec::new()));
        } else if line.starts_with('#') {
            families.last_mut().unwrap().0.push(line);
        } else if !line.is_empty() {
            families.last_mut().unwrap().1.push(line);
        }
    }
    let samples: usize = families.iter().map(|f| f.1.len()).sum();
    let reps = TARGET_LINES / samples + 1;
    let mut out = String::new();
    for (meta, lines) in &families {
        for m in meta {
            out.push_str(m);
            out.push('\n');
        }
        for r in 0..reps {
            for l in lines {
                let (series, value) = l.split_once(' ').unwrap();
                match series.split_once('{') {
                    Some((name, rest)) => {
                        out.push_str(&format!("{name}{{replica=\"r{r}\",{rest} {value}\n"));
                    }
                    None => out.push_str(&format!("{series}{{replica=\"r{r}\"}} {value}\n")),
                }
            }
        }
    }
    out
}

/// Series with ten long labels each.
fn long_labels_input() -> String {
    let mut out =
        String::from("# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n");
    for i in 0..TARGET_LINES {
        out.push_str("http_requests_total{");
        for l in 0..10 {
            out.push_str(&format!(
                "label_name_{l}=\"some-fairly-long-label-value-{l}-for-series-{i:06}\","
            ));
        }
        out.push_str(&format!(
            "path=\"/api/v1/query\"}} {}.5 1700000000{:03}\n",
            i * 7,
            i % 1000
        ));
    }
    out
}

fn firewatch_count(buf: &[u8]) -> usize {
    let mut p = Parser::new(buf, Format::Text);
    let mut n = 0;
    while let Some(e) = p.next_entry().unwrap() {
        if let Entry::Series(s) = e {
            n += s.labels.len() + usize::from(s.value > 0.0);
        }
    }
    n
}

/// What a scrape cache hit reads: each sample's series bytes (unparsed) and its value.
fn firewatch_lazy_count(buf: &[u8]) -> usize {
    let mut p = Parser::new(buf, Format::Text);
    let mut n = 0;
    while let Some(e) = p.next_lazy().unwrap() {
        if let LazyEntry::Sample(series) = e {
            n += series.len();
            n += usize::from(p.sample_rest().unwrap().value > 0.0);
        }
    }
    n
}

/// The first `n` lines of `input`.
fn head_lines(input: &str, n: usize) -> &str {
    let end = input
        .match_indices('\n')
        .nth(n - 1)
        .map_or(input.len(), |(i, _)| i + 1);
    &input[..end]
}

fn bench(c: &mut Criterion) {
    for (name, input) in [
        ("node_exporter", node_exporter_input()),
        ("long_labels", long_labels_input()),
    ] {
        let mut g = c.benchmark_group(format!("parse/{name}"));
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function("firewatch", |b| {
            b.iter(|| firewatch_count(black_box(input.as_bytes())));
        });
        g.bench_function("firewatch lazy (series bytes and values)", |b| {
            b.iter(|| firewatch_lazy_count(black_box(input.as_bytes())));
        });
        // The oracles are one to three orders of magnitude slower: fewer samples.
        g.sample_size(10);
        g.bench_function("prometheus-parse", |b| {
            b.iter(|| {
                let lines = black_box(&input).lines().map(|l| Ok(l.to_owned()));
                prometheus_parse::Scrape::parse(lines)
                    .unwrap()
                    .samples
                    .len()
            });
        });
        // openmetrics-parser slows down more than linearly with input size (seconds per
        // 50,000 lines), so it reads a 2,000-line head; throughput is per its own bytes.
        let head = head_lines(&input, 2_000);
        g.throughput(Throughput::Bytes(head.len() as u64));
        g.bench_function("firewatch (2k-line head)", |b| {
            b.iter(|| firewatch_count(black_box(head.as_bytes())));
        });
        match openmetrics_parser::prometheus::parse_prometheus(head) {
            Ok(_) => {
                g.bench_function("openmetrics-parser (2k-line head)", |b| {
                    b.iter(|| {
                        openmetrics_parser::prometheus::parse_prometheus(black_box(head))
                            .unwrap()
                            .families
                            .len()
                    });
                });
            }
            Err(e) => eprintln!("openmetrics-parser refuses the {name} input ({e}); skipped"),
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
