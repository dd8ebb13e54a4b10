//! kube-state-metrics' own store test cases as an independent oracle: `tests/ksm/*.json` holds
//! the input objects and exact expected exposition lines of its `internal/store/*_test.go`
//! (v2.20), written down as data. Each object goes through our generators for its kind and
//! the lines are compared the way kube-state-metrics' `testutils.go` compares them: lines
//! (series and `# HELP` / `# TYPE` of every family of the kind) kept when they mention one of
//! the case's metric names, labels sorted within a line, lines sorted.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use firewatch_kube_state_exporter::kinds::{Allow, Exported, OPT_IN};
use firewatch_kube_state_exporter::out::encode;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, Secret,
    Service,
};
use k8s_openapi::serde::de::DeserializeOwned;
use model::exposition::Format;
use serde_json::Value;

/// One fixture case.
struct Case {
    number: u64,
    names: Option<Vec<String>>,
    allow: Allow,
    object: Value,
    want: Vec<String>,
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .map(|s| s.as_str().expect("string").to_owned())
            .collect()
    })
}

fn cases(file: &str) -> (String, Vec<Case>) {
    let path = format!("{}/tests/ksm/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let kind = doc["kind"].as_str().expect("kind").to_owned();
    let cases = doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            let resource = resource_of(&kind);
            // kube-state-metrics' tests generate every family, opt-in ones included.
            let mut allow = Allow {
                opt_in: OPT_IN.iter().map(|s| (*s).to_owned()).collect(),
                ..Allow::default()
            };
            if let Some(l) = strings(c.get("allow_labels")) {
                allow.labels = BTreeMap::from([(resource.to_owned(), l)]);
            }
            if let Some(a) = strings(c.get("allow_annotations")) {
                allow.annotations = BTreeMap::from([(resource.to_owned(), a)]);
            }
            Case {
                number: c["case"].as_u64().expect("case number"),
                names: strings(c.get("metric_names")),
                allow,
                object: c["object"].clone(),
                want: strings(c.get("want")).expect("want"),
            }
        })
        .collect();
    (kind, cases)
}

fn resource_of(kind: &str) -> &'static str {
    match kind {
        "Pod" => Pod::RESOURCE,
        "Node" => Node::RESOURCE,
        "Deployment" => Deployment::RESOURCE,
        "ReplicaSet" => ReplicaSet::RESOURCE,
        "DaemonSet" => DaemonSet::RESOURCE,
        "StatefulSet" => StatefulSet::RESOURCE,
        "Job" => Job::RESOURCE,
        "CronJob" => CronJob::RESOURCE,
        "PersistentVolume" => PersistentVolume::RESOURCE,
        "PersistentVolumeClaim" => PersistentVolumeClaim::RESOURCE,
        "Service" => Service::RESOURCE,
        "Endpoints" => Endpoints::RESOURCE,
        "Namespace" => Namespace::RESOURCE,
        "HorizontalPodAutoscaler" => HorizontalPodAutoscaler::RESOURCE,
        "ConfigMap" => ConfigMap::RESOURCE,
        "Secret" => Secret::RESOURCE,
        other => panic!("unknown kind {other}"),
    }
}

/// Our exposition lines for one object of kind `K`.
fn generate<K: Exported + DeserializeOwned>(case: &Case) -> Result<Vec<String>, String> {
    let obj: K = serde_json::from_value(case.object.clone()).map_err(|e| e.to_string())?;
    let fams = K::families(&[&obj], &case.allow);
    Ok(encode(&fams, Format::Text)
        .lines()
        .map(str::to_owned)
        .collect())
}

fn generate_kind(kind: &str, case: &Case) -> Result<Vec<String>, String> {
    match kind {
        "Pod" => generate::<Pod>(case),
        "Node" => generate::<Node>(case),
        "Deployment" => generate::<Deployment>(case),
        "ReplicaSet" => generate::<ReplicaSet>(case),
        "DaemonSet" => generate::<DaemonSet>(case),
        "StatefulSet" => generate::<StatefulSet>(case),
        "Job" => generate::<Job>(case),
        "CronJob" => generate::<CronJob>(case),
        "PersistentVolume" => generate::<PersistentVolume>(case),
        "PersistentVolumeClaim" => generate::<PersistentVolumeClaim>(case),
        "Service" => generate::<Service>(case),
        "Endpoints" => generate::<Endpoints>(case),
        "Namespace" => generate::<Namespace>(case),
        "HorizontalPodAutoscaler" => generate::<HorizontalPodAutoscaler>(case),
        "ConfigMap" => generate::<ConfigMap>(case),
        "Secret" => generate::<Secret>(case),
        other => panic!("unknown kind {other}"),
    }
}

/// A series line with its labels sorted (commas inside quoted values kept).
fn sort_labels(line: &str) -> String {
    if line.starts_with('#') {
        return line.to_owned();
    }
    let (Some(open), Some(close)) = (line.find('{'), line.rfind('}')) else {
        return line.to_owned();
    };
    let mut pairs = Vec::new();
    let (mut cur, mut quoted, mut escaped) = (String::new(), false, false);
    for c in line[open + 1..close].chars() {
        if c == ',' && !quoted {
            pairs.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push(c);
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        }
    }
    if !cur.is_empty() {
        pairs.push(cur);
    }
    pairs.sort();
    format!(
        "{}{{{}}}{}",
        &line[..open],
        pairs.join(","),
        &line[close + 1..]
    )
}

fn normalize(lines: &[String], names: Option<&[String]>) -> Vec<String> {
    let mut out: Vec<String> = lines
        .iter()
        .filter(|l| names.is_none_or(|ns| ns.iter().any(|n| l.contains(n.as_str()))))
        .map(|l| sort_labels(l))
        .collect();
    out.sort();
    out
}

/// Runs every case of `file`; returns the differences, one block per failing case.
fn run(file: &str) -> (usize, String) {
    let (kind, cases) = cases(file);
    let mut report = String::new();
    for case in &cases {
        let got = match generate_kind(&kind, case) {
            Ok(g) => g,
            Err(e) => {
                let _ = writeln!(report, "{file} case {}: object: {e}", case.number);
                continue;
            }
        };
        let names = case.names.as_deref();
        let (got, want) = (normalize(&got, names), normalize(&case.want, names));
        if got == want {
            continue;
        }
        let _ = writeln!(report, "{file} case {}:", case.number);
        for w in want.iter().filter(|w| !got.contains(w)) {
            let _ = writeln!(report, "  - {w}");
        }
        for g in got.iter().filter(|g| !want.contains(g)) {
            let _ = writeln!(report, "  + {g}");
        }
    }
    (cases.len(), report)
}

macro_rules! ksm_cases {
    ($($test:ident => $file:literal, $min:literal;)*) => {$(
        #[test]
        fn $test() {
            let (n, report) = run($file);
            assert!(n >= $min, "{}: {n} cases, expected at least {}", $file, $min);
            assert!(report.is_empty(), "kube-state-metrics' expected lines (-) vs ours (+):\n{report}");
        }
    )*};
}

ksm_cases! {
    pods => "pod.json", 65;
    nodes => "node.json", 10;
    deployments => "deployment.json", 9;
    replicasets => "replicaset.json", 2;
    daemonsets => "daemonset.json", 4;
    statefulsets => "statefulset.json", 6;
    jobs => "job.json", 8;
    cronjobs => "cronjob.json", 6;
    cronjob_schedules => "cronjob_schedule.json", 5;
    persistentvolumes => "persistentvolume.json", 35;
    persistentvolumeclaims => "persistentvolumeclaim.json", 5;
    services => "service.json", 9;
    endpoints => "endpoint.json", 2;
    endpoints_with_allowlists => "endpoint_labels.json", 2;
    namespaces => "namespace.json", 5;
    horizontalpodautoscalers => "horizontalpodautoscaler.json", 5;
    configmaps => "configmap.json", 2;
    secrets => "secret.json", 4;
}
