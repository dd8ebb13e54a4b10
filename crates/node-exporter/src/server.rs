//! The HTTP side (node_exporter.go): `/metrics` with `collect[]` / `exclude[]` filters,
//! `--web.max-requests` (503 beyond it), promhttp's handler metrics, and a landing page.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use model::exposition::Format;
use tokio::sync::Semaphore;

use crate::collector::Out;
use crate::error::Error;
use crate::options::Options;
use crate::registry::NodeCollector;

/// Whether this process is the exporter alone ([`runtime`] was called): then each scrape gives
/// its freed memory back to the system. Inside the all-in-one server it does not (trimming
/// walks every arena of a large process).
static ALONE: AtomicBool = AtomicBool::new(false);

struct AppState {
    nodes: NodeCollector,
    limit: Option<Semaphore>,
    exporter_metrics: bool,
    in_flight: AtomicU64,
    /// Responses by status code: 200, 500, 503.
    codes: [AtomicU64; 3],
}

/// Runs the exporter with node_exporter's flags until the process ends.
///
/// # Errors
/// Bad flags, a collector that cannot be built, or an address that cannot be bound.
pub async fn run(opts: Options) -> Result<(), Error> {
    let addr = opts.string("web.listen-address", ":9100");
    let listener = tokio::net::TcpListener::bind(listen_addr(&addr)).await?;
    tracing::info!(address = %listener.local_addr()?, "Listening on");
    let app = router(&opts)?;
    if ALONE.load(Ordering::Relaxed) {
        crate::sys::release_free_memory();
    }
    axum::serve(listener, app).await?;
    Ok(())
}

/// The runtime the exporter runs on alone (call it before anything reads a file): one thread. A scrape is a few milliseconds of
/// file reads done on that thread (other connections wait for it); a single thread keeps the
/// exporter's memory small (one stack, one allocator arena, no thread handing work over).
///
/// # Errors
/// The runtime cannot be built (no event poller).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    // As Go's runtime does for node_exporter: the open-file limit raised to its hard limit
    // (the kept procfs/sysfs files count against it).
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = rustix::process::setrlimit(rustix::process::Resource::Nofile, raised) {
            tracing::debug!(err = %e, "cannot raise the open-file limit");
        }
    }
    crate::sys::tune_allocator();
    ALONE.store(true, Ordering::Relaxed);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The router for these flags (also used by the all-in-one start and tests).
///
/// # Errors
/// A collector cannot be built from its options.
pub fn router(opts: &Options) -> Result<Router, Error> {
    let nodes = NodeCollector::new(opts)?;
    tracing::info!(collectors = ?nodes.names(), "Enabled collectors");
    let max: usize = opts
        .string("web.max-requests", "40")
        .parse()
        .map_err(|_| Error::Flag("--web.max-requests: not an integer".into()))?;
    let path = opts.string("web.telemetry-path", "/metrics");
    let state = Arc::new(AppState {
        nodes,
        limit: (max > 0).then(|| Semaphore::new(max)),
        exporter_metrics: !opts.flag("web.disable-exporter-metrics", false),
        in_flight: AtomicU64::new(0),
        codes: Default::default(),
    });
    let landing = format!(
        "<html><head><title>Node Exporter</title></head><body><h1>Node Exporter</h1>\
         <p><a href=\"{path}\">Metrics</a></p></body></html>"
    );
    Ok(Router::new()
        .route(&path, get(metrics))
        .route("/", get(move || async move { Html(landing) }))
        .with_state(state))
}

/// `:9100` → `0.0.0.0:9100`, `[::1]:9100` as written.
fn listen_addr(addr: &str) -> String {
    if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_owned()
    }
}

fn query_values(raw: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut m: HashMap<String, Vec<String>> = HashMap::new();
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        m.entry(percent_decode(k))
            .or_default()
            .push(percent_decode(v));
    }
    m
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(v) => {
                    out.push(v);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn metrics(State(st): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Response {
    let _permit = match &st.limit {
        Some(sem) => match sem.try_acquire() {
            Ok(p) => Some(p),
            Err(_) => {
                st.codes[2].fetch_add(1, Ordering::Relaxed);
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "Limit of concurrent requests reached ({}), try again later.\n",
                        sem.available_permits()
                    ),
                )
                    .into_response();
            }
        },
        None => None,
    };
    let q = query_values(q.as_deref());
    let collects = q.get("collect[]").cloned().unwrap_or_default();
    let excludes = q.get("exclude[]").cloned().unwrap_or_default();
    if !collects.is_empty() && !excludes.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            "Combined collect and exclude queries are not allowed.",
        )
            .into_response();
    }
    let filter: Vec<String> = if excludes.is_empty() {
        collects
    } else {
        st.nodes
            .names()
            .into_iter()
            .filter(|n| !excludes.iter().any(|e| e == n))
            .map(str::to_owned)
            .collect()
    };
    st.in_flight.fetch_add(1, Ordering::Relaxed);
    // A scrape takes a few milliseconds of file reads: run it on this worker (as
    // `block_in_place`, so the runtime's other tasks move to another thread) rather than hand
    // it to the blocking pool, whose thread wake-ups cost as much as the reads.
    let gather = || {
        let mut body = String::new();
        st.nodes.collect_text(&filter, &mut body)?;
        if st.exporter_metrics {
            handler_metrics(&st).write_text(&mut body);
        }
        if ALONE.load(Ordering::Relaxed) {
            crate::sys::release_free_memory();
        }
        Ok::<_, String>(body)
    };
    // A collector that panics gives a 500, as the blocking pool's join error did.
    let guarded = || std::panic::catch_unwind(std::panic::AssertUnwindSafe(gather));
    let result = match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(guarded),
        _ => guarded(),
    };
    st.in_flight.fetch_sub(1, Ordering::Relaxed);
    match result {
        Ok(Ok(body)) => {
            st.codes[0].fetch_add(1, Ordering::Relaxed);
            ([(header::CONTENT_TYPE, Format::Text.content_type())], body).into_response()
        }
        Ok(Err(e)) => {
            tracing::warn!(err = %e, "Couldn't create filtered metrics handler:");
            (
                StatusCode::BAD_REQUEST,
                format!("Couldn't create filtered metrics handler: couldn't create collector: {e}"),
            )
                .into_response()
        }
        Err(_) => {
            st.codes[1].fetch_add(1, Ordering::Relaxed);
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "a collector panicked while gathering metrics",
            )
                .into_response()
        }
    }
}

/// promhttp's own metrics (`promhttp_metric_handler_*`), counted before this response.
#[allow(clippy::cast_precision_loss)]
fn handler_metrics(st: &AppState) -> Out {
    let mut out = Out::default();
    for cause in ["encoding", "gathering"] {
        out.counter(
            "promhttp_metric_handler_errors_total",
            "Total number of internal errors encountered by the promhttp metric handler.",
            &[("cause", cause)],
            0.0,
        );
    }
    out.gauge(
        "promhttp_metric_handler_requests_in_flight",
        "Current number of scrapes being served.",
        &[],
        st.in_flight.load(Ordering::Relaxed) as f64,
    );
    for (i, code) in ["200", "500", "503"].iter().enumerate() {
        out.counter(
            "promhttp_metric_handler_requests_total",
            "Total number of scrapes by HTTP status code.",
            &[("code", code)],
            st.codes[i].load(Ordering::Relaxed) as f64,
        );
    }
    out
}
