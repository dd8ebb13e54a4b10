//! The notifier with `oauth2` client credentials: it fetches a token from the token endpoint
//! (basic auth with client id and secret, the configured scopes and endpoint parameters),
//! sends it to the Alertmanager as a bearer token, and reuses it while it is valid.

mod notifier_common;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Form;
use axum::http::HeaderMap;
use axum::routing::post;
use firewatch_rules::alert::AlertSender;
use notifier_common::{FakeAm, alert, options, running, wait_for};
use parking_lot::Mutex;

#[tokio::test]
async fn oauth2_token_reaches_the_alertmanager() {
    type Requests = Arc<Mutex<Vec<(Option<String>, BTreeMap<String, String>)>>>;
    let requests: Requests = Arc::default();
    let r = requests.clone();
    let token_server = axum::Router::new().route(
        "/oauth/token",
        post(
            move |h: HeaderMap, Form(form): Form<BTreeMap<String, String>>| async move {
                let auth = h
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let mut r = r.lock();
                r.push((auth, form));
                axum::Json(serde_json::json!({
                    "access_token": format!("am-token-{}", r.len()),
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }))
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let token_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, token_server).await });

    let am = FakeAm::start().await;
    let yaml = format!(
        "alerting:
  alertmanagers:
  - static_configs: [{{targets: ['{}']}}]
    oauth2:
      client_id: firewatch
      client_secret: hunter2
      token_url: http://{token_addr}/oauth/token
      scopes: [alerts.write]
      endpoint_params: {{audience: alertmanager}}
",
        am.addr
    );
    let (n, _task) = running(&yaml, options(), 1).await;
    n.send(vec![alert("first", &[])]);
    wait_for("first alert received", || am.alerts().len() == 1).await;
    n.send(vec![alert("second", &[])]);
    wait_for("second alert received", || am.alerts().len() == 2).await;
    let auth: Vec<Option<String>> = am.received().into_iter().map(|r| r.authorization).collect();
    assert_eq!(
        auth,
        [
            Some("Bearer am-token-1".to_owned()),
            Some("Bearer am-token-1".to_owned())
        ]
    );
    let requests = requests.lock();
    assert_eq!(requests.len(), 1, "the token is reused while valid");
    // base64("firewatch:hunter2")
    assert_eq!(
        requests[0].0.as_deref(),
        Some("Basic ZmlyZXdhdGNoOmh1bnRlcjI=")
    );
    assert_eq!(requests[0].1["grant_type"], "client_credentials");
    assert_eq!(requests[0].1["scope"], "alerts.write");
    assert_eq!(requests[0].1["audience"], "alertmanager");
    n.stop();
}
