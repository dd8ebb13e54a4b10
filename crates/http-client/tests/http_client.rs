//! The shared HTTP client against servers on 127.0.0.1: client certificates required by a TLS
//! server, a wrong CA with Go's error text, `server_name`, `insecure_skip_verify`, a CA file
//! replaced while running, basic auth and credentials from files, custom headers, OAuth 2.0
//! client credentials with a token endpoint (cached token, refreshed after expiry), redirects,
//! HTTP/2 and a proxy.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{any, get, post};
use config::{Authorization, BasicAuth, Header, HttpClientConfig, OAuth2, Secret, TlsConfig};
use firewatch_http_client::HttpClient;
use parking_lot::Mutex;
use support::pki::{Pki, pki, serve, serve_tls};

fn hello() -> axum::Router {
    axum::Router::new().route("/", get(|| async { "hello" }))
}

fn tls_with_ca(p: &Pki) -> TlsConfig {
    TlsConfig {
        ca: p.ca.clone(),
        ..TlsConfig::default()
    }
}

async fn get_text(c: &HttpClient, url: &str) -> Result<String, String> {
    let resp = c
        .get(url)
        .await
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| firewatch_http_client::go_error_text("GET", &e))?;
    if !resp.status().is_success() {
        return Err(format!("status {}", resp.status()));
    }
    resp.text().await.map_err(|e| e.to_string())
}

#[tokio::test]
async fn client_certificate_required_by_server() {
    let p = pki(&["127.0.0.1"]);
    let addr = serve_tls(hello(), &p, true).await;
    let url = format!("https://{addr}/");
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("client.crt");
    let key = dir.path().join("client.key");
    std::fs::write(&cert, &p.client_cert).unwrap();
    std::fs::write(&key, &p.client_key).unwrap();

    let with_cert = HttpClientConfig {
        tls_config: TlsConfig {
            ca: p.ca.clone(),
            cert_file: cert.display().to_string(),
            key_file: key.display().to_string(),
            ..TlsConfig::default()
        },
        ..HttpClientConfig::default()
    };
    let c = HttpClient::new(&with_cert).unwrap();
    assert_eq!(get_text(&c, &url).await.unwrap(), "hello");

    // Inline certificate and key work the same.
    let inline = HttpClientConfig {
        tls_config: TlsConfig {
            ca: p.ca.clone(),
            cert: p.client_cert.clone(),
            key: Secret::new(p.client_key.clone()),
            ..TlsConfig::default()
        },
        ..HttpClientConfig::default()
    };
    let c = HttpClient::new(&inline).unwrap();
    assert_eq!(get_text(&c, &url).await.unwrap(), "hello");

    // Without a client certificate the server refuses the connection.
    let without = HttpClientConfig {
        tls_config: tls_with_ca(&p),
        ..HttpClientConfig::default()
    };
    let c = HttpClient::new(&without).unwrap();
    let err = get_text(&c, &url).await.unwrap_err();
    assert!(err.starts_with(&format!("Get \"{url}\": ")), "{err}");
    assert!(!err.contains("hello"));

    // A client certificate from another CA is refused too.
    let other = pki(&["127.0.0.1"]);
    let foreign = HttpClientConfig {
        tls_config: TlsConfig {
            ca: p.ca.clone(),
            cert: other.client_cert.clone(),
            key: Secret::new(other.client_key.clone()),
            ..TlsConfig::default()
        },
        ..HttpClientConfig::default()
    };
    let c = HttpClient::new(&foreign).unwrap();
    assert!(get_text(&c, &url).await.is_err());
}

#[tokio::test]
async fn wrong_ca_fails_with_go_text_and_skip_verify_passes() {
    let p = pki(&["127.0.0.1"]);
    let addr = serve_tls(hello(), &p, false).await;
    let url = format!("https://{addr}/");
    let other = pki(&["127.0.0.1"]);
    let c = HttpClient::new(&HttpClientConfig {
        tls_config: tls_with_ca(&other),
        ..HttpClientConfig::default()
    })
    .unwrap();
    assert_eq!(
        get_text(&c, &url).await.unwrap_err(),
        format!(
            "Get \"{url}\": tls: failed to verify certificate: x509: certificate signed by unknown authority"
        )
    );
    // No CA at all: the system roots do not know the test CA either.
    let c = HttpClient::new(&HttpClientConfig::default()).unwrap();
    assert!(
        get_text(&c, &url)
            .await
            .unwrap_err()
            .ends_with("certificate signed by unknown authority")
    );
    let c = HttpClient::new(&HttpClientConfig {
        tls_config: TlsConfig {
            insecure_skip_verify: true,
            ..TlsConfig::default()
        },
        ..HttpClientConfig::default()
    })
    .unwrap();
    assert_eq!(get_text(&c, &url).await.unwrap(), "hello");
    // Plain HTTP to the TLS port and HTTPS to a plain port.
    let plain = serve(hello()).await;
    let err = get_text(&c, &format!("https://{plain}/"))
        .await
        .unwrap_err();
    assert!(
        err.ends_with("http: server gave HTTP response to HTTPS client"),
        "{err}"
    );
}

#[tokio::test]
async fn server_name_is_verified_instead_of_the_host() {
    let p = pki(&["metrics.example"]);
    let addr = serve_tls(hello(), &p, false).await;
    let url = format!("https://{addr}/");
    let c = HttpClient::new(&HttpClientConfig {
        tls_config: tls_with_ca(&p),
        ..HttpClientConfig::default()
    })
    .unwrap();
    let err = get_text(&c, &url).await.unwrap_err();
    assert!(
        err.contains("x509: certificate is not valid for 127.0.0.1"),
        "{err}"
    );
    let c = HttpClient::new(&HttpClientConfig {
        tls_config: TlsConfig {
            server_name: "metrics.example".into(),
            ..tls_with_ca(&p)
        },
        ..HttpClientConfig::default()
    })
    .unwrap();
    assert_eq!(get_text(&c, &url).await.unwrap(), "hello");
}

#[tokio::test]
async fn replaced_ca_file_is_used_without_rebuilding() {
    let p = pki(&["127.0.0.1"]);
    let other = pki(&["127.0.0.1"]);
    let addr = serve_tls(hello(), &p, false).await;
    let url = format!("https://{addr}/");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, &other.ca).unwrap();
    let c = HttpClient::new(&HttpClientConfig {
        tls_config: TlsConfig {
            ca_file: ca.display().to_string(),
            ..TlsConfig::default()
        },
        ..HttpClientConfig::default()
    })
    .unwrap();
    assert!(get_text(&c, &url).await.is_err());
    std::fs::write(&ca, &p.ca).unwrap();
    assert_eq!(get_text(&c, &url).await.unwrap(), "hello");
    std::fs::remove_file(&ca).unwrap();
    let err = get_text(&c, &url).await.unwrap_err();
    assert!(err.contains("unable to read CA cert"), "{err}");
}

#[tokio::test]
async fn http2_follows_enable_http2() {
    let p = pki(&["127.0.0.1"]);
    let addr = serve_tls(hello(), &p, false).await;
    let url = format!("https://{addr}/");
    for (enable, version) in [
        (true, reqwest::Version::HTTP_2),
        (false, reqwest::Version::HTTP_11),
    ] {
        let c = HttpClient::new(&HttpClientConfig {
            tls_config: tls_with_ca(&p),
            enable_http2: enable,
            ..HttpClientConfig::default()
        })
        .unwrap();
        let resp = c.get(&url).await.unwrap().send().await.unwrap();
        assert_eq!(resp.version(), version, "enable_http2: {enable}");
    }
}

/// Headers of each request seen by a server.
type Seen = Arc<Mutex<Vec<HeaderMap>>>;

fn recording() -> (axum::Router, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let router = axum::Router::new().route(
        "/",
        get(move |h: HeaderMap| async move {
            s.lock().push(h);
            "ok"
        }),
    );
    (router, seen)
}

fn header(h: &HeaderMap, name: &str) -> Vec<String> {
    h.get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn basic_auth_from_file_is_read_at_each_request() {
    let (router, seen) = recording();
    let addr = serve(router).await;
    let url = format!("http://{addr}/");
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("password");
    std::fs::write(&pw, "first\n").unwrap();
    let c = HttpClient::new(&HttpClientConfig {
        basic_auth: Some(BasicAuth {
            username: "prom".into(),
            password_file: pw.display().to_string(),
            ..BasicAuth::default()
        }),
        ..HttpClientConfig::default()
    })
    .unwrap();
    get_text(&c, &url).await.unwrap();
    std::fs::write(&pw, "second").unwrap();
    get_text(&c, &url).await.unwrap();
    let seen: Vec<HeaderMap> = seen.lock().clone();
    // base64("prom:first"), base64("prom:second")
    assert_eq!(
        header(&seen[0], "authorization"),
        ["Basic cHJvbTpmaXJzdA=="]
    );
    assert_eq!(
        header(&seen[1], "authorization"),
        ["Basic cHJvbTpzZWNvbmQ="]
    );
    std::fs::remove_file(&pw).unwrap();
    let err = get_text(&c, &url).await.unwrap_err();
    assert!(
        err.starts_with(&format!(
            "Get \"{url}\": unable to read basic auth password file {}",
            pw.display()
        )),
        "{err}"
    );
}

/// Every secret held in a file (`*_file`): when the file cannot be read the request is not
/// sent (no empty credential goes out) and the error names the file, at build time for TLS
/// material and at request time for credentials and headers.
#[tokio::test]
async fn unreadable_secret_files_are_errors_naming_the_file() {
    let (router, seen) = recording();
    let addr = serve(router).await;
    let url = format!("http://{addr}/");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing").display().to_string();
    let m = || missing.clone();
    let basic = |b: BasicAuth| HttpClientConfig {
        basic_auth: Some(b),
        ..HttpClientConfig::default()
    };
    let tls = |t: TlsConfig| HttpClientConfig {
        tls_config: t,
        ..HttpClientConfig::default()
    };
    let cases: Vec<(&str, HttpClientConfig, &str)> = vec![
        (
            "basic_auth.username_file",
            basic(BasicAuth {
                username_file: m(),
                password: Secret::new("pw"),
                ..BasicAuth::default()
            }),
            "unable to read basic auth username file",
        ),
        (
            "basic_auth.password_file",
            basic(BasicAuth {
                username: "u".into(),
                password_file: m(),
                ..BasicAuth::default()
            }),
            "unable to read basic auth password file",
        ),
        (
            "authorization.credentials_file",
            HttpClientConfig {
                authorization: Some(Authorization {
                    credentials_file: m(),
                    ..Authorization::default()
                }),
                ..HttpClientConfig::default()
            },
            "unable to read authorization credentials file",
        ),
        (
            "bearer_token_file",
            HttpClientConfig {
                bearer_token_file: m(),
                ..HttpClientConfig::default()
            },
            "unable to read authorization credentials file",
        ),
        (
            "http_headers.files",
            HttpClientConfig {
                http_headers: Some(BTreeMap::from([(
                    "X-Token".to_owned(),
                    Header {
                        files: vec![m()],
                        ..Header::default()
                    },
                )])),
                ..HttpClientConfig::default()
            },
            "unable to read header file",
        ),
        (
            "oauth2.client_secret_file",
            HttpClientConfig {
                oauth2: Some(OAuth2 {
                    client_id: "id".into(),
                    client_secret_file: m(),
                    token_url: format!("http://{addr}/token"),
                    ..OAuth2::default()
                }),
                ..HttpClientConfig::default()
            },
            "unable to read oauth2 client secret file",
        ),
        (
            "tls_config.ca_file",
            tls(TlsConfig {
                ca_file: m(),
                ..TlsConfig::default()
            }),
            "unable to read CA cert",
        ),
        (
            "tls_config.cert_file",
            tls(TlsConfig {
                cert_file: m(),
                key: Secret::new("k"),
                ..TlsConfig::default()
            }),
            "unable to read client certificate",
        ),
        (
            "tls_config.key_file",
            tls(TlsConfig {
                cert: "c".into(),
                key_file: m(),
                ..TlsConfig::default()
            }),
            "unable to read client key",
        ),
    ];
    for (field, cfg, want) in cases {
        let err = match HttpClient::new(&cfg) {
            Err(e) => e.to_string(),
            Ok(c) => get_text(&c, &url).await.unwrap_err(),
        };
        assert!(err.contains(&format!("{want} {missing}")), "{field}: {err}");
    }
    assert!(
        seen.lock().is_empty(),
        "no request may go out without its secret"
    );
}

#[tokio::test]
async fn authorization_file_and_custom_headers() {
    let (router, seen) = recording();
    let addr = serve(router).await;
    let url = format!("http://{addr}/");
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("token");
    std::fs::write(&creds, "abc\n").unwrap();
    let hfile = dir.path().join("tenant");
    std::fs::write(&hfile, "team-a").unwrap();
    let c = HttpClient::new(&HttpClientConfig {
        authorization: Some(Authorization {
            kind: "Token".into(),
            credentials_file: creds.display().to_string(),
            ..Authorization::default()
        }),
        http_headers: Some(BTreeMap::from([
            (
                "X-Scope".to_owned(),
                Header {
                    values: vec!["one".into(), "two".into()],
                    secrets: vec![Secret::new("three")],
                    files: vec![hfile.display().to_string()],
                },
            ),
            (
                "X-Plain".to_owned(),
                Header {
                    values: vec!["v".into()],
                    ..Header::default()
                },
            ),
        ])),
        ..HttpClientConfig::default()
    })
    .unwrap();
    get_text(&c, &url).await.unwrap();
    std::fs::write(&creds, "def").unwrap();
    get_text(&c, &url).await.unwrap();
    let seen = seen.lock();
    assert_eq!(header(&seen[0], "authorization"), ["Token abc"]);
    assert_eq!(header(&seen[1], "authorization"), ["Token def"]);
    assert_eq!(
        header(&seen[0], "x-scope"),
        ["one", "two", "three", "team-a"]
    );
    assert_eq!(header(&seen[0], "x-plain"), ["v"]);
}

/// A token endpoint issuing `tok-<n>` valid for `lifetime` seconds, checking the client's
/// credentials in the basic auth header and the form fields.
#[derive(Clone, Default)]
struct TokenServer {
    issued: Arc<Mutex<Vec<BTreeMap<String, String>>>>,
    lifetime: u64,
}

async fn issue(
    State(s): State<TokenServer>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> axum::response::Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // base64("client-1:s3cret") / base64("client-1:rotated")
    let secret = match auth.as_str() {
        "Basic Y2xpZW50LTE6czNjcmV0" => "s3cret",
        "Basic Y2xpZW50LTE6cm90YXRlZA==" => "rotated",
        _ => {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({"error": "invalid_client"})),
            )
                .into_response();
        }
    };
    let mut issued = s.issued.lock();
    let mut entry = form.clone();
    entry.insert("secret".into(), secret.into());
    issued.push(entry);
    axum::Json(serde_json::json!({
        "access_token": format!("tok-{}", issued.len()),
        "token_type": "bearer",
        "expires_in": s.lifetime,
    }))
    .into_response()
}

#[tokio::test]
async fn oauth2_token_is_fetched_cached_and_refreshed() {
    let tokens = TokenServer {
        lifetime: 11, // golang.org/x/oauth2 renews 10 s early: usable for about 1 s.
        ..TokenServer::default()
    };
    let token_addr = serve(
        axum::Router::new()
            .route("/token", post(issue))
            .with_state(tokens.clone()),
    )
    .await;
    let (router, seen) = recording();
    let addr = serve(router).await;
    let url = format!("http://{addr}/");
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let c = HttpClient::new(&HttpClientConfig {
        oauth2: Some(OAuth2 {
            client_id: "client-1".into(),
            client_secret_file: secret.display().to_string(),
            token_url: format!("http://{token_addr}/token"),
            scopes: vec!["metrics:read".into(), "openid".into()],
            endpoint_params: BTreeMap::from([("audience".to_owned(), "fw".to_owned())]),
            ..OAuth2::default()
        }),
        ..HttpClientConfig::default()
    })
    .unwrap();
    get_text(&c, &url).await.unwrap();
    get_text(&c, &url).await.unwrap();
    {
        let issued = tokens.issued.lock();
        assert_eq!(issued.len(), 1, "the token is cached: {issued:?}");
        assert_eq!(issued[0]["grant_type"], "client_credentials");
        assert_eq!(issued[0]["scope"], "metrics:read openid");
        assert_eq!(issued[0]["audience"], "fw");
        let seen = seen.lock();
        assert_eq!(header(&seen[0], "authorization"), ["Bearer tok-1"]);
        assert_eq!(header(&seen[1], "authorization"), ["Bearer tok-1"]);
    }
    // After expiry (less the 10 s margin) a new token is fetched.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        get_text(&c, &url).await.unwrap();
        let last = header(seen.lock().last().unwrap(), "authorization");
        if last == ["Bearer tok-2"] {
            break;
        }
        assert_eq!(last, ["Bearer tok-1"]);
        assert!(Instant::now() < deadline, "token never refreshed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A rotated secret file discards the token and is used for the next one.
    std::fs::write(&secret, "rotated").unwrap();
    get_text(&c, &url).await.unwrap();
    assert_eq!(tokens.issued.lock().last().unwrap()["secret"], "rotated");
    assert_eq!(
        header(seen.lock().last().unwrap(), "authorization"),
        ["Bearer tok-3"]
    );
    // A refused client: Go's oauth2 error text.
    std::fs::write(&secret, "wrong").unwrap();
    let err = get_text(&c, &url).await.unwrap_err();
    assert!(
        err.starts_with(&format!(
            "Get \"{url}\": oauth2: cannot fetch token: 401 Unauthorized\nResponse: "
        )),
        "{err}"
    );
}

#[tokio::test]
async fn redirects_and_proxy() {
    let router = axum::Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/moved", get(|| async { Redirect::temporary("/") }));
    let addr = serve(router).await;
    let follow = HttpClient::new(&HttpClientConfig::default()).unwrap();
    assert_eq!(
        get_text(&follow, &format!("http://{addr}/moved"))
            .await
            .unwrap(),
        "hello"
    );
    let stay = HttpClient::new(&HttpClientConfig {
        follow_redirects: false,
        ..HttpClientConfig::default()
    })
    .unwrap();
    assert_eq!(
        get_text(&stay, &format!("http://{addr}/moved"))
            .await
            .unwrap_err(),
        "status 307 Temporary Redirect"
    );

    // A forward proxy sees the absolute URL of the request.
    let proxied: Arc<Mutex<Vec<String>>> = Arc::default();
    let p = proxied.clone();
    let proxy = serve(
        axum::Router::new().fallback(any(move |uri: Uri| async move {
            p.lock().push(uri.to_string());
            "via proxy"
        })),
    )
    .await;
    let c = HttpClient::new(&HttpClientConfig {
        proxy_url: Some(config::Url::parse(&format!("http://{proxy}")).unwrap()),
        ..HttpClientConfig::default()
    })
    .unwrap();
    assert_eq!(
        get_text(&c, "http://target.invalid:9100/metrics")
            .await
            .unwrap(),
        "via proxy"
    );
    assert_eq!(
        *proxied.lock(),
        ["http://target.invalid:9100/metrics".to_owned()]
    );
    // no_proxy exempts matching hosts.
    let c = HttpClient::new(&HttpClientConfig {
        proxy_url: Some(config::Url::parse(&format!("http://{proxy}")).unwrap()),
        no_proxy: "127.0.0.1".into(),
        ..HttpClientConfig::default()
    })
    .unwrap();
    assert_eq!(
        get_text(&c, &format!("http://{addr}/")).await.unwrap(),
        "hello"
    );
    assert_eq!(proxied.lock().len(), 1);
}
