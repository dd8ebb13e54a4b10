//! The reflectors (a kube-rs watcher per resource feeding a store, re-listing after errors
//! with backoff) and the HTTP side serving `/metrics` from the stores.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, Secret,
    Service,
};
use k8s_openapi::serde::de::DeserializeOwned;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use model::exposition::negotiate;

use crate::allowlist::AllowList;
use crate::kinds::{Allow, Exported};
use crate::out::{Family, encode};

/// The exporter's settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to serve on (`:8080`, kube-state-metrics' port).
    pub listen_address: String,
    /// Namespaces to watch; empty for all.
    pub namespaces: Vec<String>,
    /// Resources to export (of [`RESOURCES`]).
    pub resources: Vec<String>,
    /// `--web.config.file`, read: TLS, basic authentication and headers (none: plain HTTP).
    pub web_config: Option<web::webconfig::WebConfig>,
    /// `--metric-labels-allowlist`: Kubernetes labels exported per resource.
    pub labels_allowlist: AllowList,
    /// `--metric-annotations-allowlist`: Kubernetes annotations exported per resource.
    pub annotations_allowlist: AllowList,
    /// `--metric-opt-in-list`: opt-in families turned on (of [`crate::kinds::OPT_IN`]).
    pub opt_in: Vec<String>,
}

/// The resources this exporter can watch (`--resources`).
pub const RESOURCES: &[&str] = &[
    "configmaps",
    "cronjobs",
    "daemonsets",
    "deployments",
    "endpoints",
    "horizontalpodautoscalers",
    "jobs",
    "namespaces",
    "nodes",
    "persistentvolumeclaims",
    "persistentvolumes",
    "pods",
    "replicasets",
    "secrets",
    "services",
    "statefulsets",
];

/// One watched kind: its stores and, for namespaces, the `--namespaces` filter.
trait Families: Send + Sync {
    /// The `--resources` name.
    fn resource(&self) -> &'static str;
    /// The kind's families, none while it has no objects (kube-state-metrics writes a
    /// store's `# HELP` / `# TYPE` only when it holds objects).
    fn families(&self, allow: &Allow) -> Option<Vec<Family>>;
}

struct Watched<K: Watchable> {
    stores: Vec<Store<K>>,
    /// Object names kept (the namespaces of `--namespaces`); empty: all.
    only: Vec<String>,
}

impl<K: Watchable + Exported> Families for Watched<K> {
    fn resource(&self) -> &'static str {
        K::RESOURCE
    }

    fn families(&self, allow: &Allow) -> Option<Vec<Family>> {
        let mut all = objects(&self.stores);
        if !self.only.is_empty() {
            all.retain(|o| {
                o.meta()
                    .name
                    .as_ref()
                    .is_some_and(|n| self.only.contains(n))
            });
        }
        if all.is_empty() {
            return None;
        }
        let refs: Vec<&K> = all.iter().map(AsRef::as_ref).collect();
        Some(K::families(&refs, allow))
    }
}

/// A namespaced kind's reflectors, when `--resources` asks for it.
fn watch_namespaced<K>(client: &Client, opts: &Options) -> Option<Box<dyn Families>>
where
    K: Watchable + Exported + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let stores = namespaced::<K>(client, opts, K::RESOURCE);
    (!stores.is_empty()).then(|| {
        Box::new(Watched {
            stores,
            only: Vec::new(),
        }) as Box<dyn Families>
    })
}

/// A cluster-wide kind's reflector, when `--resources` asks for it; `only` keeps objects
/// by name.
fn watch_cluster<K>(client: &Client, opts: &Options, only: Vec<String>) -> Option<Box<dyn Families>>
where
    K: Watchable + Exported,
{
    opts.resources.iter().any(|r| r == K::RESOURCE).then(|| {
        Box::new(Watched {
            stores: vec![reflect::<K>(Api::all(client.clone()))],
            only,
        }) as Box<dyn Families>
    })
}

/// What a reflector needs of a resource type.
trait Watchable:
    Resource<DynamicType: Default + Eq + std::hash::Hash + Clone>
    + Clone
    + DeserializeOwned
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
}

impl<K> Watchable for K where
    K: Resource<DynamicType: Default + Eq + std::hash::Hash + Clone>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static
{
}

struct Stores {
    /// The kinds asked for, in `--resources` name order (kube-state-metrics' store order).
    kinds: Vec<Box<dyn Families>>,
    allow: Allow,
}

/// A reflector: a watcher (re-listing after errors, with backoff) feeding a store.
fn reflect<K>(api: Api<K>) -> Store<K>
where
    K: Watchable,
{
    let (reader, writer) = reflector::store();
    let what = K::plural(&K::DynamicType::default()).into_owned();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .for_each(move |event| {
            if let Err(e) = event {
                tracing::warn!(resource = what.as_str(), "watch: {e}");
            }
            async {}
        });
    tokio::spawn(stream);
    reader
}

/// Stores for a namespaced resource: one per `--namespaces` entry, or one for all.
fn namespaced<K>(client: &Client, opts: &Options, resource: &str) -> Vec<Store<K>>
where
    K: Watchable + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    if !opts.resources.iter().any(|r| r == resource) {
        return Vec::new();
    }
    if opts.namespaces.is_empty() {
        return vec![reflect(Api::all(client.clone()))];
    }
    opts.namespaces
        .iter()
        .map(|ns| reflect(Api::namespaced(client.clone(), ns)))
        .collect()
}

/// Starts a reflector per resource (per namespace for namespaced ones) on `client` and
/// returns the router serving their state; the reflectors run until the runtime ends.
pub fn router(client: &Client, opts: &Options) -> Router {
    // In `RESOURCES` order, which is kube-state-metrics' (its enabled resources sorted).
    let kinds = [
        watch_namespaced::<ConfigMap>(client, opts),
        watch_namespaced::<CronJob>(client, opts),
        watch_namespaced::<DaemonSet>(client, opts),
        watch_namespaced::<Deployment>(client, opts),
        watch_namespaced::<Endpoints>(client, opts),
        watch_namespaced::<HorizontalPodAutoscaler>(client, opts),
        watch_namespaced::<Job>(client, opts),
        watch_cluster::<Namespace>(client, opts, opts.namespaces.clone()),
        watch_cluster::<Node>(client, opts, Vec::new()),
        watch_namespaced::<PersistentVolumeClaim>(client, opts),
        watch_cluster::<PersistentVolume>(client, opts, Vec::new()),
        watch_namespaced::<Pod>(client, opts),
        watch_namespaced::<ReplicaSet>(client, opts),
        watch_namespaced::<Secret>(client, opts),
        watch_namespaced::<Service>(client, opts),
        watch_namespaced::<StatefulSet>(client, opts),
    ];
    let stores = Stores {
        kinds: kinds.into_iter().flatten().collect(),
        allow: Allow {
            labels: opts.labels_allowlist.clone(),
            annotations: opts.annotations_allowlist.clone(),
            opt_in: opts.opt_in.iter().cloned().collect(),
        },
    };
    Router::new()
        .route("/metrics", get(metrics))
        .route("/", get(|| async { "kube-state exporter: /metrics\n" }))
        .with_state(Arc::new(stores))
}

/// Every object of these stores, sorted by namespace and name.
fn objects<K: Resource + Clone>(stores: &[Store<K>]) -> Vec<Arc<K>>
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let mut all: Vec<Arc<K>> = stores.iter().flat_map(Store::state).collect();
    all.sort_by(|a, b| {
        (&a.meta().namespace, &a.meta().name).cmp(&(&b.meta().namespace, &b.meta().name))
    });
    all
}

/// `?resources=a,b&resources=c` / `?exclude_resources=...` as kube-state-metrics'
/// `parseResources`: every value split on commas; `None` without the parameter.
fn query_set(query: Option<&str>, key: &str) -> Option<Vec<String>> {
    let mut out: Option<Vec<String>> = None;
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k != key {
            continue;
        }
        let v = v.replace("%2C", ",").replace("%2c", ",");
        let list = out.get_or_insert_with(Vec::new);
        list.extend(
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }
    out
}

async fn metrics(State(stores): State<Arc<Stores>>, uri: Uri, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (format, content_type) = negotiate(accept);
    let wanted = query_set(uri.query(), "resources");
    let excluded = query_set(uri.query(), "exclude_resources");
    let mut fams = Vec::new();
    for kind in &stores.kinds {
        let r = kind.resource();
        if wanted.as_ref().is_some_and(|w| !w.iter().any(|x| x == r))
            || excluded.as_ref().is_some_and(|e| e.iter().any(|x| x == r))
        {
            continue;
        }
        fams.extend(kind.families(&stores.allow).into_iter().flatten());
    }
    let body = encode(&fams, format);
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
    web::serve::serve(
        listener,
        app,
        opts.web_config.clone(),
        std::future::pending(),
    )
    .await?;
    Ok(())
}
