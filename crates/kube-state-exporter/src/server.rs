//! The reflectors (a kube-rs watcher per resource feeding a store, re-listing after errors
//! with backoff) and the HTTP side serving `/metrics` from the stores.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use model::exposition::{encode, negotiate};

/// The exporter's settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to serve on (`:8080`, kube-state-metrics' port).
    pub listen_address: String,
    /// Namespaces to watch; empty for all.
    pub namespaces: Vec<String>,
}

/// The resources this exporter can watch (`--resources`).
pub const RESOURCES: &[&str] = &["pods"];

struct Stores {
    pods: Vec<Store<Pod>>,
}

/// Starts a reflector per namespace (or one for all) on `client` and returns the router
/// serving their state; the reflectors run until the runtime ends.
pub fn router(client: &Client, opts: &Options) -> Router {
    let apis: Vec<Api<Pod>> = if opts.namespaces.is_empty() {
        vec![Api::all(client.clone())]
    } else {
        opts.namespaces
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect()
    };
    let pods = apis
        .into_iter()
        .map(|api| {
            let (reader, writer) = reflector::store();
            let stream = watcher(api, watcher::Config::default())
                .default_backoff()
                .reflect(writer)
                .for_each(|event| async move {
                    if let Err(e) = event {
                        tracing::warn!("pod watch: {e}");
                    }
                });
            tokio::spawn(stream);
            reader
        })
        .collect();
    Router::new()
        .route("/metrics", get(metrics))
        .route("/", get(|| async { "kube-state exporter: /metrics\n" }))
        .with_state(Arc::new(Stores { pods }))
}

async fn metrics(State(stores): State<Arc<Stores>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (format, content_type) = negotiate(accept);
    let mut pods: Vec<Arc<Pod>> = stores.pods.iter().flat_map(Store::state).collect();
    pods.sort_by(|a, b| {
        (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name))
    });
    let body = encode(
        &crate::pod::families(pods.iter().map(AsRef::as_ref)),
        format,
    );
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Connects with the in-cluster or kubeconfig credentials and serves until the process ends.
///
/// # Errors
/// No Kubernetes credentials, or the address cannot be bound.
pub async fn run(opts: Options) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // kube's TLS goes through rustls with ring (DESIGN.md: no aws-lc).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::try_default().await?;
    let app = router(&client, &opts);
    let addr = if opts.listen_address.starts_with(':') {
        format!("0.0.0.0{}", opts.listen_address)
    } else {
        opts.listen_address.clone()
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!(address = %listener.local_addr()?, "Listening on");
    axum::serve(listener, app).await?;
    Ok(())
}
