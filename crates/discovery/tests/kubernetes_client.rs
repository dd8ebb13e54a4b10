//! Kubernetes SD's client against the fake API server served over TLS on 127.0.0.1: the whole
//! `http_client_config` (CA file, required client certificate, a bearer token file rotated while
//! running and checked by the server), a kubeconfig with CA data and a token, and a wrong CA
//! that keeps discovery retrying until the CA file is fixed.

mod common;
#[path = "common/fake_kube_tls.rs"]
mod fake_kube_tls;
mod support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::View;
use config::{HttpClientConfig, TlsConfig};
use fake_kube_tls::{fake_tls, node, write};
use firewatch_discovery::Discoverer;
use firewatch_discovery::kubernetes::{KubernetesDiscovery, KubernetesSdConfig, Role};
use parking_lot::Mutex;
use support::pki::pki;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn start(o: KubernetesSdConfig) -> (View, CancellationToken, tokio::task::JoinHandle<()>) {
    let d = KubernetesDiscovery::new(o).expect("valid options");
    let (tx, rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(d.run(tx, cancel.clone()));
    (View::new(rx), cancel, task)
}

#[tokio::test]
async fn client_certificate_and_rotated_token_file() {
    let p = pki(&["127.0.0.1"]);
    let expected = Arc::new(Mutex::new(Some("Bearer first".to_owned())));
    let fake = fake_tls(&p, true, Arc::clone(&expected)).await;
    fake.add(node("n1", "10.0.0.1"));
    let dir = tempfile::tempdir().unwrap();
    let token = write(&dir, "token", "first\n");
    let mut o = KubernetesSdConfig::new(Role::Node);
    o.api_server = Some(config::Url::parse(&fake.url).unwrap());
    o.set_http_client(HttpClientConfig {
        bearer_token_file: token.clone(),
        tls_config: TlsConfig {
            ca_file: write(&dir, "ca.pem", &p.ca),
            cert_file: write(&dir, "client.pem", &p.client_cert),
            key_file: write(&dir, "client.key", &p.client_key),
            ..TlsConfig::default()
        },
        ..HttpClientConfig::default()
    });
    let (mut view, cancel, _task) = start(o);
    view.until("n1", |g| g.contains_key("node/n1")).await;

    // The token rotates: the server only accepts the new one, the watches restart.
    std::fs::write(&token, "second\n").unwrap();
    *expected.lock() = Some("Bearer second".to_owned());
    fake.expire_watches();
    fake.add(node("n2", "10.0.0.2"));
    view.until("n2", |g| g.contains_key("node/n2")).await;
    let auth = fake.auth_headers();
    assert!(auth.iter().any(|h| h == "Bearer first"), "{auth:?}");
    assert!(auth.iter().any(|h| h == "Bearer second"), "{auth:?}");
    assert_eq!(auth.last().map(String::as_str), Some("Bearer second"));
    cancel.cancel();
}

#[tokio::test]
async fn kubeconfig_with_ca_data_and_token() {
    let p = pki(&["127.0.0.1"]);
    let expected = Arc::new(Mutex::new(Some("Bearer from-kubeconfig".to_owned())));
    let fake = fake_tls(&p, false, expected).await;
    fake.add(node("n1", "10.0.0.1"));
    let dir = tempfile::tempdir().unwrap();
    let kc = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n    \
         certificate-authority-data: {}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    \
         user: tester\ncurrent-context: fake\nusers:\n- name: tester\n  user:\n    token: from-kubeconfig\n",
        fake.url,
        STANDARD.encode(&p.ca)
    );
    let mut o = KubernetesSdConfig::new(Role::Node);
    o.kubeconfig_file = write(&dir, "kubeconfig", &kc);
    let (mut view, cancel, _task) = start(o);
    view.until("n1", |g| g.contains_key("node/n1")).await;
    assert_eq!(view.group("node/n1").targets.len(), 1);
    cancel.cancel();
}

#[tokio::test]
async fn wrong_ca_keeps_retrying_until_the_ca_file_is_fixed() {
    let p = pki(&["127.0.0.1"]);
    let other = pki(&["127.0.0.1"]);
    let fake = fake_tls(&p, false, Arc::new(Mutex::new(None))).await;
    fake.add(node("n1", "10.0.0.1"));
    let dir = tempfile::tempdir().unwrap();
    let ca = write(&dir, "ca.pem", &other.ca);
    let mut o = KubernetesSdConfig::new(Role::Node);
    o.api_server = Some(config::Url::parse(&fake.url).unwrap());
    o.set_http_client(HttpClientConfig {
        tls_config: TlsConfig {
            ca_file: ca.clone(),
            ..TlsConfig::default()
        },
        ..HttpClientConfig::default()
    });
    let (mut view, cancel, task) = start(o);
    // With the wrong CA nothing reaches the server and nothing is discovered, but the
    // discoverer stays up.
    let early = tokio::time::timeout(Duration::from_secs(2), view.rx.recv()).await;
    assert!(
        early.is_err(),
        "no update expected with a wrong CA: {early:?}"
    );
    assert!(!task.is_finished(), "discovery stopped on a TLS error");
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    // The CA file is re-read at each request: once fixed, discovery succeeds.
    std::fs::write(&ca, &p.ca).unwrap();
    view.until("n1 after the CA is fixed", |g| g.contains_key("node/n1"))
        .await;
    cancel.cancel();
}
