//! `--web.config.file` on the listeners of `firewatch alertmanager`, `container-exporter` and
//! `kube-state-exporter` (issue 16, security): TLS with a test CA's certificate and bcrypt basic
//! authentication, checked with the real curl (401 without credentials, 200 with, no plain
//! HTTP) and the real amtool over TLS.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use testkit::{Process, free_port, wait_for};

/// bcrypt of "pw".
const HASH: &str = "$2b$12$FMSrZnJH4q.PrqHT3f5jvuQ3nAasMjjKsk7dUBjCeuwqngjzDN/Bi";

/// The test CA and server certificate (`testkit::tls`), and `web.yml` serving TLS with user
/// `admin`/`pw` and an extra header.
fn make_web_config(dir: &Path) -> std::path::PathBuf {
    testkit::tls::make_certificates(dir);
    let file = dir.join("web.yml");
    std::fs::write(
        &file,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  admin: {HASH}\n\
             http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
            dir.join("srv.pem").display(),
            dir.join("srv.key").display()
        ),
    )
    .unwrap();
    file
}

/// `curl` of `url` with the test CA and `-u user` when given: (status, headers and body).
fn curl(curl: &Path, dir: &Path, url: &str, user: Option<&str>) -> (u16, String) {
    let mut cmd = Command::new(curl);
    cmd.args(["-sS", "--max-time", "10", "-i", "--cacert"])
        .arg(dir.join("ca.pem"))
        .arg(url);
    if let Some(u) = user {
        cmd.args(["-u", u]);
    }
    let out = cmd.output().expect("running curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Starts `firewatch <args>` on a free port and checks its `path` over TLS with basic auth.
fn check_listener(
    test: &str,
    dir: &Path,
    name: &str,
    args: &[String],
    env: &[(&str, &Path)],
    path: &str,
) -> (Process, u16) {
    let curl_bin = testkit::peer_binary(test, "curl").expect("curl");
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.envs(env.iter().copied())
        .args(args)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!(
            "--web.config.file={}",
            dir.join("web.yml").display()
        ));
    let p = Process::spawn(name, cmd, &dir.join(format!("{name}.log")));
    let url = format!("https://127.0.0.1:{port}{path}");
    wait_for(name, Duration::from_secs(60), || {
        curl(&curl_bin, dir, &url, None).0 != 0
    });
    let (status, text) = curl(&curl_bin, dir, &url, None);
    assert_eq!(status, 401, "{name} without credentials: {text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("www-authenticate: basic"),
        "{text}"
    );
    assert_eq!(curl(&curl_bin, dir, &url, Some("admin:wrong")).0, 401);
    let (status, text) = curl(&curl_bin, dir, &url, Some("admin:pw"));
    assert_eq!(status, 200, "{name} with credentials: {text}");
    assert!(
        text.to_ascii_lowercase().contains("x-frame-options: deny"),
        "{text}"
    );
    // No plain HTTP on the TLS listener.
    let plain = format!("http://127.0.0.1:{port}{path}");
    assert_ne!(curl(&curl_bin, dir, &plain, Some("admin:pw")).0, 200);
    (p, port)
}

/// `amtool config show` against `port` over TLS with the HTTP client configuration `http`.
fn amtool(amtool: &Path, dir: &Path, port: u16, http: &str) -> std::process::Output {
    let file = dir.join("amtool-http.yml");
    std::fs::write(&file, http).unwrap();
    Command::new(amtool)
        .arg(format!("--alertmanager.url=https://127.0.0.1:{port}/"))
        .arg(format!("--http.config.file={}", file.display()))
        .args(["config", "show"])
        .output()
        .expect("running amtool")
}

#[test]
fn alertmanager_tls_basic_auth_curl_and_amtool() {
    let test = "alertmanager_tls_basic_auth_curl_and_amtool";
    let Some(amtool_bin) = testkit::peer_binary(test, "amtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_web_config(d);
    std::fs::write(
        d.join("am.yml"),
        "route:\n  receiver: null\nreceivers:\n- name: \"null\"\n",
    )
    .unwrap();
    let args = [
        "alertmanager".to_owned(),
        format!("--config.file={}", d.join("am.yml").display()),
        format!("--storage.path={}", d.join("data").display()),
        "--cluster.listen-address=".to_owned(),
    ];
    let (_p, port) = check_listener(test, d, "alertmanager", &args, &[], "/api/v2/status");
    let ca = d.join("ca.pem");
    let good = format!(
        "basic_auth:\n  username: admin\n  password: pw\ntls_config:\n  ca_file: {}\n",
        ca.display()
    );
    let out = amtool(&amtool_bin, d, port, &good);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "amtool: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("receiver: \"null\""), "{stdout}");
    // Without credentials amtool is refused; without the CA it does not trust the server.
    let no_auth = format!("tls_config:\n  ca_file: {}\n", ca.display());
    assert!(!amtool(&amtool_bin, d, port, &no_auth).status.success());
    let no_ca = "basic_auth:\n  username: admin\n  password: pw\n";
    assert!(!amtool(&amtool_bin, d, port, no_ca).status.success());
}

#[test]
fn container_exporter_tls_basic_auth_curl() {
    let test = "container_exporter_tls_basic_auth_curl";
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_web_config(d);
    let cg = d.join("cgroup");
    std::fs::create_dir_all(&cg).unwrap();
    std::fs::write(cg.join("cgroup.controllers"), "cpu memory\n").unwrap();
    let args = [
        "container-exporter".to_owned(),
        format!("--path.cgroup={}", cg.display()),
        format!("--path.procfs={}", d.join("proc").display()),
        format!("--path.rootfs={}", d.display()),
    ];
    let (_p, _) = check_listener(test, d, "container-exporter", &args, &[], "/metrics");
}

#[test]
fn kube_state_exporter_tls_basic_auth_curl() {
    let test = "kube_state_exporter_tls_basic_auth_curl";
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_web_config(d);
    // An API server that is not there: the exporter serves (empty) while its watches retry.
    let kubeconfig = d.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{}\n\
             users:\n- name: u\n  user: {{}}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n\
             current-context: x\n",
            free_port()
        ),
    )
    .unwrap();
    let args = ["kube-state-exporter".to_owned()];
    let env = [("KUBECONFIG", kubeconfig.as_path())];
    let (_p, _) = check_listener(test, d, "kube-state-exporter", &args, &env, "/metrics");
}

#[test]
fn container_exporter_mtls_curl_and_prometheus_scrape() {
    let test = "container_exporter_mtls_curl_and_prometheus_scrape";
    let Some(curl_bin) = testkit::peer_binary(test, "curl") else {
        return;
    };
    let Some(prometheus) = testkit::peer_binary(test, "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    testkit::tls::make_certificates(d);
    testkit::tls::make_client_certificate(d);
    std::fs::write(
        d.join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n  \
             client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\n",
            d.join("srv.pem").display(),
            d.join("srv.key").display(),
            d.join("ca.pem").display()
        ),
    )
    .unwrap();
    let cg = d.join("cgroup");
    std::fs::create_dir_all(&cg).unwrap();
    std::fs::write(cg.join("cgroup.controllers"), "cpu memory\n").unwrap();
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.arg("container-exporter")
        .arg(format!("--path.cgroup={}", cg.display()))
        .arg(format!("--path.procfs={}", d.join("proc").display()))
        .arg(format!("--path.rootfs={}", d.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--web.config.file={}", d.join("web.yml").display()));
    let _p = Process::spawn("container-exporter", cmd, &d.join("ce.log"));
    let url = format!("https://127.0.0.1:{port}/metrics");
    let with_cert = |cert: bool| {
        let mut c = Command::new(&curl_bin);
        c.args([
            "-sS",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg("--cacert")
        .arg(d.join("ca.pem"));
        if cert {
            c.arg("--cert")
                .arg(d.join("cli.pem"))
                .arg("--key")
                .arg(d.join("cli.key"));
        }
        let out = c.arg(&url).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    wait_for("container exporter", Duration::from_secs(60), || {
        with_cert(true) == "200"
    });
    // Without a client certificate the handshake fails: no HTTP answer at all.
    assert_eq!(with_cert(false), "000");
    // The real Prometheus scrapes it with the client certificate.
    let scrape = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: ce\n  scheme: https\n  \
         tls_config:\n    ca_file: {}\n    cert_file: {}\n    key_file: {}\n  \
         static_configs:\n  - targets: ['127.0.0.1:{port}']\n",
        d.join("ca.pem").display(),
        d.join("cli.pem").display(),
        d.join("cli.key").display()
    );
    let prom = testkit::Server::start(
        prometheus.to_str().unwrap(),
        &[],
        &d.join("prom"),
        &d.join("prom-data"),
        &scrape,
        &[],
    );
    wait_for(
        "prometheus scraped over mTLS",
        Duration::from_secs(30),
        || {
            testkit::get_ok(prom.port, "/api/v1/query?query=up%7Bjob%3D%22ce%22%7D")
                .is_some_and(|b| b.contains("\"value\":[") && b.contains("\"1\"]"))
        },
    );
}
