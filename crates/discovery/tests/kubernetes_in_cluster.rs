//! Kubernetes SD's in-cluster configuration (neither `api_server` nor `kubeconfig_file`) against
//! the fake API server over TLS on 127.0.0.1, with a temporary directory standing in for
//! `/var/run/secrets/kubernetes.io/serviceaccount` and injected `KUBERNETES_SERVICE_HOST` /
//! `KUBERNETES_SERVICE_PORT`: targets discovered in the pod's own namespace, a rotated token
//! used at once (the server checks `Authorization`), a wrong CA logged and retried until the
//! CA file is fixed, and client-go's and Prometheus's errors when the environment is not a
//! pod's.

mod common;
#[path = "common/fake_kube_tls.rs"]
mod fake_kube_tls;
mod support;

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::View;
use common::fake_kube::FakeKube;
use fake_kube_tls::{fake_tls, node, write};
use firewatch_discovery::Discoverer;
use firewatch_discovery::kubernetes::{
    InClusterEnv, KubernetesDiscovery, KubernetesSdConfig, Role,
};
use parking_lot::Mutex;
use serde_json::{Value, json};
use support::pki::pki;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn pod(ns: &str, name: &str, ip: &str) -> Value {
    json!({
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{ns}-{name}")},
        "spec": {"nodeName": "n1", "containers": [
            {"name": "app", "image": "app:1", "ports": [{"name": "http", "containerPort": 8080}]}]},
        "status": {"phase": "Running", "podIP": ip, "hostIP": "192.168.1.10"}
    })
}

/// The environment of a pod whose API server is `fake`, with its service account in `dir`.
fn env(fake: &FakeKube, dir: &Path) -> InClusterEnv {
    let addr = fake.url.trim_start_matches("https://");
    let (host, port) = addr.rsplit_once(':').unwrap();
    let (host, port) = (host.to_owned(), port.to_owned());
    InClusterEnv::new(dir, move |name| match name {
        "KUBERNETES_SERVICE_HOST" => Some(host.clone()),
        "KUBERNETES_SERVICE_PORT" => Some(port.clone()),
        _ => None,
    })
}

/// A service-account directory with `ca.crt`, `token` and `namespace`.
fn service_account(ca: &str, token: &str, namespace: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(&dir, "ca.crt", ca);
    write(&dir, "token", token);
    write(&dir, "namespace", namespace);
    dir
}

fn start(
    o: KubernetesSdConfig,
    env: &InClusterEnv,
) -> (View, CancellationToken, tokio::task::JoinHandle<()>) {
    let d = KubernetesDiscovery::with_environment(o, env).expect("in-cluster discovery");
    let (tx, rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(d.run(tx, cancel.clone()));
    (View::new(rx), cancel, task)
}

/// Every log line of this test binary. One global subscriber, since a thread's own default
/// subscriber misses events whose call sites other test threads registered first; each test
/// looks only at the lines naming its own server or directory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static Capture {
    static LOGS: OnceLock<Capture> = OnceLock::new();
    LOGS.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        capture
    })
}

impl Capture {
    /// The lines that contain `about`.
    fn lines(&self, about: &str) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock())
            .lines()
            .filter(|l| l.contains(about))
            .map(str::to_owned)
            .collect()
    }
}

#[tokio::test]
async fn own_namespace_and_a_rotated_token() {
    let p = pki(&["127.0.0.1"]);
    let expected = Arc::new(Mutex::new(Some("Bearer first".to_owned())));
    let fake = fake_tls(&p, false, Arc::clone(&expected)).await;
    fake.add(pod("team-a", "web-1", "10.1.0.1"));
    fake.add(pod("team-b", "db-1", "10.2.0.1"));
    fake.add(pod("team-c", "cache-1", "10.3.0.1"));
    // Kubernetes writes the token and the namespace without a trailing newline.
    let sa = service_account(&p.ca, "first", "team-a");
    let mut o = KubernetesSdConfig::new(Role::Pod);
    o.namespaces.own_namespace = true;
    o.namespaces.names = vec!["team-c".to_owned()];
    let (mut view, cancel, task) = start(o, &env(&fake, sa.path()));
    view.until("pods of team-a and team-c", |g| {
        g.contains_key("pod/team-a/web-1") && g.contains_key("pod/team-c/cache-1")
    })
    .await;
    assert!(
        !view.groups.contains_key("pod/team-b/db-1"),
        "{:?}",
        view.groups.keys()
    );
    let t = &view.group("pod/team-a/web-1").targets[0];
    assert_eq!(t["__address__"], "10.1.0.1:8080");
    let requests = fake.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.starts_with("/api/v1/namespaces/team-a/pods?")
                || r.starts_with("/api/v1/namespaces/team-c/pods?")),
        "{requests:?}"
    );

    // The kubelet rotates the token: the server accepts only the new one, the watches restart
    // and discovery goes on without a reload.
    *expected.lock() = Some("Bearer second".to_owned());
    write(&sa, "token", "second");
    fake.expire_watches();
    fake.add(pod("team-a", "web-2", "10.1.0.2"));
    view.until("the pod added after the rotation", |g| {
        g.contains_key("pod/team-a/web-2")
    })
    .await;
    let auth = fake.auth_headers();
    assert!(auth.iter().any(|h| h == "Bearer first"), "{auth:?}");
    assert_eq!(auth.last().map(String::as_str), Some("Bearer second"));
    assert!(!task.is_finished());
    cancel.cancel();
}

#[tokio::test]
async fn wrong_ca_is_logged_and_retried_until_fixed() {
    let logs = logs();
    let p = pki(&["127.0.0.1"]);
    let other = pki(&["127.0.0.1"]);
    let fake = fake_tls(&p, false, Arc::new(Mutex::new(Some("Bearer t".to_owned())))).await;
    fake.add(node("n1", "10.0.0.1"));
    let sa = service_account(&other.ca, "t", "default");
    let (mut view, cancel, task) =
        start(KubernetesSdConfig::new(Role::Node), &env(&fake, sa.path()));

    // Every attempt fails the TLS handshake, is logged, and is tried again.
    let ours = || logs.lines(&fake.url["https://".len()..]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let errors = loop {
        let errors: Vec<String> = ours()
            .into_iter()
            .filter(|l| l.contains("Kubernetes watch error"))
            .collect();
        if errors.len() >= 2 {
            break errors;
        }
        assert!(
            Instant::now() < deadline,
            "no retried watch errors: {:#?}",
            ours()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        ours()
            .iter()
            .any(|l| l.contains("Using pod service account via in-cluster config")),
        "{:#?}",
        ours()
    );
    assert!(
        errors[0].contains("x509: certificate signed by unknown authority"),
        "{errors:#?}"
    );
    assert!(!task.is_finished(), "discovery stopped on a TLS error");
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    assert!(
        view.rx.try_recv().is_err(),
        "nothing can be discovered with a wrong CA"
    );

    // The CA file is compared at each request: once the right CA is mounted, discovery works.
    write(&sa, "ca.crt", &p.ca);
    let fixed = tokio::time::timeout(Duration::from_secs(40), async {
        view.until("n1 after the CA is fixed", |g| g.contains_key("node/n1"))
            .await;
    });
    assert!(
        fixed.await.is_ok(),
        "not discovered after the CA was fixed: {:#?}",
        ours()
    );
    cancel.cancel();
}

fn new_error(o: KubernetesSdConfig, env: &InClusterEnv) -> String {
    KubernetesDiscovery::with_environment(o, env)
        .expect_err("in-cluster setup should fail")
        .to_string()
}

#[test]
fn outside_a_cluster_and_unreadable_service_account_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // client-go's rest.InClusterConfig, which Prometheus returns from New().
    let nowhere = InClusterEnv::new(dir.path(), |_| None);
    assert_eq!(
        new_error(KubernetesSdConfig::new(Role::Pod), &nowhere),
        "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and \
         KUBERNETES_SERVICE_PORT must be defined"
    );
    let no_port = InClusterEnv::new(dir.path(), |name| {
        (name == "KUBERNETES_SERVICE_HOST").then(|| "10.96.0.1".to_owned())
    });
    assert!(new_error(KubernetesSdConfig::new(Role::Pod), &no_port).starts_with("unable to load"));

    let pod_env = InClusterEnv::new(dir.path(), |name| match name {
        "KUBERNETES_SERVICE_HOST" => Some("10.96.0.1".to_owned()),
        "KUBERNETES_SERVICE_PORT" => Some("443".to_owned()),
        _ => None,
    });
    assert_eq!(
        new_error(KubernetesSdConfig::new(Role::Pod), &pod_env),
        format!("open {d}/token: no such file or directory")
    );
    write(&dir, "token", "t");
    // Without a usable ca.crt client-go logs and falls back to the system roots.
    assert!(
        KubernetesDiscovery::with_environment(KubernetesSdConfig::new(Role::Pod), &pod_env).is_ok()
    );
    write(&dir, "ca.crt", "not a certificate");
    let logs = logs();
    assert!(
        KubernetesDiscovery::with_environment(KubernetesSdConfig::new(Role::Pod), &pod_env).is_ok()
    );
    let ca_error = format!("Expected to load root CA config from {d}/ca.crt, but got err:");
    assert_eq!(
        logs.lines(&ca_error).len(),
        1,
        "{:#?}",
        logs.lines(&d.to_string())
    );

    // own_namespace reads the namespace file, with Prometheus's errors.
    let mut own = KubernetesSdConfig::new(Role::Pod);
    own.namespaces.own_namespace = true;
    assert_eq!(
        new_error(own.clone(), &pod_env),
        format!(
            "could not determine the pod's namespace: open {d}/namespace: no such file or directory"
        )
    );
    write(&dir, "namespace", "");
    assert_eq!(
        new_error(own.clone(), &pod_env),
        "could not read own namespace name (empty file)"
    );
    write(&dir, "namespace", "monitoring");
    assert!(KubernetesDiscovery::with_environment(own, &pod_env).is_ok());
}
