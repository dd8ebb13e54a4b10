//! SMTP authentication chosen as Alertmanager chooses it (`notify/email/email.go`): the first
//! of the server's advertised mechanisms whose credentials are set (CRAM-MD5 with
//! `auth_secret`, PLAIN with `auth_identity`/`auth_password`, LOGIN with `auth_password`),
//! checked against a real SMTP server (aiosmtpd, STARTTLS, AUTH required) offering different
//! mechanisms; and CRAM-MD5 as the real Alertmanager 0.25 speaks it to the same server.

mod support;

use std::sync::Arc;
use std::time::Duration;

use firewatch_notifiers::alert::{Alert, Data};
use firewatch_notifiers::{GlobalConfig, Notifier, NotifyContext, Receiver, Template};
use serde_json::json;
use support::SmtpServer;

fn data() -> Data {
    let t = "2024-05-01T11:00:00Z".parse().unwrap();
    let labels = [("alertname".to_owned(), "Disk".to_owned())].into();
    let a = Alert::new(labels, Default::default(), t, None, "http://prom/g", t);
    Data::new(
        "ops",
        [("alertname".to_owned(), "Disk".to_owned())].into(),
        vec![a],
        "http://am:9093",
    )
}

fn email_yaml(port: u16, auth: &str) -> String {
    format!(
        "- name: ops\n  email_configs:\n  - to: 'a@example.org'\n    from: 'fw@example.org'\n    smarthost: '127.0.0.1:{port}'\n    auth_username: am-user\n{auth}    tls_config: {{insecure_skip_verify: true}}\n"
    )
}

/// One case: the server's mechanisms, the credentials set, and the mechanism used or (with
/// `Err`) part of the error.
struct Case {
    name: &'static str,
    offered: &'static str,
    auth: &'static str,
    want: Result<&'static str, &'static str>,
}

const SECRET: &str = "cram-secret";

const CASES: &[Case] = &[
    Case {
        name: "CRAM-MD5 advertised first and a secret set",
        offered: "CRAM-MD5,LOGIN,PLAIN",
        auth: "    auth_secret: cram-secret\n    auth_password: am-pass\n",
        want: Ok("CRAM-MD5"),
    },
    Case {
        name: "no secret: the next advertised mechanism (LOGIN) with the password",
        offered: "CRAM-MD5,LOGIN,PLAIN",
        auth: "    auth_password: am-pass\n",
        want: Ok("LOGIN"),
    },
    Case {
        name: "PLAIN with an identity",
        offered: "PLAIN",
        auth: "    auth_password: am-pass\n    auth_identity: am-user\n",
        want: Ok("PLAIN"),
    },
    Case {
        name: "only CRAM-MD5 offered, no secret",
        offered: "CRAM-MD5",
        auth: "    auth_password: am-pass\n",
        want: Err("find auth mechanism: missing secret for CRAM-MD5 auth mechanism"),
    },
    Case {
        name: "LOGIN and PLAIN offered, only a secret",
        offered: "LOGIN,PLAIN",
        auth: "    auth_secret: cram-secret\n",
        want: Err(
            "find auth mechanism: missing password for LOGIN auth mechanism; missing password for PLAIN auth mechanism",
        ),
    },
    Case {
        name: "a wrong secret is refused by the server",
        offered: "CRAM-MD5",
        auth: "    auth_secret: not-the-secret\n",
        want: Err("*smtp.cramMD5Auth auth: permanent error (535)"),
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_auth_mechanism_is_chosen_as_alertmanager_does() {
    let test = "email_auth_mechanism_is_chosen_as_alertmanager_does";
    http_client::ensure_crypto_provider();
    let tmpl = Arc::new(Template::defaults().unwrap());
    let ctx = NotifyContext {
        group_key: "{}:{}".into(),
    };
    let mut failures = Vec::new();
    for case in CASES {
        let Some(smtp) = SmtpServer::start_with(test, false, case.offered, SECRET) else {
            return;
        };
        let mut r: Vec<Receiver> =
            serde_saphyr::from_str(&email_yaml(smtp.port, case.auth)).unwrap();
        let mut r = r.remove(0);
        r.validate().unwrap();
        r.apply_global(&GlobalConfig::default()).unwrap();
        let e = firewatch_notifiers::email::Email::new(
            &r.email_configs[0],
            &tmpl,
            &http_client::ClientOptions::default(),
        )
        .unwrap();
        let got = e.notify(&ctx, &data()).await;
        match (&got, case.want) {
            (Ok(()), Ok(mech)) => {
                let m = smtp.message(1).await;
                if m["auth_mechanism"] != json!(mech) || m["tls"] != json!(true) {
                    failures.push(format!("{}: server saw {m}", case.name));
                }
            }
            (Err(e), Err(want)) if e.message.contains(want) => {}
            _ => failures.push(format!(
                "{}: got {got:?}, want {:?}; server log:\n{}",
                case.name,
                case.want,
                smtp.log()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The real Alertmanager 0.25 authenticates with CRAM-MD5 to the same server when it is
/// advertised first and a secret is set: the server records the same mechanism for both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_uses_cram_md5_like_us() {
    let test = "alertmanager_uses_cram_md5_like_us";
    let Some(bin) = testkit::peer_binary(test, "prometheus-alertmanager") else {
        return;
    };
    let Some(smtp) = SmtpServer::start_with(test, false, "CRAM-MD5,LOGIN,PLAIN", SECRET) else {
        return;
    };
    http_client::ensure_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let receivers = email_yaml(
        smtp.port,
        "    auth_secret: cram-secret\n    auth_password: am-pass\n",
    );
    let yaml = format!("route:\n  receiver: ops\n  group_wait: 1s\nreceivers:\n{receivers}");
    let (am, port) = support::start_alertmanager(&bin, dir.path(), &yaml, "http://am:9093");
    let resp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/v2/alerts"))
        .json(&json!([{"labels": {"alertname": "Disk"}}]))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let theirs = tokio::time::timeout(Duration::from_secs(40), smtp.message(1))
        .await
        .unwrap_or_else(|_| panic!("no e-mail from alertmanager: {}", am.log_text()));
    drop(am);
    assert_eq!(theirs["auth_mechanism"], "CRAM-MD5", "{theirs}");
    let mut r: Vec<Receiver> = serde_saphyr::from_str(&receivers).unwrap();
    let mut r = r.remove(0);
    r.validate().unwrap();
    r.apply_global(&GlobalConfig::default()).unwrap();
    let tmpl = Arc::new(Template::defaults().unwrap());
    let e = firewatch_notifiers::email::Email::new(
        &r.email_configs[0],
        &tmpl,
        &http_client::ClientOptions::default(),
    )
    .unwrap();
    let ctx = NotifyContext {
        group_key: "{}:{}".into(),
    };
    e.notify(&ctx, &data()).await.unwrap();
    let ours = smtp.message(2).await;
    assert_eq!(ours["auth_mechanism"], theirs["auth_mechanism"]);
    assert_eq!(ours["helo"], theirs["helo"]);
}
