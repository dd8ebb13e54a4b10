//! Serving the application on a listener with the web configuration: TLS (rustls), basic
//! authentication against bcrypt hashes, and the configured response headers.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

use crate::long_uri::LongUriIo;
use crate::webconfig::WebConfig;

/// A bcrypt hash of a random password, checked for unknown users so that their answer takes
/// as long as a wrong password's.
const DUMMY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

/// The users and headers in force.
struct Settings {
    users: std::collections::BTreeMap<String, String>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Settings {
    fn of(cfg: &WebConfig) -> Self {
        let headers = cfg
            .http_server_config
            .headers
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    HeaderName::try_from(k.as_str()).ok()?,
                    HeaderValue::try_from(v.as_str()).ok()?,
                ))
            })
            .collect();
        Self {
            users: cfg.basic_auth_users.clone(),
            headers,
        }
    }
}

/// The file the settings came from and its modification time when read.
struct Source {
    path: PathBuf,
    modified: Option<SystemTime>,
}

/// Basic authentication and extra headers around the application. As exporter-toolkit does,
/// the file is read again when it changes, so users and headers change without a restart (an
/// invalid new file is logged and the last good settings stay).
#[derive(Clone)]
struct Guard {
    settings: Arc<Mutex<Arc<Settings>>>,
    source: Option<Arc<Mutex<Source>>>,
    /// `user:hash:password` → outcome, so that bcrypt runs once per credential.
    cache: Arc<Mutex<HashMap<String, bool>>>,
    /// `rate_limit`, when configured.
    limiter: Option<Arc<Mutex<Bucket>>>,
}

/// A token bucket as Go's `rate.Limiter`: `burst` tokens, starting full, one more every
/// interval.
struct Bucket {
    tokens: f64,
    burst: f64,
    per_ms: f64,
    last: std::time::Instant,
}

impl Bucket {
    fn allow(&mut self) -> bool {
        let now = std::time::Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64() * 1000.0;
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_ms).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl Guard {
    fn new(cfg: &WebConfig) -> Self {
        let source = cfg.source.as_ref().map(|path| {
            Arc::new(Mutex::new(Source {
                modified: modified(path),
                path: path.clone(),
            }))
        });
        let limiter = cfg.rate_limit.as_ref().and_then(|rl| {
            let ms = rl.interval_ms().ok().filter(|ms| *ms > 0)?;
            let burst = rl.burst as f64;
            Some(Arc::new(Mutex::new(Bucket {
                tokens: burst,
                burst,
                per_ms: 1.0 / ms as f64,
                last: std::time::Instant::now(),
            })))
        });
        Self {
            settings: Arc::new(Mutex::new(Arc::new(Settings::of(cfg)))),
            source,
            cache: Arc::default(),
            limiter,
        }
    }

    /// The settings, read again first if the file changed.
    fn current(&self) -> Arc<Settings> {
        if let Some(source) = &self.source {
            let mut src = source.lock();
            let now = modified(&src.path);
            if now != src.modified {
                src.modified = now;
                match WebConfig::load(&src.path) {
                    Ok(cfg) => *self.settings.lock() = Arc::new(Settings::of(&cfg)),
                    Err(e) => {
                        warn!(error = %e, "web config file changed but is invalid; keeping the last good one");
                    }
                }
            }
        }
        self.settings.lock().clone()
    }

    /// Whether the request's credentials are good (always, without configured users).
    async fn allowed(&self, settings: &Settings, authorization: Option<String>) -> bool {
        if settings.users.is_empty() {
            return true;
        }
        let Some((user, pass)) = authorization.as_deref().and_then(basic_credentials) else {
            return false;
        };
        let (hash, known) = match settings.users.get(&user) {
            Some(h) => (h.clone(), true),
            None => (DUMMY_HASH.to_owned(), false),
        };
        let key = format!("{}:{}:{}", hex(&user), hex(&hash), hex(&pass));
        if let Some(ok) = self.cache.lock().get(&key) {
            return *ok && known;
        }
        let ok = tokio::task::spawn_blocking(move || bcrypt::verify(pass, &hash).unwrap_or(false))
            .await
            .unwrap_or(false)
            && known;
        let mut cache = self.cache.lock();
        if cache.len() > 1000 {
            cache.clear();
        }
        cache.insert(key, ok);
        ok
    }

    async fn handle(self, app: Router, req: Request<Body>) -> Response {
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let settings = self.current();
        if let Some(l) = &self.limiter
            && !l.lock().allow()
        {
            return (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n").into_response();
        }
        let mut resp = if self.allowed(&settings, authorization).await {
            tower::ServiceExt::oneshot(app, req)
                .await
                .unwrap_or_else(|e| match e {})
        } else {
            let mut r = (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
            r
        };
        for (k, v) in &settings.headers {
            resp.headers_mut().insert(k.clone(), v.clone());
        }
        resp
    }
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// `Basic <base64(user:pass)>` → (user, pass).
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(rest.trim()).ok()?).ok()?;
    let (u, p) = decoded.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

/// Limits against abusive clients on a listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a client may take to send a request's head (and its TLS handshake), also how
    /// long an idle keep-alive connection stays open (Prometheus's `--web.read-timeout`).
    pub read_timeout: Duration,
    /// Connections served at once; further ones wait in the accept queue (Prometheus's
    /// `--web.max-connections`; 0: no limit).
    pub max_connections: usize,
}

impl Default for Limits {
    /// Prometheus's defaults: a 5 minute read timeout, 512 connections.
    fn default() -> Self {
        Self {
            read_timeout: Duration::from_secs(5 * 60),
            max_connections: 512,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, with TLS, basic authentication and
/// headers as `config` says (none: plain HTTP, no authentication), and the default
/// [`Limits`]. Connections still open at shutdown are given up to 5 seconds to finish.
///
/// # Errors
/// The TLS settings cannot be turned into a server configuration.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: Option<WebConfig>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), crate::error::WebConfigError> {
    serve_with_limits(listener, app, config, shutdown, Limits::default()).await
}

/// [`serve`] with the given [`Limits`]: a client that does not send its request head within
/// the read timeout is disconnected, and at most `max_connections` are served at once.
///
/// # Errors
/// The TLS settings cannot be turned into a server configuration.
pub async fn serve_with_limits(
    listener: TcpListener,
    app: Router,
    config: Option<WebConfig>,
    shutdown: impl Future<Output = ()> + Send,
    limits: Limits,
) -> Result<(), crate::error::WebConfigError> {
    let config = config.unwrap_or_default();
    let tls = if config.tls_server_config.is_enabled() {
        Some(tokio_rustls::TlsAcceptor::from(config.rustls_config()?))
    } else {
        None
    };
    info!(
        address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        tls = tls.is_some(),
        "serving HTTP"
    );
    let guard = Guard::new(&config);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Request lines and headers up to Go's limit, as Prometheus accepts (hyper's default
    // buffer holds about 400 KB); URIs over hyper's 64 KiB are rewritten by `LongUriIo`.
    builder
        .http1()
        .max_buf_size(crate::long_uri::MAX_HEAD + 8 * 1024)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.read_timeout);
    let permits = (limits.max_connections > 0)
        .then(|| Arc::new(tokio::sync::Semaphore::new(limits.max_connections)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // At the limit, no connection is accepted until one ends (as Go's LimitListener).
        let permit = match &permits {
            Some(p) => tokio::select! {
                permit = p.clone().acquire_owned() => permit.ok(),
                () = &mut shutdown => break,
            },
            None => None,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let guard = guard.clone();
        let app = app.clone();
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            let guard = guard.clone();
            let app = app.clone();
            let mut req = req.map(Body::new);
            crate::long_uri::lift(&mut req);
            async move { Ok::<_, std::convert::Infallible>(guard.handle(app, req).await) }
        });
        let builder = builder.clone();
        match &tls {
            None => {
                let io =
                    TokioIo::new(LongUriIo::new(stream).with_head_timeout(limits.read_timeout));
                let conn = builder.serve_connection_with_upgrades(io, service);
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    let _permit = permit;
                    if let Err(e) = conn.await {
                        debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                let handshake = limits.read_timeout;
                tokio::spawn(async move {
                    let _permit = permit;
                    let accepted = tokio::time::timeout(handshake, acceptor.accept(stream)).await;
                    let stream = match accepted {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    let io =
                        TokioIo::new(LongUriIo::new(stream).with_head_timeout(limits.read_timeout));
                    let conn = builder.serve_connection_with_upgrades(io, service);
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_decode() {
        assert_eq!(
            basic_credentials("Basic YWxpY2U6c2VjcmV0"),
            Some(("alice".to_owned(), "secret".to_owned()))
        );
        assert_eq!(
            basic_credentials("Basic dTpwOng="),
            Some(("u".to_owned(), "p:x".to_owned()))
        );
        assert_eq!(basic_credentials("Bearer abc"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
        // Go's net/http decodes with StdEncoding: the padding is required.
        assert_eq!(basic_credentials("Basic dTpwOng"), None);
    }
}
