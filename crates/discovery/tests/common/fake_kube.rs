//! An in-process fake Kubernetes API server: list and watch (JSON lines of ADDED / MODIFIED /
//! DELETED events with resource versions) for pods, services, endpoints, endpoint slices,
//! nodes and ingresses (and the other kinds of `plural_of`), optionally of one object
//! (`fieldSelector=metadata.name=...`), on 127.0.0.1.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::watch;

/// One stored change.
#[derive(Clone)]
struct Change {
    rv: u64,
    plural: String,
    namespace: String,
    kind: &'static str,
    object: Value,
}

#[derive(Default)]
struct Inner {
    rv: u64,
    /// (plural, namespace, name) -> object.
    objects: BTreeMap<(String, String, String), Value>,
    log: Vec<Change>,
    /// Query strings of every request, for assertions on selectors.
    requests: Vec<String>,
    /// `Authorization` headers received.
    auth: Vec<String>,
    /// Bumped by `expire`: watches started before end with a 410 Gone error event.
    generation: u64,
}

/// The fake API server's state.
#[derive(Clone)]
pub struct FakeKube {
    inner: Arc<Mutex<Inner>>,
    bump: Arc<watch::Sender<u64>>,
    pub url: String,
    server: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if Arc::strong_count(&self.server) == 1 {
            self.server.abort();
        }
    }
}

fn plural_of(kind: &str) -> (&'static str, &'static str, &'static str) {
    // (plural, apiVersion, list kind)
    match kind {
        "Pod" => ("pods", "v1", "PodList"),
        "Service" => ("services", "v1", "ServiceList"),
        "Endpoints" => ("endpoints", "v1", "EndpointsList"),
        "Node" => ("nodes", "v1", "NodeList"),
        "EndpointSlice" => ("endpointslices", "discovery.k8s.io/v1", "EndpointSliceList"),
        "Ingress" => ("ingresses", "networking.k8s.io/v1", "IngressList"),
        // For the kube-state exporter's tests.
        "Namespace" => ("namespaces", "v1", "NamespaceList"),
        "Deployment" => ("deployments", "apps/v1", "DeploymentList"),
        "ReplicaSet" => ("replicasets", "apps/v1", "ReplicaSetList"),
        "DaemonSet" => ("daemonsets", "apps/v1", "DaemonSetList"),
        "StatefulSet" => ("statefulsets", "apps/v1", "StatefulSetList"),
        "Job" => ("jobs", "batch/v1", "JobList"),
        "CronJob" => ("cronjobs", "batch/v1", "CronJobList"),
        "PersistentVolumeClaim" => ("persistentvolumeclaims", "v1", "PersistentVolumeClaimList"),
        "PersistentVolume" => ("persistentvolumes", "v1", "PersistentVolumeList"),
        "HorizontalPodAutoscaler" => (
            "horizontalpodautoscalers",
            "autoscaling/v2",
            "HorizontalPodAutoscalerList",
        ),
        "ConfigMap" => ("configmaps", "v1", "ConfigMapList"),
        "Secret" => ("secrets", "v1", "SecretList"),
        // For the operator crate's tests (monitoring.coreos.com).
        "ServiceMonitor" => (
            "servicemonitors",
            "monitoring.coreos.com/v1",
            "ServiceMonitorList",
        ),
        "PodMonitor" => ("podmonitors", "monitoring.coreos.com/v1", "PodMonitorList"),
        "PrometheusRule" => (
            "prometheusrules",
            "monitoring.coreos.com/v1",
            "PrometheusRuleList",
        ),
        "Probe" => ("probes", "monitoring.coreos.com/v1", "ProbeList"),
        "ScrapeConfig" => (
            "scrapeconfigs",
            "monitoring.coreos.com/v1alpha1",
            "ScrapeConfigList",
        ),
        "AlertmanagerConfig" => (
            "alertmanagerconfigs",
            "monitoring.coreos.com/v1alpha1",
            "AlertmanagerConfigList",
        ),
        other => panic!("unsupported kind {other}"),
    }
}

fn list_meta(plural: &str) -> (&'static str, &'static str) {
    for k in [
        "Pod",
        "Service",
        "Endpoints",
        "Node",
        "EndpointSlice",
        "Ingress",
        "Namespace",
        "Deployment",
        "ReplicaSet",
        "DaemonSet",
        "StatefulSet",
        "Job",
        "CronJob",
        "PersistentVolumeClaim",
        "PersistentVolume",
        "HorizontalPodAutoscaler",
        "ConfigMap",
        "Secret",
        "ServiceMonitor",
        "PodMonitor",
        "PrometheusRule",
        "Probe",
        "ScrapeConfig",
        "AlertmanagerConfig",
    ] {
        let (p, v, l) = plural_of(k);
        if p == plural {
            return (v, l);
        }
    }
    panic!("unsupported resource {plural}")
}

impl FakeKube {
    /// Starts the server with `serve`, which serves the fake's router and returns its address
    /// (e.g. over TLS); the URL is `scheme://address`.
    pub async fn start_with<F, Fut>(scheme: &str, serve: F) -> Self
    where
        F: FnOnce(Router) -> Fut,
        Fut: Future<Output = std::net::SocketAddr>,
    {
        let (tx, _rx) = watch::channel(0);
        let inner = Arc::new(Mutex::new(Inner::default()));
        let bump = Arc::new(tx);
        let state = (Arc::clone(&inner), Arc::clone(&bump));
        let app = Router::new().fallback(handle).with_state(state);
        let addr = serve(app).await;
        Self {
            inner,
            bump,
            url: format!("{scheme}://{addr}"),
            server: Arc::new(tokio::spawn(async {})),
        }
    }

    /// Starts the server on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let (tx, _rx) = watch::channel(0);
        let inner = Arc::new(Mutex::new(Inner::default()));
        let bump = Arc::new(tx);
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let state = (Arc::clone(&inner), Arc::clone(&bump));
        let app = Router::new().fallback(handle).with_state(state);
        let server = tokio::spawn(async move {
            axum::serve(l, app).await.unwrap();
        });
        Self {
            inner,
            bump,
            url,
            server: Arc::new(server),
        }
    }

    fn record(&self, kind: &'static str, mut object: Value) {
        let (plural, api_version, _) = plural_of(object["kind"].as_str().expect("object kind"));
        object["apiVersion"] = json!(api_version);
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let name = object["metadata"]["name"]
            .as_str()
            .expect("object name")
            .to_owned();
        let mut st = self.inner.lock();
        st.rv += 1;
        let rv = st.rv;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let key = (plural.to_owned(), ns.clone(), name);
        if kind == "DELETED" {
            st.objects.remove(&key);
        } else {
            st.objects.insert(key, object.clone());
        }
        st.log.push(Change {
            rv,
            plural: plural.to_owned(),
            namespace: ns,
            kind,
            object,
        });
        drop(st);
        self.bump.send_replace(rv);
    }

    /// Creates an object (its `kind` field says which resource).
    pub fn add(&self, object: Value) {
        self.record("ADDED", object);
    }

    /// Replaces an object.
    pub fn modify(&self, object: Value) {
        self.record("MODIFIED", object);
    }

    /// Deletes an object.
    pub fn delete(&self, object: Value) {
        self.record("DELETED", object);
    }

    /// Query strings of the requests received so far.
    pub fn requests(&self) -> Vec<String> {
        self.inner.lock().requests.clone()
    }

    /// `Authorization` headers received so far.
    pub fn auth_headers(&self) -> Vec<String> {
        self.inner.lock().auth.clone()
    }

    /// Deletes an object without a watch event, as if the event was lost.
    pub fn delete_silently(&self, object: &Value) {
        let (plural, _, _) = plural_of(object["kind"].as_str().expect("object kind"));
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let name = object["metadata"]["name"]
            .as_str()
            .expect("object name")
            .to_owned();
        let mut st = self.inner.lock();
        st.objects.remove(&(plural.to_owned(), ns, name));
        st.rv += 1;
    }

    /// Ends every open watch with `410 Gone` (resource version too old): clients relist.
    pub fn expire_watches(&self) {
        let rv = {
            let mut st = self.inner.lock();
            st.generation += 1;
            st.rv
        };
        self.bump.send_replace(rv + 1_000_000);
    }
}

type AppState = (Arc<Mutex<Inner>>, Arc<watch::Sender<u64>>);

/// `(namespace, plural)` from `/api/v1/[namespaces/NS/]PLURAL` or
/// `/apis/GROUP/VERSION/[namespaces/NS/]PLURAL`.
fn parse_path(path: &str) -> Option<(Option<String>, String)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match parts.as_slice() {
        ["api", "v1", rest @ ..] => rest,
        ["apis", _, _, rest @ ..] => rest,
        _ => return None,
    };
    match rest {
        [plural] => Some((None, (*plural).to_owned())),
        ["namespaces", ns, plural] => Some((Some((*ns).to_owned()), (*plural).to_owned())),
        _ => None,
    }
}

/// `(plural, namespace, name)` from `/api/v1/namespaces/NS/PLURAL/NAME` (one object's GET).
fn parse_object_path(path: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match parts.as_slice() {
        ["api", "v1", rest @ ..] => rest,
        ["apis", _, _, rest @ ..] => rest,
        _ => return None,
    };
    match rest {
        ["namespaces", ns, plural, name] => {
            Some(((*plural).to_owned(), (*ns).to_owned(), (*name).to_owned()))
        }
        _ => None,
    }
}

async fn handle(
    State((inner, bump)): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    // The generation is read with the request recorded, so a test that saw the request knows
    // that a later `expire_watches` reaches this watch.
    let generation = {
        let mut st = inner.lock();
        st.requests
            .push(format!("{}?{}", uri.path(), uri.query().unwrap_or("")));
        if let Some(a) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            st.auth.push(a.to_owned());
        }
        st.generation
    };
    if let Some(key) = parse_object_path(uri.path()) {
        let found = inner.lock().objects.get(&key).cloned();
        return match found {
            Some(o) => {
                ([(header::CONTENT_TYPE, "application/json")], o.to_string()).into_response()
            }
            None => {
                let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                    "status": "Failure", "reason": "NotFound", "code": 404,
                    "message": format!("{} \"{}\" not found", key.0, key.2)});
                (
                    StatusCode::NOT_FOUND,
                    [(header::CONTENT_TYPE, "application/json")],
                    status.to_string(),
                )
                    .into_response()
            }
        };
    }
    let Some((ns, plural)) = parse_path(uri.path()) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let (api_version, list_kind) = list_meta(&plural);
    let watching = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
    // `fieldSelector=metadata.name=NAME` (one object's list and watch); other field
    // selectors are ignored.
    let only_name: Option<String> = q
        .get("fieldSelector")
        .and_then(|f| f.strip_prefix("metadata.name="))
        .map(str::to_owned);
    let name_ok = move |o: &Value| {
        only_name
            .as_ref()
            .is_none_or(|n| o["metadata"]["name"].as_str() == Some(n.as_str()))
    };
    if !watching {
        let st = inner.lock();
        let items: Vec<Value> = st
            .objects
            .iter()
            .filter(|((p, n, _), v)| {
                *p == plural && ns.as_ref().is_none_or(|ns| ns == n) && name_ok(v)
            })
            .map(|(_, v)| v.clone())
            .collect();
        let body = json!({
            "apiVersion": api_version,
            "kind": list_kind,
            "metadata": {"resourceVersion": st.rv.to_string()},
            "items": items,
        });
        return (
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
    }
    let from: u64 = q
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let rx = bump.subscribe();
    let stream = futures::stream::unfold((inner, rx, from), move |(inner, mut rx, mut last)| {
        let plural = plural.clone();
        let ns = ns.clone();
        let name_ok = name_ok.clone();
        async move {
            if last == u64::MAX {
                return None;
            }
            loop {
                if inner.lock().generation != generation {
                    let gone = json!({"type": "ERROR", "object": {
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": "too old resource version", "reason": "Expired", "code": 410}});
                    let line = Bytes::from(format!("{gone}\n"));
                    return Some((Ok::<_, Infallible>(line), (inner, rx, u64::MAX)));
                }
                let next = {
                    let st = inner.lock();
                    st.log
                        .iter()
                        .find(|c| {
                            c.rv > last
                                && c.plural == plural
                                && ns.as_ref().is_none_or(|n| *n == c.namespace)
                                && name_ok(&c.object)
                        })
                        .cloned()
                };
                if let Some(c) = next {
                    last = c.rv;
                    let line = format!("{}\n", json!({"type": c.kind, "object": c.object}));
                    return Some((Ok::<_, Infallible>(Bytes::from(line)), (inner, rx, last)));
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}
