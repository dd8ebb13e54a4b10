//! The watch loop: merges watch streams of several kinds into local stores and rebuilds the
//! role's groups that each change affects.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Debug;

use futures::stream::{BoxStream, SelectAll};
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::meta::{Stores, key};
use config::KubernetesSdConfig;
use config::kubernetes::{Role, SelectorConfig};

use super::{
    build_endpoints, build_endpointslice, build_ingress, build_node, build_pod, build_service,
};
use crate::targetgroup::TargetGroup;

/// A watched object, any kind.
#[derive(Debug)]
enum Obj {
    Pod(Box<Pod>),
    Service(Box<Service>),
    Endpoints(Box<Endpoints>),
    EndpointSlice(Box<EndpointSlice>),
    Node(Box<Node>),
    Ingress(Box<Ingress>),
}

impl Obj {
    fn kind(&self) -> Role {
        match self {
            Self::Pod(_) => Role::Pod,
            Self::Service(_) => Role::Service,
            Self::Endpoints(_) => Role::Endpoints,
            Self::EndpointSlice(_) => Role::EndpointSlice,
            Self::Node(_) => Role::Node,
            Self::Ingress(_) => Role::Ingress,
        }
    }

    fn store_key(&self) -> String {
        match self {
            Self::Node(n) => n.metadata.name.clone().unwrap_or_default(),
            Self::Pod(o) => key(&o.metadata),
            Self::Service(o) => key(&o.metadata),
            Self::Endpoints(o) => key(&o.metadata),
            Self::EndpointSlice(o) => key(&o.metadata),
            Self::Ingress(o) => key(&o.metadata),
        }
    }
}

enum Ev {
    Apply(Obj),
    Delete(Obj),
    Init,
    InitApply(Obj),
    InitDone,
    Error(String),
}

fn event_stream<K>(
    api: Api<K>,
    selector: Option<&SelectorConfig>,
    wrap: fn(K) -> Obj,
    id: usize,
) -> BoxStream<'static, (usize, Ev)>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let mut cfg = watcher::Config::default();
    if let Some(s) = selector {
        if !s.label.is_empty() {
            cfg = cfg.labels(&s.label);
        }
        if !s.field.is_empty() {
            cfg = cfg.fields(&s.field);
        }
    }
    watcher(api, cfg)
        .default_backoff()
        .map(move |r| {
            let ev = match r {
                Ok(watcher::Event::Apply(o)) => Ev::Apply(wrap(o)),
                Ok(watcher::Event::Delete(o)) => Ev::Delete(wrap(o)),
                Ok(watcher::Event::Init) => Ev::Init,
                Ok(watcher::Event::InitApply(o)) => Ev::InitApply(wrap(o)),
                Ok(watcher::Event::InitDone) => Ev::InitDone,
                Err(e) => Ev::Error(e.to_string()),
            };
            (id, ev)
        })
        .boxed()
}

/// The kinds a role watches.
fn kinds_for(role: Role, options: &KubernetesSdConfig) -> Vec<Role> {
    let node = options.attach_metadata.node;
    let mut kinds = match role {
        Role::Node => vec![Role::Node],
        Role::Pod => vec![Role::Pod],
        Role::Service => vec![Role::Service],
        Role::Ingress => vec![Role::Ingress],
        Role::Endpoints => vec![Role::Endpoints, Role::Service, Role::Pod],
        Role::EndpointSlice => vec![Role::EndpointSlice, Role::Service, Role::Pod],
    };
    if node && matches!(role, Role::Pod | Role::Endpoints | Role::EndpointSlice) {
        kinds.push(Role::Node);
    }
    kinds
}

fn build_streams(
    client: &Client,
    role: Role,
    options: &KubernetesSdConfig,
    namespaces: &[String],
) -> Vec<BoxStream<'static, (usize, Ev)>> {
    let mut out = Vec::new();
    for kind in kinds_for(role, options) {
        let sel = options.selector(kind);
        if kind == Role::Node {
            let id = out.len();
            out.push(event_stream(
                Api::<Node>::all(client.clone()),
                sel,
                |o| Obj::Node(Box::new(o)),
                id,
            ));
            continue;
        }
        let scopes: Vec<Option<&str>> = if namespaces.is_empty() {
            vec![None]
        } else {
            namespaces.iter().map(|n| Some(n.as_str())).collect()
        };
        for ns in scopes {
            let id = out.len();
            let c = client.clone();
            let s = match kind {
                Role::Pod => event_stream(api::<Pod>(c, ns), sel, |o| Obj::Pod(Box::new(o)), id),
                Role::Service => event_stream(
                    api::<Service>(c, ns),
                    sel,
                    |o| Obj::Service(Box::new(o)),
                    id,
                ),
                Role::Endpoints => event_stream(
                    api::<Endpoints>(c, ns),
                    sel,
                    |o| Obj::Endpoints(Box::new(o)),
                    id,
                ),
                Role::EndpointSlice => event_stream(
                    api::<EndpointSlice>(c, ns),
                    sel,
                    |o| Obj::EndpointSlice(Box::new(o)),
                    id,
                ),
                Role::Ingress => event_stream(
                    api::<Ingress>(c, ns),
                    sel,
                    |o| Obj::Ingress(Box::new(o)),
                    id,
                ),
                Role::Node => unreachable!("handled above"),
            };
            out.push(s);
        }
    }
    out
}

fn api<K>(client: Client, ns: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as Resource>::DynamicType: Default,
{
    match ns {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    }
}

/// State of the watch loop of one discovery.
struct Watch {
    role: Role,
    attach_node: bool,
    stores: Stores,
    /// Per stream: keys it has delivered (to detect deletions across relists).
    owned: Vec<HashSet<String>>,
    /// Per stream: keys seen in the relist under way.
    relisting: Vec<Option<HashSet<String>>>,
    synced: Vec<bool>,
    /// Per stream: the kind it watches.
    kinds: Vec<Role>,
    /// Primary keys whose groups must be rebuilt.
    dirty: BTreeSet<String>,
}

/// Counts a watch event in `prometheus_sd_kubernetes_events_total` (role of the object,
/// `add`, `update` or `delete`), as Prometheus's informer handlers do.
fn count_event(kind: Role, event: &str) {
    crate::metrics::SD
        .kubernetes_events
        .with_label_values(&[kind.as_str(), event])
        .inc();
}

fn source_prefix(role: Role) -> &'static str {
    match role {
        Role::Pod => "pod",
        Role::Service => "svc",
        Role::Endpoints => "endpoints",
        Role::EndpointSlice => "endpointslice",
        Role::Node => "node",
        Role::Ingress => "ingress",
    }
}

impl Watch {
    fn upsert(&mut self, obj: Obj) {
        let k = obj.store_key();
        self.mark(&obj, &k);
        let st = &mut self.stores;
        match obj {
            Obj::Pod(o) => {
                st.pods.insert(k, *o);
            }
            Obj::Service(o) => {
                st.services.insert(k, *o);
            }
            Obj::Endpoints(o) => {
                st.endpoints.insert(k, *o);
            }
            Obj::EndpointSlice(o) => {
                st.endpointslices.insert(k, *o);
            }
            Obj::Node(o) => {
                st.nodes.insert(k, *o);
            }
            Obj::Ingress(o) => {
                st.ingresses.insert(k, *o);
            }
        }
    }

    fn remove(&mut self, kind: Role, k: &str) {
        let st = &mut self.stores;
        let old: Option<Obj> = match kind {
            Role::Pod => st.pods.remove(k).map(|o| Obj::Pod(Box::new(o))),
            Role::Service => st.services.remove(k).map(|o| Obj::Service(Box::new(o))),
            Role::Endpoints => st.endpoints.remove(k).map(|o| Obj::Endpoints(Box::new(o))),
            Role::EndpointSlice => st
                .endpointslices
                .remove(k)
                .map(|o| Obj::EndpointSlice(Box::new(o))),
            Role::Node => st.nodes.remove(k).map(|o| Obj::Node(Box::new(o))),
            Role::Ingress => st.ingresses.remove(k).map(|o| Obj::Ingress(Box::new(o))),
        };
        if let Some(old) = old {
            self.mark(&old, k);
        }
    }

    /// Marks the role's groups that depend on `obj` (stored under `k`).
    fn mark(&mut self, obj: &Obj, k: &str) {
        if obj.kind() == self.role {
            self.dirty.insert(k.to_owned());
            return;
        }
        let st = &self.stores;
        let dirty = &mut self.dirty;
        match (self.role, obj) {
            (Role::Pod, Obj::Node(n)) => {
                let node = n.metadata.name.as_deref();
                for (pk, p) in &st.pods {
                    if p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == node {
                        dirty.insert(pk.clone());
                    }
                }
            }
            (Role::Endpoints | Role::EndpointSlice, Obj::Node(_)) => {
                if self.role == Role::Endpoints {
                    dirty.extend(st.endpoints.keys().cloned());
                } else {
                    dirty.extend(st.endpointslices.keys().cloned());
                }
            }
            (Role::Endpoints, Obj::Service(_)) if st.endpoints.contains_key(k) => {
                dirty.insert(k.to_owned());
            }
            (Role::EndpointSlice, Obj::Service(svc)) => {
                let ns = svc.metadata.namespace.as_deref();
                let name = svc.metadata.name.as_deref();
                for (ek, e) in &st.endpointslices {
                    let owner = e
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get("kubernetes.io/service-name"));
                    if e.metadata.namespace.as_deref() == ns && owner.map(String::as_str) == name {
                        dirty.insert(ek.clone());
                    }
                }
            }
            (Role::Endpoints, Obj::Pod(_)) => {
                for (ek, e) in &st.endpoints {
                    let refs = e.subsets.iter().flatten().flat_map(|s| {
                        s.addresses
                            .iter()
                            .flatten()
                            .chain(s.not_ready_addresses.iter().flatten())
                    });
                    if refs
                        .filter_map(|a| a.target_ref.as_ref())
                        .any(|r| is_pod_ref(r, k))
                    {
                        dirty.insert(ek.clone());
                    }
                }
            }
            (Role::EndpointSlice, Obj::Pod(_)) => {
                for (ek, e) in &st.endpointslices {
                    if e.endpoints
                        .iter()
                        .filter_map(|ep| ep.target_ref.as_ref())
                        .any(|r| is_pod_ref(r, k))
                    {
                        dirty.insert(ek.clone());
                    }
                }
            }
            _ => {}
        }
    }

    fn handle(&mut self, id: usize, ev: Ev) {
        match ev {
            Ev::Apply(o) => {
                let event = if self.owned[id].insert(o.store_key()) {
                    "add"
                } else {
                    "update"
                };
                count_event(o.kind(), event);
                self.upsert(o);
            }
            Ev::Delete(o) => {
                count_event(o.kind(), "delete");
                let k = o.store_key();
                self.owned[id].remove(&k);
                self.remove(o.kind(), &k);
            }
            Ev::Init => self.relisting[id] = Some(HashSet::new()),
            Ev::InitApply(o) => {
                if let Some(seen) = self.relisting[id].as_mut() {
                    seen.insert(o.store_key());
                }
                let event = if self.owned[id].insert(o.store_key()) {
                    "add"
                } else {
                    "update"
                };
                count_event(o.kind(), event);
                self.upsert(o);
            }
            Ev::InitDone => {
                self.synced[id] = true;
                if let Some(seen) = self.relisting[id].take() {
                    // What this stream had before but the relist no longer has is gone.
                    let gone: Vec<String> = self.owned[id].difference(&seen).cloned().collect();
                    for k in gone {
                        self.remove(self.kinds[id], &k);
                    }
                    self.owned[id] = seen;
                }
            }
            Ev::Error(e) => {
                tracing::warn!(role = self.role.as_str(), err = %e, "Kubernetes watch error");
            }
        }
    }

    fn take_groups(&mut self) -> Vec<TargetGroup> {
        let prefix = source_prefix(self.role);
        let mut out = Vec::new();
        for k in std::mem::take(&mut self.dirty) {
            let st = &self.stores;
            let g = match self.role {
                Role::Pod => st.pods.get(&k).map(|o| build_pod(o, st, self.attach_node)),
                Role::Service => st.services.get(&k).map(build_service),
                Role::Endpoints => st
                    .endpoints
                    .get(&k)
                    .map(|o| build_endpoints(o, st, self.attach_node)),
                Role::EndpointSlice => st
                    .endpointslices
                    .get(&k)
                    .map(|o| build_endpointslice(o, st, self.attach_node)),
                Role::Ingress => st.ingresses.get(&k).map(build_ingress),
                Role::Node => match st.nodes.get(&k) {
                    Some(n) => match build_node(n) {
                        Some(g) => Some(g),
                        None => continue,
                    },
                    None => None,
                },
            };
            out.push(g.unwrap_or_else(|| TargetGroup::empty(format!("{prefix}/{k}"))));
        }
        out
    }
}

fn is_pod_ref(r: &k8s_openapi::api::core::v1::ObjectReference, pod_key: &str) -> bool {
    r.kind.as_deref() == Some("Pod")
        && format!(
            "{}/{}",
            r.namespace.as_deref().unwrap_or(""),
            r.name.as_deref().unwrap_or("")
        ) == pod_key
}

/// Runs the watches of one discovery until cancelled, sending changed groups once every
/// stream has completed its first listing.
pub(crate) async fn run(
    client: Client,
    role: Role,
    options: &KubernetesSdConfig,
    namespaces: Vec<String>,
    tx: mpsc::Sender<Vec<TargetGroup>>,
    cancel: CancellationToken,
) {
    let streams = build_streams(&client, role, options, &namespaces);
    let n = streams.len();
    let kinds: Vec<Role> = kinds_for(role, options)
        .into_iter()
        .flat_map(|k| {
            let copies = if k == Role::Node || namespaces.is_empty() {
                1
            } else {
                namespaces.len()
            };
            std::iter::repeat_n(k, copies)
        })
        .collect();
    let mut w = Watch {
        role,
        attach_node: options.attach_metadata.node,
        stores: Stores::default(),
        owned: vec![HashSet::new(); n],
        relisting: vec![None; n],
        synced: vec![false; n],
        kinds,
        dirty: BTreeSet::new(),
    };
    let mut all: SelectAll<BoxStream<'static, (usize, Ev)>> = futures::stream::select_all(streams);
    loop {
        let next = tokio::select! {
            () = cancel.cancelled() => return,
            n = all.next() => n,
        };
        let Some((id, ev)) = next else { return };
        w.handle(id, ev);
        // Take whatever else is ready, so a burst of events becomes one update.
        while let Some(Some((id, ev))) = all.next().now_or_never() {
            w.handle(id, ev);
        }
        if w.dirty.is_empty() || !w.synced.iter().all(|s| *s) {
            continue;
        }
        let groups = w.take_groups();
        if groups.is_empty() {
            continue;
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            r = tx.send(groups) => if r.is_err() { return },
        }
    }
}
