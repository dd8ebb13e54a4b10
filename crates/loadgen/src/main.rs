//! `firewatch-loadgen`: serves a synthetic scrape load on consecutive loopback ports, one
//! exporter per port (see the library's documentation for the series it serves).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use clap::Parser;
use firewatch_loadgen::{Load, SERIES_PER_POD};

/// Serve a synthetic scrape load.
#[derive(Debug, Parser)]
struct Args {
    /// Number of exporters, on consecutive ports from `--base-port`.
    #[arg(long, default_value_t = 10)]
    exporters: usize,
    /// Active series per exporter (rounded down to whole pods of 100 series).
    #[arg(long, default_value_t = 10_000)]
    series_per_exporter: usize,
    /// Port of the first exporter.
    #[arg(long, default_value_t = 21000)]
    base_port: u16,
    /// Address the exporters listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Seconds between pod replacements.
    #[arg(long, default_value_t = 600)]
    churn_interval: u64,
    /// Share of pods replaced per churn interval.
    #[arg(long, default_value_t = 0.01)]
    churn_fraction: f64,
}

async fn metrics(load: Arc<Load>) -> impl IntoResponse {
    let body = tokio::task::spawn_blocking(move || {
        let mut out = String::with_capacity(load.pods * SERIES_PER_POD * 160);
        load.render(SystemTime::now(), &mut out);
        out
    })
    .await
    .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let start = SystemTime::now();
    let mut servers = Vec::new();
    for e in 0..args.exporters {
        let load = Arc::new(Load {
            exporter: e,
            pods: args.series_per_exporter / SERIES_PER_POD,
            churn_interval: Duration::from_secs(args.churn_interval.max(1)),
            churn_fraction: args.churn_fraction,
            epoch_start: start,
        });
        let port = args.base_port + u16::try_from(e).unwrap_or(u16::MAX);
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.host, port)).await?;
        let app = Router::new().route("/metrics", get(move || metrics(load.clone())));
        servers.push(tokio::spawn(
            async move { axum::serve(listener, app).await },
        ));
    }
    eprintln!(
        "firewatch-loadgen: {} exporters x {} series on {}:{}..",
        args.exporters,
        args.series_per_exporter / SERIES_PER_POD * SERIES_PER_POD,
        args.host,
        args.base_port
    );
    for s in servers {
        s.await.map_err(std::io::Error::other)??;
    }
    Ok(())
}
