//! No secret leaves the processes (issue 16, security): the server and the Alertmanager run
//! with configurations full of distinct secret values, use them (scrapes with basic auth,
//! authorization and OAuth 2 that fail, remote write that fails, alerts sent with basic auth,
//! notifications through every integration that fail), and no secret value appears in any
//! log line (debug level, standard output and error) or any API answer.

use std::process::Command;
use std::time::{Duration, Instant};

use testkit::{Process, Server, free_port, get_ok};

/// The secret values; each distinct so that a leak names its field.
const SECRETS: &[&str] = &[
    "scrapeBasicPw7f3a",
    "scrapeAuthzCred91c2",
    "scrapeOauthSecret5d1e",
    "remoteWritePw2b8c",
    "alertingBasicPw6e4f",
    "smtpAuthPw0a9b",
    "slackHookPath3c7d",
    "webhookPathSecret8e2f",
    "webhookBasicPw4d6a",
    "pagerdutyRoutingKey1f5b",
    "opsgenieApiKey9a3c",
    "bearerTokenLegacy2e7d",
];

/// `firewatch <args>` with standard output and error both in `log`.
fn spawn_logged(name: &str, args: &[String], log: &std::path::Path) -> Process {
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "exec \"$0\" \"$@\" 1>&2",
        env!("CARGO_BIN_EXE_firewatch"),
    ])
    .args(args);
    Process::spawn(name, cmd, log)
}

fn wait(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("not seen within {timeout:?}: {what}");
    false
}

#[test]
fn no_secret_in_any_output_or_api_answer() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let dead = free_port();
    let am_port = free_port();
    let [
        scrape_pw,
        authz,
        oauth,
        rw_pw,
        alerting_pw,
        smtp_pw,
        slack,
        webhook,
        webhook_pw,
        pd_key,
        og_key,
        bearer,
    ] = SECRETS.try_into().unwrap();

    // The Alertmanager: every notification goes to a dead port and fails.
    let am_yml = w.join("am.yml");
    std::fs::write(
        &am_yml,
        format!(
            "global:\n  smtp_smarthost: 127.0.0.1:{dead}\n  smtp_from: am@example.org\n  \
             smtp_auth_username: am\n  smtp_auth_password: {smtp_pw}\n  smtp_require_tls: false\n  \
             slack_api_url: http://127.0.0.1:{dead}/{slack}\n  opsgenie_api_key: {og_key}\n  \
             opsgenie_api_url: http://127.0.0.1:{dead}/\n\
             route:\n  receiver: all\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1m\n\
             receivers:\n- name: all\n  \
               webhook_configs:\n  - url: http://127.0.0.1:{dead}/{webhook}\n    \
                 http_config:\n      basic_auth:\n        username: wh\n        password: {webhook_pw}\n  \
               pagerduty_configs:\n  - routing_key: {pd_key}\n    url: http://127.0.0.1:{dead}/pd\n  \
               slack_configs:\n  - channel: '#ops'\n  \
               opsgenie_configs:\n  - message: hi\n  \
               email_configs:\n  - to: ops@example.org\n"
        ),
    )
    .unwrap();
    let am_args = [
        "alertmanager".to_owned(),
        format!("--config.file={}", am_yml.display()),
        format!("--storage.path={}", w.join("am-data").display()),
        format!("--web.listen-address=127.0.0.1:{am_port}"),
        "--cluster.listen-address=".to_owned(),
        "--log.level=debug".to_owned(),
    ];
    let am_log = w.join("am.log");
    let _am = spawn_logged("firewatch alertmanager", &am_args, &am_log);
    assert!(wait("alertmanager ready", Duration::from_secs(60), || {
        get_ok(am_port, "/-/ready").is_some()
    }));

    // The server: scrapes with credentials that fail, remote write that fails, an alert sent
    // to the Alertmanager with basic authentication.
    std::fs::write(
        w.join("rules.yml"),
        "groups:\n- name: g\n  rules:\n  - alert: Always\n    expr: vector(1)\n",
    )
    .unwrap();
    let server_yml = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files: [rules.yml]\n\
         alerting:\n  alertmanagers:\n  - basic_auth:\n      username: prom\n      password: {alerting_pw}\n    \
           static_configs:\n    - targets: ['127.0.0.1:{am_port}']\n\
         remote_write:\n- url: http://127.0.0.1:{dead}/write\n  basic_auth:\n    username: rw\n    password: {rw_pw}\n\
         scrape_configs:\n\
         - job_name: basic\n  basic_auth:\n    username: s\n    password: {scrape_pw}\n  \
           static_configs:\n  - targets: ['127.0.0.1:{dead}']\n\
         - job_name: authz\n  authorization:\n    credentials: {authz}\n  \
           static_configs:\n  - targets: ['127.0.0.1:{dead}']\n\
         - job_name: bearer\n  bearer_token: {bearer}\n  \
           static_configs:\n  - targets: ['127.0.0.1:{dead}']\n\
         - job_name: oauth\n  oauth2:\n    client_id: c\n    client_secret: {oauth}\n    \
           token_url: http://127.0.0.1:{dead}/token\n  \
           static_configs:\n  - targets: ['127.0.0.1:{dead}']\n"
    );
    let server = Server::start(
        "sh",
        &[
            "-c",
            "exec \"$0\" \"$@\" 1>&2",
            env!("CARGO_BIN_EXE_firewatch"),
            "server",
        ],
        w,
        &w.join("data"),
        &server_yml,
        &["--log.level=debug"],
    );

    // Everything has been used: every scrape failed, the alert reached the Alertmanager and
    // each integration failed at least once.
    assert!(wait("four failed scrapes", Duration::from_secs(30), || {
        get_ok(server.port, "/api/v1/targets")
            .is_some_and(|t| t.matches("\"health\":\"down\"").count() == 4)
    }));
    let integrations = ["webhook", "pagerduty", "slack", "opsgenie", "email"];
    let all_failed = wait("every integration failed", Duration::from_secs(60), || {
        get_ok(am_port, "/metrics").is_some_and(|m| {
            integrations.iter().all(|i| {
                m.lines().any(|l| {
                    l.starts_with("alertmanager_notifications_failed_total{")
                        && l.contains(&format!("integration=\"{i}\""))
                        && !l.ends_with(" 0")
                })
            })
        })
    });
    assert!(
        all_failed,
        "{}",
        get_ok(am_port, "/metrics").unwrap_or_default()
    );

    let mut outputs = Vec::new();
    for path in [
        "/api/v1/status/config",
        "/api/v1/status/flags",
        "/api/v1/targets",
        "/api/v1/targets/metadata",
        "/api/v1/alertmanagers",
        "/api/v1/rules",
        "/api/v1/alerts",
        "/api/v1/status/runtimeinfo",
        "/metrics",
        "/config",
    ] {
        let r = server.get(path).unwrap();
        outputs.push((format!("server {path}"), r.body));
    }
    let config = &outputs[0].1;
    assert!(config.contains("<secret>"), "{config}");
    for path in [
        "/api/v2/status",
        "/api/v2/receivers",
        "/api/v2/alerts",
        "/api/v2/alerts/groups",
        "/metrics",
    ] {
        let r = testkit::http(am_port, "GET", path, None).unwrap();
        outputs.push((format!("alertmanager {path}"), r.body));
    }
    let status = &outputs[outputs.len() - 5].1;
    assert!(status.contains("<secret>"), "{status}");
    outputs.push(("server log".into(), server.process.log_text()));
    outputs.push((
        "alertmanager log".into(),
        std::fs::read_to_string(&am_log).unwrap(),
    ));
    // The logs show the failures happened (a run that logged nothing would prove nothing).
    let am_text = &outputs[outputs.len() - 1].1;
    assert!(am_text.to_lowercase().contains("notify"), "{am_text}");

    let mut leaks = Vec::new();
    for (what, text) in &outputs {
        for s in SECRETS {
            if text.contains(s) {
                let line = text.lines().find(|l| l.contains(s)).unwrap_or_default();
                leaks.push(format!("{s} in {what}: {line}"));
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}
