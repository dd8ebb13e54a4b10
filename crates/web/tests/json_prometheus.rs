//! Numbers in query answers, byte for byte as the real Prometheus 2.42 writes them: sample
//! values (Go's shortest `strconv.FormatFloat`, its `'e'` form below 1e-6 and from 1e21, the
//! even digit on an exact tie where Rust's `{}` takes the upper one), vector and matrix times
//! with three decimals, and scalars in the `'f'` form. Both servers are asked the same
//! queries of literal values; the answers must be the same bytes.

mod support;

use std::sync::Arc;

use firewatch_web::WebState;
use promql::{Engine, EngineOptions};
use storage::memory::MemoryStorage;
use testkit::{Server, http, urlencode};

/// Values where ties and the layout rules show: exact ties between two shortest forms
/// (found as the values where Rust's `{}` differs from Firewatch's Go form), magnitudes over
/// the whole exponent range, and decimal fractions as scraped samples have them.
#[allow(clippy::cast_precision_loss)]
fn values() -> Vec<f64> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut ties, mut others) = (Vec::new(), Vec::new());
    while ties.len() < 600 || others.len() < 600 {
        let r = next();
        let v = match r % 3 {
            0 => f64::from_bits((r & 0x800F_FFFF_FFFF_FFFF) | ((1023 + 20 + (r >> 52) % 50) << 52)),
            1 => f64::from_bits(r),
            _ => (r % 10_000_000) as f64 / 1000.0,
        };
        if !v.is_finite() {
            continue;
        }
        if firewatch_promql_value(v) == format!("{v}") {
            if others.len() < 600 {
                others.push(v);
            }
        } else if ties.len() < 600 {
            ties.push(v);
        }
    }
    let mut all = vec![
        0.0,
        -0.0,
        1.0,
        1e-6,
        f64::from_bits(1e-6f64.to_bits() - 1),
        1e-7,
        1e21,
        f64::from_bits(1e21f64.to_bits() - 1),
        -1e21,
        5e-324,
        f64::MAX,
        // A tie: Go writes ...853.2, Rust's `{}` ...853.3.
        667_082_108_456_853.0 + 0.25,
    ];
    all.extend(ties);
    all.extend(others);
    all
}

fn firewatch_promql_value(v: f64) -> String {
    promql::value::format_value(v)
}

/// `POST /api/v1/<path>` with a form body; the answer's body (status 200 asserted).
fn ask(port: u16, path: &str, form: &str) -> String {
    let r = http(port, "POST", &format!("/api/v1/{path}"), Some(form)).unwrap();
    assert_eq!(r.status, 200, "{path} {form}: {}", r.body);
    r.body
}

#[test]
fn numbers_in_answers_are_prometheus_bytes() {
    let test = "web::json_prometheus::numbers_in_answers_are_prometheus_bytes";
    let Some(prometheus) = testkit::peer_binary(test, "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let theirs = Server::start(
        prometheus.to_str().unwrap(),
        &[],
        dir.path(),
        &dir.path().join("data"),
        "global: {}\n",
        &[],
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let state = WebState::new(
        Arc::new(MemoryStorage::new()),
        Arc::new(Engine::new(EngineOptions::default())),
        Arc::new(support::NoHooks),
    );
    let (addr, stop) = rt.block_on(support::serve(state, None));
    let ours: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();

    // Whole answers of single values: scalars, vectors, matrices at times with fractions.
    let mut forms = Vec::new();
    for q in [
        "1e21",
        "1e-7",
        "-0.5",
        "vector(1e21)",
        "vector(1e-7)",
        "vector(-0)",
        "\"x\"",
    ] {
        for time in ["1000", "1000.5", "1000.05", "-3.25"] {
            forms.push(("query", format!("query={}&time={time}", urlencode(q))));
        }
    }
    forms.push((
        "query_range",
        "query=vector(time()%2B1e-7)&start=1000.05&end=1000.1&step=0.05".to_owned(),
    ));
    forms.push((
        "query_range",
        "query=vector(667082108456853.25)&start=999.75&end=1001&step=0.25".to_owned(),
    ));
    // Many values per answer: `label_replace(vector(v), "i", "<k>", "", "") or ...`.
    let values = values();
    for (c, chunk) in values.chunks(200).enumerate() {
        let q = chunk
            .iter()
            .enumerate()
            .map(|(k, v)| format!("label_replace(vector({v:.16e}),\"i\",\"{c}-{k}\",\"\",\"\")"))
            .collect::<Vec<_>>()
            .join(" or ");
        forms.push((
            "query",
            format!("query={}&time=1700000000.123", urlencode(&q)),
        ));
    }
    let mut compared = 0;
    for (path, form) in &forms {
        let a = ask(theirs.port, path, form);
        let b = ask(ours, path, form);
        if form.contains("label_replace") {
            // The order of `or`'s elements is not specified: compare element by element.
            let elements = |body: &str| {
                let v: serde_json::Value = serde_json::from_str(body).unwrap();
                let mut els: Vec<String> = v["data"]["result"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| serde_json::to_string(e).unwrap())
                    .collect();
                els.sort();
                els
            };
            let (ea, eb) = (elements(&a), elements(&b));
            assert_eq!(ea.len(), eb.len());
            for (x, y) in ea.iter().zip(&eb) {
                assert_eq!(y, x, "Firewatch vs Prometheus");
            }
            // serde_json keeps the value strings and turns times into f64: check the times'
            // bytes too.
            assert!(
                b.contains("[1700000000.123,\""),
                "{}",
                &b[..200.min(b.len())]
            );
            compared += ea.len();
        } else {
            assert_eq!(b, a, "{path} {form}: Firewatch vs Prometheus");
            compared += 1;
        }
    }
    assert!(compared > values.len(), "{compared}");
    let _ = stop.send(());
}
