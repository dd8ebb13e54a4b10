//! `--metric-labels-allowlist` / `--metric-annotations-allowlist` (kube-state-metrics'
//! `pkg/options/types.go` syntax `pods=[app,team],namespaces=[*]`) and the
//! `kube_<kind>_labels` / `_annotations` families they open (`internal/store/utils.go`).

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use model::exposition::MetricType;

use crate::out::Family;

use crate::out::Out;

/// Label or annotation keys allowed per resource (`pods`; `*` for every resource).
pub type AllowList = BTreeMap<String, Vec<String>>;

/// A malformed allowlist flag.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("allowlist {text:?}: {what}")]
pub struct ParseError {
    text: String,
    what: &'static str,
}

/// Parses `resource=[key,key],resource=[*]` (empty: nothing allowed).
///
/// # Errors
/// A resource without `=[...]`, an unclosed bracket, or an empty resource name.
pub fn parse(text: &str) -> Result<AllowList, ParseError> {
    let err = |what| ParseError {
        text: text.to_owned(),
        what,
    };
    let mut out = AllowList::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (resource, after) = rest
            .split_once('=')
            .ok_or_else(|| err("expected resource=[keys]"))?;
        let resource = resource.trim();
        if resource.is_empty() {
            return Err(err("empty resource name"));
        }
        let after = after
            .trim_start()
            .strip_prefix('[')
            .ok_or_else(|| err("expected [ after ="))?;
        let (keys, tail) = after.split_once(']').ok_or_else(|| err("missing ]"))?;
        let keys = keys
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned);
        out.entry(resource.to_owned()).or_default().extend(keys);
        rest = tail.trim_start();
        if let Some(t) = rest.strip_prefix(',') {
            rest = t.trim_start();
        } else if !rest.is_empty() {
            return Err(err("expected , between resources"));
        }
    }
    Ok(out)
}

/// Whether `key` matches `pattern` (`*` stands for any run of characters).
fn matches(pattern: &str, key: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = key.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// kube-state-metrics' label name for a key: invalid characters to `_`, camelCase to snake.
fn label_name(prefix: &str, key: &str) -> String {
    let mut out = format!("{prefix}_");
    let chars: Vec<char> = key.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let c = if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        };
        if c.is_ascii_uppercase() && i > 0 {
            let p = chars[i - 1];
            if p.is_ascii_lowercase() || p.is_ascii_digit() {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The allowed entries of `map` as `(prefix_key, value)` labels, in key order; names that
/// collide after sanitizing get `_conflictN` suffixes.
#[must_use]
pub fn labels(
    prefix: &str,
    map: Option<&BTreeMap<String, String>>,
    allow: &[String],
) -> Vec<(String, String)> {
    let Some(map) = map else { return Vec::new() };
    let all = allow.first().is_some_and(|a| a == "*");
    let mut out: Vec<(String, String)> = Vec::new();
    let mut used: HashMap<String, usize> = HashMap::new();
    let mut conflicts: HashMap<String, usize> = HashMap::new();
    for (k, v) in map {
        if !all && !allow.iter().any(|p| p != "*" && matches(p, k)) {
            continue;
        }
        let base = label_name(prefix, k);
        let next = |count: &mut usize, used: &HashMap<String, usize>| loop {
            *count += 1;
            let c = format!("{base}_conflict{count}");
            if !used.contains_key(&c) {
                return c;
            }
        };
        let name = if let Some(count) = conflicts.get_mut(&base) {
            next(count, &used)
        } else if let Some(idx) = used.remove(&base) {
            let mut count = 0;
            let renamed = next(&mut count, &used);
            out[idx].0.clone_from(&renamed);
            used.insert(renamed, idx);
            let name = next(&mut count, &used);
            conflicts.insert(base.clone(), count);
            name
        } else {
            base.clone()
        };
        used.insert(name.clone(), out.len());
        out.push((name, v.clone()));
    }
    out
}

/// The keys allowed for `resource` (its own entry, else `*`'s); `None` when none is.
fn allowed<'a>(list: &'a AllowList, resource: &str) -> Option<&'a [String]> {
    list.get(resource)
        .or_else(|| list.get("*"))
        .map(Vec::as_slice)
}

/// `kube_<kind>_labels` and `kube_<kind>_annotations` of these objects: declared always,
/// with one series per object when the resource is in the allowlist.
#[must_use]
pub fn families(
    family_prefix: &str,
    resource: &str,
    objects: &[(Vec<(&str, &str)>, &ObjectMeta)],
    labels_allow: &AllowList,
    annotations_allow: &AllowList,
) -> Vec<Family> {
    let labels_name: &'static str = leak(format!("{family_prefix}_labels"));
    let annotations_name: &'static str = leak(format!("{family_prefix}_annotations"));
    let mut out = Out::default();
    out.declare(
        labels_name,
        "[STABLE] Kubernetes labels converted to Prometheus labels.",
        MetricType::Gauge,
    );
    out.declare(
        annotations_name,
        "Kubernetes annotations converted to Prometheus labels.",
        MetricType::Gauge,
    );
    for (name, allow, prefix, pick) in [
        (labels_name, labels_allow, "label", true),
        (annotations_name, annotations_allow, "annotation", false),
    ] {
        let Some(keys) = allowed(allow, resource).filter(|k| !k.is_empty()) else {
            continue;
        };
        for (base, meta) in objects {
            let map = if pick {
                meta.labels.as_ref()
            } else {
                meta.annotations.as_ref()
            };
            let extra = labels(prefix, map, keys);
            let mut l: Vec<(&str, &str)> = base.clone();
            l.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            out.add(name, &l, 1.0);
        }
    }
    out.finish()
}

/// Family names live as long as the process; the set of kinds is fixed, so a name is
/// interned once.
fn leak(name: String) -> &'static str {
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<std::collections::HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .expect("names lock");
    if let Some(n) = names.get(name.as_str()) {
        return n;
    }
    let n: &'static str = Box::leak(name.into_boxed_str());
    names.insert(n);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kube_state_metrics_syntax() {
        let l = parse("pods=[app,team], namespaces=[*],deployments=[]").unwrap();
        assert_eq!(l["pods"], ["app", "team"]);
        assert_eq!(l["namespaces"], ["*"]);
        assert!(l["deployments"].is_empty());
        assert!(parse("").unwrap().is_empty());
        for bad in [
            "pods",
            "pods=app",
            "pods=[app",
            "=[a]",
            "pods=[a] nodes=[b]",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_matching() {
        let map: BTreeMap<String, String> = [
            ("app.kubernetes.io/name", "web"),
            ("team", "shop"),
            ("fooBar", "1"),
            ("foo_bar", "2"),
            ("other", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let allow = ["app.*".to_owned(), "team".to_owned(), "foo*".to_owned()];
        let got = labels("label", Some(&map), &allow);
        let want = [
            ("label_app_kubernetes_io_name", "web"),
            ("label_foo_bar_conflict1", "1"),
            ("label_foo_bar_conflict2", "2"),
            ("label_team", "shop"),
        ];
        let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, want);
        assert_eq!(labels("label", Some(&map), &["*".to_owned()]).len(), 5);
        assert!(matches("a*b*c", "axxbyyc") && !matches("a*b", "ab_c") && matches("*", ""));
    }
}
