//! HTTP handler metrics (`web/web.go`'s `metrics` and client_golang's `promhttp`
//! instrumentation): requests by handler and status code, latency and response size by
//! handler, the handler being the route pattern as Prometheus names it
//! (`/api/v1/label/:name/values`).

use std::time::Instant;

use axum::body::HttpBody as _;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// The handler metrics, registered once per router.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: metrics::CounterVec,
    duration: metrics::HistogramVec,
    response_size: metrics::HistogramVec,
}

impl HttpMetrics {
    /// Registers (or finds) the families in `registry`.
    #[must_use]
    pub fn new(registry: &metrics::Registry) -> Self {
        Self {
            requests: registry.counter_vec(
                "prometheus_http_requests_total",
                "Counter of HTTP requests.",
                &["handler", "code"],
            ),
            duration: registry.histogram_vec(
                "prometheus_http_request_duration_seconds",
                "Histogram of latencies for HTTP requests.",
                &["handler"],
                &[0.1, 0.2, 0.4, 1.0, 3.0, 8.0, 20.0, 60.0, 120.0],
            ),
            response_size: registry.histogram_vec(
                "prometheus_http_response_size_bytes",
                "Histogram of response size for HTTP requests.",
                &["handler"],
                &metrics::exponential_buckets(100.0, 10.0, 8),
            ),
        }
    }

    /// Counts a response of `handler`.
    #[allow(clippy::cast_precision_loss)]
    fn record(&self, handler: &str, code: u16, seconds: f64, size: u64) {
        self.requests
            .with_label_values(&[handler, &code.to_string()])
            .inc();
        self.duration.with_label_values(&[handler]).observe(seconds);
        self.response_size
            .with_label_values(&[handler])
            .observe(size as f64);
    }
}

/// An axum route pattern in httprouter's syntax: `{name}` is `:name`, `{*rest}` is `*rest`.
#[must_use]
pub fn handler_name(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('}') else {
            break;
        };
        let inner = &rest[i + 1..i + j];
        if inner.starts_with('*') {
            out.push_str(inner);
        } else {
            out.push(':');
            out.push_str(inner);
        }
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out
}

/// Middleware: times the request and records it under its route pattern.
pub async fn instrument(metrics: HttpMetrics, req: Request, next: Next) -> Response {
    let handler = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| handler_name(p.as_str()));
    let start = Instant::now();
    let resp = next.run(req).await;
    if let Some(handler) = handler {
        let hint = resp.body().size_hint();
        let size = hint.exact().unwrap_or_else(|| hint.lower());
        metrics.record(
            &handler,
            resp.status().as_u16(),
            start.elapsed().as_secs_f64(),
            size,
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_patterns_in_prometheus_syntax() {
        for (axum, prom) in [
            ("/api/v1/query", "/api/v1/query"),
            ("/api/v1/label/{name}/values", "/api/v1/label/:name/values"),
            ("/static/{*filepath}", "/static/*filepath"),
            ("/prefix/api/v1/{a}/{b}", "/prefix/api/v1/:a/:b"),
        ] {
            assert_eq!(handler_name(axum), prom);
        }
    }
}
