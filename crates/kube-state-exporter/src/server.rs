//! The reflectors (a kube-rs watcher per resource feeding a store, re-listing after errors
//! with backoff) and the HTTP side serving `/metrics` from the stores.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use k8s_openapi::serde::de::DeserializeOwned;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use model::exposition::negotiate;

use crate::out::encode;

use crate::allowlist::AllowList;
use crate::table::Kind;

/// The two allowlists.
struct Allow {
    labels: AllowList,
    annotations: AllowList,
}

/// `kube_<kind>_labels` / `_annotations` of these objects: base labels the object's name
/// under `label`, its namespace, and its `uid` where the kind's families carry it.
fn meta_families<K: Resource>(
    objs: &[Arc<K>],
    resource: &str,
    prefix: &str,
    label: &str,
    uid: bool,
    allow: &Allow,
) -> Vec<crate::out::Family> {
    let rows: Vec<_> = objs
        .iter()
        .map(|o| {
            let m = o.meta();
            let mut base = Vec::with_capacity(3);
            if let Some(ns) = m.namespace.as_deref() {
                base.push(("namespace", ns));
            }
            base.push((label, m.name.as_deref().unwrap_or("")));
            if uid {
                base.push(("uid", m.uid.as_deref().unwrap_or("")));
            }
            (base, m)
        })
        .collect();
    crate::allowlist::families(prefix, resource, &rows, &allow.labels, &allow.annotations)
}

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

/// The families of one table-driven kind's stores.
trait Families: Send + Sync {
    fn families(&self, allow: &Allow) -> Vec<crate::out::Family>;
}

struct Watched<K: Resource + 'static>
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    stores: Vec<Store<K>>,
    kind: &'static Kind<K>,
    resource: String,
}

impl<K> Families for Watched<K>
where
    K: Resource + Clone + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    fn families(&self, allow: &Allow) -> Vec<crate::out::Family> {
        let all = objects(&self.stores);
        let k = self.kind;
        let prefix = k.created.strip_suffix("_created").unwrap_or(k.created);
        let mut fams = k.families(all.iter().map(AsRef::as_ref));
        fams.extend(meta_families(
            &all,
            &self.resource,
            prefix,
            k.label,
            k.uid,
            allow,
        ));
        fams
    }
}

/// A table-driven namespaced kind's reflectors, when `--resources` asks for it.
fn table<K>(
    client: &Client,
    opts: &Options,
    resource: &str,
    kind: &'static Kind<K>,
) -> Option<Box<dyn Families>>
where
    K: Watchable + Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    boxed(namespaced(client, opts, resource), kind, resource)
}

/// The kind's families over these stores; none without stores.
fn boxed<K: Watchable>(
    stores: Vec<Store<K>>,
    kind: &'static Kind<K>,
    resource: &str,
) -> Option<Box<dyn Families>> {
    (!stores.is_empty()).then(|| {
        Box::new(Watched {
            stores,
            kind,
            resource: resource.to_owned(),
        }) as Box<dyn Families>
    })
}

/// A table-driven cluster-wide kind's reflector, when `--resources` asks for it.
fn cluster_table<K>(
    client: &Client,
    opts: &Options,
    resource: &str,
    kind: &'static Kind<K>,
) -> Option<Box<dyn Families>>
where
    K: Watchable,
{
    let wanted = opts.resources.iter().any(|r| r == resource);
    let stores = if wanted {
        vec![reflect(Api::all(client.clone()))]
    } else {
        Vec::new()
    };
    boxed(stores, kind, resource)
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
    pods: Vec<Store<Pod>>,
    deployments: Vec<Store<Deployment>>,
    /// The table-driven kinds asked for.
    tables: Vec<Box<dyn Families>>,
    nodes: Vec<Store<Node>>,
    namespaces: Vec<Store<Namespace>>,
    /// `--namespaces` (empty: all), for the cluster-wide namespace list.
    only: Vec<String>,
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
    let wants = |r: &str| opts.resources.iter().any(|x| x == r);
    let stores = Stores {
        pods: namespaced(client, opts, "pods"),
        deployments: namespaced(client, opts, "deployments"),
        tables: [
            table(client, opts, "replicasets", &crate::replicaset::KIND),
            table(client, opts, "daemonsets", &crate::daemonset::KIND),
            table(client, opts, "statefulsets", &crate::statefulset::KIND),
            table(client, opts, "services", &crate::service::KIND),
            table(client, opts, "jobs", &crate::job::KIND),
            table(client, opts, "cronjobs", &crate::cronjob::KIND),
            table(
                client,
                opts,
                "persistentvolumeclaims",
                &crate::storage::CLAIM,
            ),
            cluster_table(client, opts, "persistentvolumes", &crate::storage::VOLUME),
            table(client, opts, "endpoints", &crate::endpoint::KIND),
            table(client, opts, "horizontalpodautoscalers", &crate::hpa::KIND),
            table(client, opts, "configmaps", &crate::config::CONFIGMAP),
            table(client, opts, "secrets", &crate::config::SECRET),
        ]
        .into_iter()
        .flatten()
        .collect(),
        nodes: if wants("nodes") {
            vec![reflect(Api::all(client.clone()))]
        } else {
            Vec::new()
        },
        namespaces: if wants("namespaces") {
            vec![reflect(Api::all(client.clone()))]
        } else {
            Vec::new()
        },
        only: opts.namespaces.clone(),
        allow: Allow {
            labels: opts.labels_allowlist.clone(),
            annotations: opts.annotations_allowlist.clone(),
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

async fn metrics(State(stores): State<Arc<Stores>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let (format, content_type) = negotiate(accept);
    let pods = objects(&stores.pods);
    let deployments = objects(&stores.deployments);
    let nodes = objects(&stores.nodes);
    let mut namespaces = objects(&stores.namespaces);
    if !stores.only.is_empty() {
        namespaces.retain(|n| {
            n.metadata
                .name
                .as_ref()
                .is_some_and(|x| stores.only.contains(x))
        });
    }
    let mut fams = Vec::new();
    let allow = &stores.allow;
    if !stores.pods.is_empty() {
        fams.extend(crate::pod::families(pods.iter().map(AsRef::as_ref)));
        fams.extend(meta_families(&pods, "pods", "kube_pod", "pod", true, allow));
    }
    if !stores.deployments.is_empty() {
        fams.extend(crate::deployment::families(
            deployments.iter().map(AsRef::as_ref),
        ));
        let (r, p) = ("deployments", "kube_deployment");
        fams.extend(meta_families(
            &deployments,
            r,
            p,
            "deployment",
            false,
            allow,
        ));
    }
    for t in &stores.tables {
        fams.extend(t.families(allow));
    }
    if !stores.nodes.is_empty() {
        fams.extend(crate::node::families(nodes.iter().map(AsRef::as_ref)));
        fams.extend(meta_families(
            &nodes,
            "nodes",
            "kube_node",
            "node",
            false,
            allow,
        ));
    }
    if !stores.namespaces.is_empty() {
        fams.extend(crate::namespace::families(
            namespaces.iter().map(AsRef::as_ref),
        ));
        let (r, p) = ("namespaces", "kube_namespace");
        fams.extend(meta_families(&namespaces, r, p, "namespace", false, allow));
    }
    fams.sort_by(|a, b| a.name.cmp(b.name));
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
