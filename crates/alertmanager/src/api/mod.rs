//! API v2 (as `openapi-v0.25.yaml`), `/-/healthy`, `/-/ready`, `/-/reload` and `/metrics`
//! (mirrors Alertmanager's `api/v2/api.go`).

mod alerts;
mod silences;
mod status;
mod ui;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use jiff::Timestamp;

use crate::server::Alertmanager;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct ApiState {
    /// The Alertmanager.
    pub am: Arc<Alertmanager>,
    /// The registry `/metrics` encodes.
    pub registry: metrics::Registry,
}

/// The Alertmanager version the API reports (amtool compares it with its own).
pub const API_VERSION: &str = "0.25.0";

/// The HTTP routes.
pub fn router(am: Arc<Alertmanager>, registry: metrics::Registry) -> Router {
    let state = ApiState { am, registry };
    Router::new()
        .route(
            "/api/v2/alerts",
            get(alerts::get_alerts).post(alerts::post_alerts),
        )
        .route("/api/v2/alerts/groups", get(alerts::get_groups))
        .route(
            "/api/v2/silences",
            get(silences::get_silences).post(silences::post_silence),
        )
        .route(
            "/api/v2/silence/{id}",
            get(silences::get_silence).delete(silences::delete_silence),
        )
        .route("/api/v2/status", get(status::get_status))
        .route("/api/v2/receivers", get(status::get_receivers))
        .route("/-/healthy", get(|| async { "OK" }).head(|| async { "OK" }))
        .route("/-/ready", get(|| async { "OK" }).head(|| async { "OK" }))
        .route("/-/reload", post(status::reload).put(status::reload))
        .route("/metrics", get(status::metrics))
        .merge(ui::routes())
        .layer(axum::middleware::from_fn_with_state(
            GetLimit::new(&state),
            limit_gets,
        ))
        .with_state(state)
}

/// The limit on concurrent GET requests (`--web.get-concurrency`; 0: the number of CPUs or 8,
/// whichever is larger), with its two metrics.
#[derive(Clone)]
struct GetLimit {
    limit: usize,
    permits: Arc<tokio::sync::Semaphore>,
    metrics: Arc<crate::metrics::Metrics>,
}

impl GetLimit {
    fn new(state: &ApiState) -> Self {
        let limit = match state.am.opts.get_concurrency {
            0 => std::thread::available_parallelism().map_or(8, |n| n.get().max(8)),
            n => n,
        };
        Self {
            limit,
            permits: Arc::new(tokio::sync::Semaphore::new(limit)),
            metrics: state.am.metrics.clone(),
        }
    }
}

/// GET requests over the limit are answered 503 at once, as Alertmanager does; the
/// duration and size of the responses of Alertmanager's own handlers are recorded.
async fn limit_gets(
    State(l): State<GetLimit>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let handler = INSTRUMENTED
        .iter()
        .find(|h| **h == req.uri().path())
        .copied();
    let method = req.method().as_str().to_ascii_lowercase();
    let started = std::time::Instant::now();
    let r = limited(&l, req, next).await;
    if let Some(h) = handler {
        l.metrics
            .http_duration
            .with_label_values(&[h, &method])
            .observe(started.elapsed().as_secs_f64());
        let size = axum::body::HttpBody::size_hint(r.body())
            .exact()
            .unwrap_or(0);
        l.metrics
            .http_size
            .with_label_values(&[h, &method])
            .observe(size as f64);
    }
    r
}

/// The handlers whose duration and response size Alertmanager 0.25 records (its own routes;
/// the API v2 is not instrumented there).
const INSTRUMENTED: [&str; 4] = ["/metrics", "/-/healthy", "/-/ready", "/-/reload"];

async fn limited(
    l: &GetLimit,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if req.method() != axum::http::Method::GET {
        return next.run(req).await;
    }
    let Ok(permit) = l.permits.clone().try_acquire_owned() else {
        l.metrics.http_limit_exceeded.inc();
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "Limit of concurrent GET requests reached ({}), try again later.\n",
                l.limit
            ),
        )
            .into_response();
    };
    l.metrics.http_in_flight.inc();
    let in_flight = InFlight {
        _permit: permit,
        metrics: l.metrics.clone(),
    };
    let r = next.run(req).await;
    if axum::body::HttpBody::size_hint(r.body()).exact().is_some() {
        return r;
    }
    // A streamed answer ([`json_list`]) is still being written: it keeps its permit and
    // counts as in flight until its last chunk is sent (or the client goes away).
    let (parts, body) = r.into_parts();
    let body = body.into_data_stream().map(move |chunk| {
        let _ = &in_flight;
        chunk
    });
    Response::from_parts(parts, axum::body::Body::from_stream(body))
}

/// A GET's permit and its place in the in-flight gauge, given back when dropped.
struct InFlight {
    _permit: tokio::sync::OwnedSemaphorePermit,
    metrics: Arc<crate::metrics::Metrics>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.metrics.http_in_flight.dec();
    }
}

/// A time as the API writes it (`strfmt.DateTime`: milliseconds, UTC).
#[must_use]
pub fn api_time(t: Timestamp) -> String {
    let ms = t.subsec_millisecond().max(0);
    format!("{}.{ms:03}Z", t.strftime("%Y-%m-%dT%H:%M:%S"))
}

/// A JSON response, ending in a newline as Go's encoder writes it.
pub(crate) fn json<T: serde::Serialize>(code: StatusCode, v: &T) -> Response {
    match serde_json::to_vec(v) {
        Ok(mut b) => {
            b.push(b'\n');
            (code, [(header::CONTENT_TYPE, "application/json")], b).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// JSON bytes after which a chunk of a [`json_list`] answer is sent.
const LIST_CHUNK_BYTES: usize = 64 << 10;

/// A JSON array answer (200), written a chunk of about [`LIST_CHUNK_BYTES`] at a time as the
/// client reads it, with the bytes [`json`] would write (Go's encoder also writes to the
/// connection as it goes). Each item is serialized and dropped in turn, so the whole text is
/// never held: the list of 10,000 alerts is about 8 MB of JSON, which grown in one buffer
/// was the largest allocation of the Alertmanager benchmark's peak.
pub(crate) fn json_list<T: serde::Serialize + Send + 'static>(items: Vec<T>) -> Response {
    let mut items = items.into_iter();
    let (mut opened, mut any, mut closed) = (false, false, false);
    let chunks = std::iter::from_fn(move || {
        if closed {
            return None;
        }
        let mut buf = Vec::with_capacity(LIST_CHUNK_BYTES + LIST_CHUNK_BYTES / 4);
        if !opened {
            buf.push(b'[');
            opened = true;
        }
        while buf.len() < LIST_CHUNK_BYTES {
            let Some(item) = items.next() else {
                buf.extend_from_slice(b"]\n");
                closed = true;
                break;
            };
            if any {
                buf.push(b',');
            }
            any = true;
            if let Err(e) = serde_json::to_writer(&mut buf, &item) {
                closed = true;
                return Some(Err(e));
            }
        }
        Some(Ok(axum::body::Bytes::from(buf)))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from_stream(futures::stream::iter(chunks)),
    )
        .into_response()
}

/// An error as go-swagger writes a string payload: a JSON string.
pub(crate) fn error(code: StatusCode, msg: &str) -> Response {
    json(code, &msg)
}

/// The query parameters, repeated ones kept.
pub(crate) fn params(q: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// A boolean parameter with its default.
pub(crate) fn flag(ps: &[(String, String)], name: &str, default: bool) -> Result<bool, String> {
    match ps.iter().rev().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => match v.as_str() {
            "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(true),
            "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok(false),
            _ => Err(format!("{name} in query must be of type bool: {v:?}")),
        },
    }
}

/// `filter` parameters, each one matcher (no braces, as Alertmanager's `parseFilter`).
pub(crate) fn filters(ps: &[(String, String)]) -> Result<Vec<crate::matcher::Matcher>, String> {
    let mut out = Vec::new();
    for (k, v) in ps {
        if k == "filter" {
            out.push(crate::matcher::parse_matcher(v)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chunks of a streamed answer, in order.
    fn chunks(r: Response) -> Vec<axum::body::Bytes> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut body = r.into_body().into_data_stream();
            let mut out = Vec::new();
            while let Some(c) = body.next().await {
                out.push(c.unwrap());
            }
            out
        })
    }

    #[test]
    fn a_streamed_list_has_the_bytes_of_the_whole_answer_in_chunks() {
        for n in [0usize, 1, 2, 5_000] {
            let items: Vec<(String, usize)> =
                (0..n).map(|i| (format!("item \"{i}\""), i)).collect();
            let whole = json(StatusCode::OK, &items);
            let whole = chunks(whole).concat();
            let r = json_list(items);
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
            let parts = chunks(r);
            assert_eq!(parts.concat(), whole, "{n} items");
            assert!(parts.iter().all(|c| c.len() < 2 * LIST_CHUNK_BYTES));
            if n == 5_000 {
                // About 100 kB: more than one chunk.
                assert!(parts.len() > 1);
            }
        }
    }
}
