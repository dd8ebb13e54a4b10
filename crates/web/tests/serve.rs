//! `web::serve` with a web configuration file: TLS with a certificate made in the test, basic
//! authentication with bcrypt hashes, configured headers, and named configuration errors.

use std::sync::Arc;

use firewatch_web::webconfig::WebConfig;
mod support;

use firewatch_web::WebState;
use promql::{Engine, EngineOptions};
use storage::memory::MemoryStorage;
use support::NoHooks;

/// Serves the API with `config`; returns the address and a sender that stops the server.
async fn start(config: Option<WebConfig>) -> (String, tokio::sync::oneshot::Sender<()>) {
    let state = WebState::new(
        Arc::new(MemoryStorage::new()),
        Arc::new(Engine::new(EngineOptions::default())),
        Arc::new(NoHooks),
    );
    support::serve(state, config).await
}

struct Pki {
    dir: tempfile::TempDir,
    cert_pem: String,
}

/// A self-signed certificate for 127.0.0.1 and localhost, written as server.crt/server.key.
fn pki() -> Pki {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_pem = certified.cert.pem();
    std::fs::write(dir.path().join("server.crt"), &cert_pem).unwrap();
    std::fs::write(
        dir.path().join("server.key"),
        certified.signing_key.serialize_pem(),
    )
    .unwrap();
    Pki { dir, cert_pem }
}

fn write_config(pki: &Pki, yaml: &str) -> WebConfig {
    let path = pki.dir.path().join("web.yml");
    std::fs::write(&path, yaml).unwrap();
    WebConfig::load(&path).unwrap()
}

fn client(pki: &Pki) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.cert_pem.as_bytes()).unwrap())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

#[tokio::test]
async fn tls_with_basic_auth_and_headers() {
    let pki = pki();
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let cfg = write_config(
        &pki,
        &format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS12\n\
             http_server_config:\n  headers:\n    X-Frame-Options: deny\n\
             basic_auth_users:\n  alice: {hash}\n"
        ),
    );
    let (addr, stop) = start(Some(cfg)).await;
    let c = client(&pki);
    let url = format!("https://{addr}/api/v1/query?query=1%2B1");
    let ok = c
        .get(&url)
        .basic_auth("alice", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-frame-options"], "deny");
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["data"]["result"][1], "2");

    let wrong = c
        .get(&url)
        .basic_auth("alice", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.headers()["www-authenticate"], "Basic");
    let unknown = c
        .get(&url)
        .basic_auth("mallory", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    let none = c.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);

    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/-/healthy"))
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await;
    assert!(
        plain.map(|r| !r.status().is_success()).unwrap_or(true),
        "plain HTTP is not served on a TLS port"
    );
    let untrusted = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
        .get(format!("https://{addr}/-/healthy"))
        .send()
        .await;
    assert!(
        untrusted.is_err(),
        "an unknown self-signed certificate is refused"
    );
    let _ = stop.send(());
}

#[tokio::test]
async fn renewed_certificate_is_served_without_restart() {
    let pki = pki();
    let cfg = write_config(
        &pki,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    );
    let (addr, stop) = start(Some(cfg)).await;
    let url = format!("https://{addr}/-/healthy");
    assert_eq!(client(&pki).get(&url).send().await.unwrap().status(), 200);
    let renewed = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let new_pki = Pki {
        dir: tempfile::tempdir().unwrap(),
        cert_pem: renewed.cert.pem(),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        std::fs::write(
            pki.dir.path().join("server.key"),
            renewed.signing_key.serialize_pem(),
        )
        .unwrap();
        std::fs::write(pki.dir.path().join("server.crt"), &new_pki.cert_pem).unwrap();
        if client(&new_pki).get(&url).send().await.is_ok() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "renewed certificate never served"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        client(&pki).get(&url).send().await.is_err(),
        "the old certificate is gone"
    );
    let _ = stop.send(());
}

#[tokio::test]
async fn users_follow_the_file() {
    let pki = pki();
    let yaml = |pw: &str| {
        format!(
            "basic_auth_users:\n  alice: {}\n",
            bcrypt::hash(pw, 4).unwrap()
        )
    };
    let cfg = write_config(&pki, &yaml("one"));
    let (addr, stop) = start(Some(cfg)).await;
    let c = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let url = format!("http://{addr}/-/healthy");
    let status = |pw: &'static str| {
        let req = c.get(&url).basic_auth("alice", Some(pw));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status("one").await, 200);
    assert_eq!(status("two").await, 401);
    // A new modification time may take a moment on coarse clocks: rewrite until seen. Each
    // rewrite replaces the file whole, so the server never reads a half-written one (an empty
    // file would mean no users, and no authentication at all).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let (staged, live) = (
        pki.dir.path().join("web.yml.new"),
        pki.dir.path().join("web.yml"),
    );
    loop {
        std::fs::write(&staged, yaml("two")).unwrap();
        std::fs::rename(&staged, &live).unwrap();
        if status("two").await == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "new password never accepted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status("one").await, 401, "the old password no longer works");
    let _ = stop.send(());
}

#[tokio::test]
async fn rate_limit_answers_429() {
    let pki = pki();
    let cfg = write_config(&pki, "rate_limit:\n  burst: 2\n  interval: 1h\n");
    let (addr, stop) = start(Some(cfg)).await;
    let c = reqwest::Client::new();
    let mut codes = Vec::new();
    for _ in 0..3 {
        let r = c
            .get(format!("http://{addr}/-/healthy"))
            .timeout(std::time::Duration::from_secs(30))
            .send()
            .await
            .unwrap();
        codes.push(r.status().as_u16());
    }
    assert_eq!(codes, [200, 200, 429], "a burst of 2, then one per hour");
    let _ = stop.send(());
}

#[tokio::test]
async fn plain_http_without_config() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (addr, stop) = start(None).await;
    let r = reqwest::Client::new()
        .get(format!("http://{addr}/-/healthy"))
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = stop.send(());
}

#[test]
fn configuration_errors_are_named() {
    let pki = pki();
    let err = |yaml: &str| {
        let path = pki.dir.path().join("bad.yml");
        std::fs::write(&path, yaml).unwrap();
        WebConfig::load(&path).unwrap_err().to_string()
    };
    assert!(
        err("tls_server_config:\n  cert_file: server.crt\n")
            .contains("missing one of key or key_file")
    );
    assert!(
        err("tls_server_config:\n  key_file: server.key\n")
            .contains("missing one of cert or cert_file")
    );
    let e = err("tls_server_config:\n  cert_file: nothere.crt\n  key_file: server.key\n");
    assert!(
        e.contains("failed to read cert_file") && e.contains("nothere.crt"),
        "{e}"
    );
    let e = err(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: server.crt\n",
    );
    assert!(
        e.contains("client CA's have been configured without a Client Auth Policy"),
        "{e}"
    );
    let e = err(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: Bogus\n",
    );
    assert!(e.contains("invalid ClientAuth: Bogus"), "{e}");
    let e = err("basic_auth_users:\n  john: doe\n");
    assert!(
        e.contains("hashedSecret too short to be a bcrypted password"),
        "{e}"
    );
    assert!(e.contains("bad.yml"), "the file is named: {e}");
    let e =
        err("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  bogus: 1\n");
    assert!(e.contains("yaml") && e.contains("bogus"), "{e}");
    let e = err(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n  max_version: TLS12\n",
    );
    assert!(
        e.contains("no supported versions satisfy MinVersion and MaxVersion"),
        "{e}"
    );
}

/// A self-signed client certificate (cert PEM, identity PEM with cert and key).
fn client_identity() -> (String, reqwest::Identity) {
    let certified = rcgen::generate_simple_self_signed(vec!["client".to_owned()]).unwrap();
    let cert = certified.cert.pem();
    let both = format!("{cert}{}", certified.signing_key.serialize_pem());
    (cert, reqwest::Identity::from_pem(both.as_bytes()).unwrap())
}

fn client_with(pki: &Pki, id: reqwest::Identity) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.cert_pem.as_bytes()).unwrap())
        .identity(id)
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

#[tokio::test]
async fn client_certificates_verified() {
    let pki = pki();
    let (client_cert, id) = client_identity();
    std::fs::write(pki.dir.path().join("client-ca.crt"), &client_cert).unwrap();
    let cfg = write_config(
        &pki,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: client-ca.crt\n",
    );
    let (addr, stop) = start(Some(cfg)).await;
    let url = format!("https://{addr}/-/healthy");
    let r = client(&pki).get(&url).send().await;
    assert!(r.is_err(), "no client certificate: refused");
    let (_, stranger) = client_identity();
    let r = client_with(&pki, stranger).get(&url).send().await;
    assert!(r.is_err(), "a certificate from another CA: refused");
    let r = client_with(&pki, id).get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200, "the CA's certificate: accepted");
    let _ = stop.send(());
}

#[tokio::test]
async fn any_client_certificate_required() {
    let pki = pki();
    let cfg = write_config(
        &pki,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
         client_auth_type: RequireAnyClientCert\n",
    );
    let (addr, stop) = start(Some(cfg)).await;
    let url = format!("https://{addr}/-/healthy");
    let r = client(&pki).get(&url).send().await;
    assert!(r.is_err(), "no client certificate: refused");
    let (_, id) = client_identity();
    let r = client_with(&pki, id).get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200, "any certificate: accepted");
    let _ = stop.send(());
}
