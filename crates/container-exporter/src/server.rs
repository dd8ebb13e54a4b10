//! The HTTP side: `/metrics` in the format the scraper asks for, and a landing page
//! (cAdvisor's `--port` / `--prometheus_endpoint`, with Firewatch's flag names).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use model::exposition::{encode, negotiate};

use crate::cgroup::Layout;
use crate::error::Error;
use crate::families::{Sources, collect};
use crate::runtime::RuntimeFiles;

/// The exporter's settings (from `--web.listen-address`, `--path.cgroup`, `--path.procfs`,
/// `--path.rootfs`).
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to serve on (`:8080`).
    pub listen_address: String,
    /// Where the cgroup hierarchy is mounted (`/sys/fs/cgroup`).
    pub cgroup: PathBuf,
    /// The proc filesystem (`/proc`).
    pub procfs: PathBuf,
    /// The root under which the runtimes' state is read (`/`).
    pub rootfs: PathBuf,
    /// `--web.config.file`, read: TLS, basic authentication and headers (none: plain HTTP).
    pub web_config: Option<web::webconfig::WebConfig>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen_address: ":8080".into(),
            cgroup: "/sys/fs/cgroup".into(),
            procfs: "/proc".into(),
            rootfs: "/".into(),
            web_config: None,
        }
    }
}

impl Options {
    /// The sources these options name.
    ///
    /// # Errors
    /// No cgroup hierarchy under `--path.cgroup`.
    pub fn sources(&self) -> Result<Sources, Error> {
        let layout = Layout::detect(&self.cgroup)
            .ok_or_else(|| Error::NoCgroups(self.cgroup.display().to_string()))?;
        Ok(Sources {
            layout,
            procfs: self.procfs.clone(),
            runtimes: RuntimeFiles::new(&self.rootfs),
            rootfs: self.rootfs.clone(),
            usage: Arc::default(),
        })
    }
}

/// Serves until the process ends.
///
/// # Errors
/// No cgroup hierarchy, or the address cannot be bound.
pub async fn run(opts: Options) -> Result<(), Error> {
    let app = router(&opts)?;
    let addr = if opts.listen_address.starts_with(':') {
        format!("0.0.0.0{}", opts.listen_address)
    } else {
        opts.listen_address.clone()
    };
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| Error::Flag(format!("--web.listen-address={addr}: {e}")))?;
    tracing::info!(address = %listener.local_addr()?, "Listening on");
    web::serve::serve(
        listener,
        app,
        opts.web_config.clone(),
        std::future::pending(),
    )
    .await
    .map_err(|e| Error::Flag(format!("--web.config.file: {e}")))
}

/// The router (also used by the all-in-one start and tests).
///
/// # Errors
/// No cgroup hierarchy under `--path.cgroup`.
pub fn router(opts: &Options) -> Result<Router, Error> {
    let sources = Arc::new(opts.sources()?);
    tracing::info!(layout = ?sources.layout, "cgroups");
    Ok(Router::new()
        .route("/metrics", get(metrics))
        .route(
            "/",
            get(|| async {
                Html(
                    "<html><head><title>Container Exporter</title></head><body>\
                     <h1>Container Exporter</h1><p><a href=\"/metrics\">Metrics</a></p>\
                     </body></html>",
                )
            }),
        )
        .with_state(sources))
}

async fn metrics(State(src): State<Arc<Sources>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (format, content_type) = negotiate(accept);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    #[allow(clippy::cast_precision_loss)]
    let body = tokio::task::spawn_blocking(move || encode(&collect(&src, now as f64), format))
        .await
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}
