//! The fake Kubernetes API server over TLS, checking the `Authorization` header, for the tests
//! of Kubernetes SD's clients (`api_server`, kubeconfig, in-cluster). Included by those test
//! files with `#[path]`, next to their `mod common; mod support;`.

#![allow(dead_code)]

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::common::fake_kube::FakeKube;
use crate::support::pki::{Pki, serve_tls};

/// The fake over TLS with `p`'s server certificate (client certificates required when
/// `mtls`); when `expected` holds a value, requests whose `Authorization` differs get 401.
pub async fn fake_tls(p: &Pki, mtls: bool, expected: Arc<Mutex<Option<String>>>) -> FakeKube {
    FakeKube::start_with("https", |router| async move {
        let check = move |req: Request, next: Next| {
            let expected = expected.lock().clone();
            async move {
                let got = req
                    .headers()
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                match expected {
                    Some(e) if got.as_deref() != Some(e.as_str()) => {
                        StatusCode::UNAUTHORIZED.into_response()
                    }
                    _ => next.run(req).await,
                }
            }
        };
        let router = router.layer(axum::middleware::from_fn(move |r, n| {
            let f = check.clone();
            async move { Response::from(f(r, n).await) }
        }));
        serve_tls(router, p, mtls).await
    })
    .await
}

/// A node with an internal IP and the kubelet's port.
pub fn node(name: &str, ip: &str) -> Value {
    json!({
        "kind": "Node",
        "metadata": {"name": name, "uid": format!("uid-{name}")},
        "status": {"addresses": [{"type": "InternalIP", "address": ip}],
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}
    })
}

/// Writes `text` to `name` in `dir`; returns the path.
pub fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}
