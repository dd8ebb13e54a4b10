//! CORS on the API, as Prometheus sets it: `--web.cors.origin` is a fully anchored regex; a
//! request with an `Origin` gets the CORS headers, and the origin is allowed when it matches
//! (`*` for the default `.*`). `OPTIONS` on any API path answers 204.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use model::{MatchOp, Matcher};

/// The allowed origins.
#[derive(Clone, Debug)]
pub struct CorsOrigin {
    any: bool,
    matcher: Option<Matcher>,
}

impl CorsOrigin {
    /// Compiles `--web.cors.origin` (empty: `.*`).
    ///
    /// # Errors
    /// The regex does not compile.
    pub fn new(pattern: &str) -> Result<Self, String> {
        let pattern = if pattern.is_empty() { ".*" } else { pattern };
        if pattern == ".*" {
            return Ok(Self {
                any: true,
                matcher: None,
            });
        }
        let m = Matcher::new(MatchOp::RegexMatch, "origin", pattern)
            .map_err(|e| format!("could not compile CORS regex {pattern:?}: {e}"))?;
        Ok(Self {
            any: false,
            matcher: Some(m),
        })
    }

    fn set_headers(&self, origin: &str, resp: &mut Response) {
        let h = resp.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Accept, Authorization, Content-Type, Origin"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Date"),
        );
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        if self.any {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        } else if self.matcher.as_ref().is_some_and(|m| m.matches(origin))
            && let Ok(v) = HeaderValue::from_str(origin)
        {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
    }

    /// The middleware: answers `OPTIONS` and adds the headers to every answer.
    pub async fn layer(self, req: Request<Body>, next: Next) -> Response {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut resp = if req.method() == Method::OPTIONS {
            StatusCode::NO_CONTENT.into_response()
        } else {
            next.run(req).await
        };
        if let Some(o) = origin {
            self.set_headers(&o, &mut resp);
        }
        resp
    }
}
