//! The Kubernetes manifests under `deploy/kubernetes/`: rendered with `kubectl kustomize`,
//! validated offline against the Kubernetes API schemas (PyPI's `kubernetes-validate`), held to
//! the security and sizing rules the README promises, and checked against the binary: every
//! flag a container passes exists in `firewatch <subcommand> --help`, every probe names a
//! declared port, the listen address matches that port, and the probe paths answer on a running
//! process started with the manifest's own flags (paths and addresses moved to temporary ones).

#[path = "../../discovery/tests/common/fake_kube.rs"]
#[allow(dead_code, missing_docs)]
mod fake_kube;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use testkit::{Process, free_port, get_ok, wait_for};

const BIN: &str = env!("CARGO_BIN_EXE_firewatch");

/// The repository's root (two levels above this crate).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `kubectl kustomize <dir>` as YAML text; `None` (a recorded skip) without kubectl.
fn render(test: &str, dir: &str) -> Option<String> {
    let kubectl = testkit::peer_binary(test, "kubectl")?;
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg(repo_root().join(dir))
        .output()
        .expect("running kubectl kustomize");
    assert!(
        out.status.success(),
        "kubectl kustomize {dir} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("kustomize output is UTF-8"))
}

/// The bundle `deploy/kubernetes` rendered: its text and its objects.
fn rendered(test: &str) -> Option<(String, Vec<Value>)> {
    let yaml = render(test, "deploy/kubernetes")?;
    let objs = objects(&yaml);
    Some((yaml, objs))
}

/// A finished process's standard output followed by its standard error.
fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The rendered YAML's documents.
fn objects(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(yaml)
        .expect("rendered manifests parse as YAML")
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

fn name_of(o: &Value) -> String {
    format!(
        "{}/{}",
        o["kind"].as_str().unwrap_or("?"),
        o["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// The workloads' (object, pod spec) pairs.
fn pod_specs(objs: &[Value]) -> Vec<(&Value, &Value)> {
    objs.iter()
        .filter(|o| {
            matches!(
                o["kind"].as_str(),
                Some("Deployment" | "StatefulSet" | "DaemonSet")
            )
        })
        .map(|o| (o, &o["spec"]["template"]["spec"]))
        .collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().expect("string").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `kubernetes-validate --strict` on `yaml`; the tool's exit status and output.
fn kubernetes_validate(dir: &Path, file: &str, yaml: &str) -> (bool, String) {
    let path = dir.join(file);
    std::fs::write(&path, yaml).unwrap();
    let out = Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict", "--quiet"])
        .arg(&path)
        .output()
        .expect("running python3 -m kubernetes_validate");
    let text = output_text(&out);
    (out.status.success(), text)
}

#[test]
fn manifests_render_and_validate_against_kubernetes_schemas() {
    const T: &str = "manifests_render_and_validate_against_kubernetes_schemas";
    let Some((yaml, objs)) = rendered(T) else {
        return;
    };
    let names: Vec<String> = objs.iter().map(name_of).collect();
    for want in [
        "Namespace/monitoring",
        "StatefulSet/firewatch",
        "StatefulSet/alertmanager",
        "DaemonSet/node-exporter",
        "DaemonSet/container-exporter",
        "Deployment/kube-state-exporter",
        "ServiceAccount/firewatch",
        "ClusterRole/firewatch",
        "ClusterRoleBinding/firewatch",
        "ClusterRole/kube-state-exporter",
        "ServiceAccount/alertmanager",
        "ClusterRole/alertmanager",
        "ConfigMap/firewatch-server",
        "ConfigMap/alertmanager",
        "Service/alertmanager-cluster",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    for o in &objs {
        if o["kind"] != "Namespace" && !o["kind"].as_str().unwrap().starts_with("Cluster") {
            assert_eq!(o["metadata"]["namespace"], "monitoring", "{}", name_of(o));
        }
    }
    if !testkit::python_module(T, "kubernetes_validate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (ok, text) = kubernetes_validate(dir.path(), "rendered.yaml", &yaml);
    assert!(ok, "kubernetes-validate rejected the manifests:\n{text}");
    // The validator does reject a wrong object (so the pass above means something).
    let broken = yaml.replacen("containerPort: 9090", "containerPort: web", 1);
    assert_ne!(broken, yaml);
    let (ok, text) = kubernetes_validate(dir.path(), "broken.yaml", &broken);
    assert!(!ok, "a string containerPort passed validation:\n{text}");
    // The example Operator objects render; their CRDs are not in the schema set, so they are
    // held to their documented shape instead.
    let Some(examples) = render(T, "deploy/kubernetes/examples") else {
        return;
    };
    let ex = objects(&examples);
    let kinds: Vec<String> = ex.iter().map(name_of).collect();
    assert_eq!(
        kinds,
        ["PrometheusRule/example-app", "ServiceMonitor/example-app"]
    );
    for o in &ex {
        assert_eq!(o["apiVersion"], "monitoring.coreos.com/v1");
    }
}

#[test]
fn manifests_run_non_root_read_only_with_requests() {
    const T: &str = "manifests_run_non_root_read_only_with_requests";
    let Some((_, objs)) = rendered(T) else {
        return;
    };
    let workloads = pod_specs(&objs);
    assert_eq!(workloads.len(), 5);
    for (o, pod) in workloads {
        let who = name_of(o);
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{who}");
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
            "{who}"
        );
        for c in pod["containers"].as_array().unwrap() {
            let sc = &c["securityContext"];
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{who}");
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{who}");
            assert_eq!(strs(&sc["capabilities"]["drop"]), ["ALL"], "{who}");
            assert!(
                sc["capabilities"]["add"].is_null(),
                "{who} adds capabilities"
            );
            assert_eq!(c["image"], "ghcr.io/firewatch/firewatch:latest", "{who}");
            for r in ["cpu", "memory"] {
                assert!(c["resources"]["requests"][r].is_string(), "{who}: {r}");
            }
            assert!(c["resources"]["limits"]["memory"].is_string(), "{who}");
        }
        // Host paths only in the exporters, and only read-only.
        for c in pod["containers"].as_array().unwrap() {
            for m in c["volumeMounts"].as_array().into_iter().flatten() {
                let declared = |list: &Value| {
                    list.as_array()
                        .into_iter()
                        .flatten()
                        .find(|v| v["name"] == m["name"] || v["metadata"]["name"] == m["name"])
                        .cloned()
                };
                let vol = declared(&pod["volumes"])
                    .or_else(|| declared(&o["spec"]["volumeClaimTemplates"]))
                    .unwrap_or_else(|| panic!("{who}: volume {} not declared", m["name"]));
                if vol["hostPath"].is_object() {
                    assert!(who.starts_with("DaemonSet/"), "{who} mounts a host path");
                    assert_eq!(m["readOnly"], true, "{who}: {}", m["name"]);
                }
            }
        }
    }
    // The server's role reads and never writes.
    for role in objs.iter().filter(|o| o["kind"] == "ClusterRole") {
        for rule in role["rules"].as_array().unwrap() {
            for verb in strs(&rule["verbs"]) {
                assert!(
                    ["get", "list", "watch"].contains(&verb.as_str()),
                    "{}: verb {verb}",
                    name_of(role)
                );
            }
        }
    }
}

/// The long flags (`--name`) of `args`, without values.
fn flags(args: &[String]) -> Vec<String> {
    args.iter()
        .filter_map(|a| a.strip_prefix("--"))
        .map(|a| format!("--{}", a.split('=').next().unwrap()))
        .collect()
}

/// Whether `help` lists `flag` (followed by a non-name character).
fn help_lists(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(i, _)| {
        help[i + flag.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '.' || c == '-' || c == '_'))
    })
}

/// `firewatch <sub> --help`; `None` (a recorded skip) when the subcommand takes no flags yet.
fn subcommand_help(test: &str, sub: &str) -> Option<String> {
    let out = Command::new(BIN).args([sub, "--help"]).output().unwrap();
    let help = output_text(&out);
    let takes_flags = help
        .split(|c: char| c.is_whitespace() || c == '[' || c == ']')
        .any(|w| w.starts_with("--") && w != "--help" && w != "--version");
    if !takes_flags {
        testkit::skip(
            test,
            &format!("firewatch {sub} takes no flags yet (placeholder subcommand)"),
        );
        return None;
    }
    Some(help)
}

#[test]
fn manifest_flags_and_ports_exist_in_the_binary() {
    const T: &str = "manifest_flags_and_ports_exist_in_the_binary";
    let Some((_, objs)) = rendered(T) else {
        return;
    };
    let mut checked = 0;
    for (o, pod) in pod_specs(&objs) {
        for c in pod["containers"].as_array().unwrap() {
            let who = format!("{} container {}", name_of(o), c["name"]);
            let args = strs(&c["args"]);
            let sub = args
                .first()
                .unwrap_or_else(|| panic!("{who}: no subcommand"));
            let ports: Vec<(String, i64)> = c["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or("").to_owned(),
                        p["containerPort"].as_i64().unwrap(),
                    )
                })
                .collect();
            // Each probe names a declared port, and that is the port the process listens on.
            let listen = args
                .iter()
                .find_map(|a| a.strip_prefix("--web.listen-address="))
                .unwrap_or_else(|| panic!("{who}: no --web.listen-address"));
            let listen_port: i64 = listen.rsplit(':').next().unwrap().parse().unwrap();
            for probe in ["livenessProbe", "readinessProbe"] {
                let get = &c[probe]["httpGet"];
                assert!(
                    get["path"].is_string(),
                    "{who}: {probe} has no httpGet path"
                );
                let port = match &get["port"] {
                    Value::String(name) => {
                        ports
                            .iter()
                            .find(|(n, _)| n == name)
                            .unwrap_or_else(|| panic!("{who}: {probe} port {name} undeclared"))
                            .1
                    }
                    n => n.as_i64().unwrap(),
                };
                assert_eq!(port, listen_port, "{who}: {probe} is not the listen port");
            }
            let Some(help) = subcommand_help(T, sub) else {
                continue;
            };
            for flag in flags(&args[1..]) {
                assert!(
                    help_lists(&help, &flag),
                    "{who}: {flag} is not a flag of firewatch {sub}:\n{help}"
                );
            }
            checked += 1;
        }
    }
    // The server, the Alertmanager and the node exporter take flags today.
    assert!(checked >= 3, "only {checked} containers checked");
}

/// The manifest's `args` for a local run: data and configuration in `dir`, listening on
/// 127.0.0.1:`port`, host paths as this machine's own, clustering off.
fn local_args(args: &[String], dir: &Path, port: u16) -> Vec<String> {
    let mut out = vec![args[0].clone()];
    for a in &args[1..] {
        let (flag, value) = a.split_once('=').unwrap_or((a, ""));
        let local = match flag {
            "--web.listen-address" => format!("127.0.0.1:{port}"),
            "--config.file" => dir.join("config.yml").display().to_string(),
            "--operator.config.file" => dir.join("operator.yml").display().to_string(),
            "--storage.tsdb.path" | "--storage.path" => dir.join("data").display().to_string(),
            "--cluster.listen-address" => String::new(),
            "--cluster.peer" => continue,
            _ if value.starts_with("/host/root") => "/".to_owned(),
            _ if value.starts_with("/host/") => value["/host".len()..].to_owned(),
            _ => {
                out.push(a.clone());
                continue;
            }
        };
        out.push(format!("{flag}={local}"));
    }
    out
}

/// A ConfigMap's `data[key]` from the rendered objects.
fn config_map(objs: &[Value], name: &str, key: &str) -> String {
    objs.iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == name)
        .and_then(|o| o["data"][key].as_str())
        .unwrap_or_else(|| panic!("ConfigMap {name} has no {key}"))
        .to_owned()
}

/// A kubeconfig whose one context is the API server at `url`, without credentials.
fn kubeconfig_for(url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
         clusters: [{{name: fake, cluster: {{server: \"{url}\"}}}}]\n\
         users: [{{name: fake, user: {{}}}}]\n\
         contexts: [{{name: fake, context: {{cluster: fake, user: fake}}}}]\n"
    )
}

#[test]
fn manifest_probe_paths_answer() {
    const T: &str = "manifest_probe_paths_answer";
    let Some((_, objs)) = rendered(T) else {
        return;
    };
    // The in-process fake Kubernetes API of discovery's tests, for the kube-state exporter.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let kube = runtime.block_on(fake_kube::FakeKube::start());
    let mut answered = Vec::new();
    for (o, pod) in pod_specs(&objs) {
        for c in pod["containers"].as_array().unwrap() {
            let args = strs(&c["args"]);
            let sub = args[0].as_str();
            if subcommand_help(T, sub).is_none() {
                continue;
            }
            let dir = tempfile::tempdir().unwrap();
            // The Alertmanager runs on its ConfigMap; the server on a static configuration
            // (its ConfigMap's Kubernetes discovery needs a cluster; it is checked below).
            let config = match sub {
                "alertmanager" => config_map(&objs, "alertmanager", "alertmanager.yml"),
                _ => "scrape_configs: []\n".to_owned(),
            };
            std::fs::write(dir.path().join("config.yml"), config).unwrap();
            if sub == "alertmanager" {
                // Its AlertmanagerConfig objects: from the fake API instead of in-cluster.
                let section = config_map(&objs, "alertmanager", "operator.yml").replace(
                    "kubernetes_operator:\n",
                    &format!("kubernetes_operator:\n  api_server: {}\n", kube.url),
                );
                std::fs::write(dir.path().join("operator.yml"), section).unwrap();
            }
            let port = free_port();
            let mut cmd = Command::new(BIN);
            cmd.args(local_args(&args, dir.path(), port));
            if sub == "kube-state-exporter" {
                // Its Kubernetes API: the fake one, through a kubeconfig as outside a cluster.
                let kubeconfig = dir.path().join("kubeconfig");
                std::fs::write(&kubeconfig, kubeconfig_for(&kube.url)).unwrap();
                cmd.env("KUBECONFIG", &kubeconfig)
                    .env_remove("KUBERNETES_SERVICE_HOST")
                    .env_remove("KUBERNETES_SERVICE_PORT");
            }
            let log = dir.path().join("process.log");
            let mut p = Process::spawn(&format!("firewatch {sub}"), cmd, &log);
            let ready = c["readinessProbe"]["httpGet"]["path"].as_str().unwrap();
            wait_for(
                &format!("{} ready", name_of(o)),
                Duration::from_secs(60),
                || {
                    assert!(p.is_running(), "firewatch {sub} exited:\n{}", p.log_text());
                    get_ok(port, ready).is_some()
                },
            );
            for probe in ["livenessProbe", "readinessProbe"] {
                let path = c[probe]["httpGet"]["path"].as_str().unwrap();
                assert!(
                    get_ok(port, path).is_some(),
                    "{}: {probe} {path} does not answer 200",
                    name_of(o)
                );
            }
            answered.push(sub.to_owned());
        }
    }
    for want in ["server", "alertmanager", "node-exporter"] {
        assert!(
            answered.iter().any(|s| s == want),
            "{want} not run: {answered:?}"
        );
    }
}

#[test]
fn manifest_configs_pass_the_binary_checks() {
    const T: &str = "manifest_configs_pass_the_binary_checks";
    let Some((_, objs)) = rendered(T) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The service account's files and the rules directory as they are mounted in the pod.
    std::fs::create_dir_all(d.join("sa")).unwrap();
    std::fs::create_dir_all(d.join("rules")).unwrap();
    std::fs::write(d.join("sa/token"), "token").unwrap();
    std::fs::write(d.join("sa/ca.crt"), "").unwrap();
    std::fs::write(
        d.join("rules/firewatch.yml"),
        config_map(&objs, "firewatch-rules", "firewatch.yml"),
    )
    .unwrap();
    let prom = config_map(&objs, "firewatch-server", "prometheus.yml")
        .replace(
            "/var/run/secrets/kubernetes.io/serviceaccount/",
            &format!("{}/sa/", d.display()),
        )
        .replace("/etc/firewatch/rules/", &format!("{}/rules/", d.display()));
    std::fs::write(d.join("prometheus.yml"), &prom).unwrap();
    std::fs::write(
        d.join("alertmanager.yml"),
        config_map(&objs, "alertmanager", "alertmanager.yml"),
    )
    .unwrap();
    std::fs::write(
        d.join("operator.yml"),
        config_map(&objs, "alertmanager", "operator.yml"),
    )
    .unwrap();
    for (args, expect) in [
        (
            vec!["tool", "check", "config", "prometheus.yml"],
            "2 rules found",
        ),
        (vec!["tool", "check-config", "alertmanager.yml"], "SUCCESS"),
        (vec!["tool", "check", "config", "operator.yml"], "SUCCESS"),
    ] {
        let out = Command::new(BIN)
            .args(&args)
            .current_dir(d)
            .output()
            .unwrap();
        let text = output_text(&out);
        assert!(out.status.success(), "firewatch {args:?} failed:\n{text}");
        assert!(text.contains(expect), "firewatch {args:?}:\n{text}");
    }
}

#[test]
fn dockerfile_builds_this_workspace_into_a_non_root_image() {
    // No container engine runs in the tests, so the recipe is held to what it must say.
    let root = repo_root();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let rust_version = cargo
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("the workspace's rust-version")
        .trim_matches('"');
    let froms: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "two stages: {froms:?}");
    assert!(
        froms[0].starts_with(&format!("rust:{rust_version}-")),
        "the builder's toolchain is not the workspace's rust-version {rust_version}: {}",
        froms[0]
    );
    assert!(dockerfile.contains("cargo build --release --locked -p firewatch"));
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        !["root", "0", "0:0"].contains(&user.trim()),
        "runs as {user}"
    );
    assert!(dockerfile.contains(r#"ENTRYPOINT ["/firewatch"]"#));
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l.trim_end_matches('/') == "target"));
    // The manifests' image is the one the README builds.
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("docker build -t ghcr.io/firewatch/firewatch:latest ."));
}
