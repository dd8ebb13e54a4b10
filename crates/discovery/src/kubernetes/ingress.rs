//! The `ingress` role: one target per ingress rule host and path.

use k8s_openapi::api::networking::v1::Ingress;

use super::meta::{P, add_object_meta, key, namespace, s, set};
use crate::targetgroup::{ADDRESS_LABEL, LabelSet, TargetGroup};

fn matches_host_pattern(pattern: &str, host: &str) -> bool {
    if pattern == host {
        return true;
    }
    let p: Vec<&str> = pattern.split('.').collect();
    let h: Vec<&str> = host.split('.').collect();
    p[0] == "*" && p.len() == h.len() && p[1..] == h[1..]
}

/// The ingress role's group: one target per rule host and path, `https` when a TLS entry covers
/// the host.
#[must_use]
pub fn build_ingress(ing: &Ingress) -> TargetGroup {
    let mut tg = TargetGroup::empty(format!("ingress/{}", key(&ing.metadata)));
    set(
        &mut tg.labels,
        format!("{P}namespace"),
        namespace(&ing.metadata),
    );
    let spec = ing.spec.as_ref();
    if let Some(cls) = spec.and_then(|s| s.ingress_class_name.as_ref()) {
        set(
            &mut tg.labels,
            format!("{P}ingress_class_name"),
            cls.clone(),
        );
    }
    add_object_meta(&mut tg.labels, &ing.metadata, "ingress");
    let tls_hosts: Vec<&String> = spec
        .and_then(|s| s.tls.as_ref())
        .into_iter()
        .flatten()
        .flat_map(|t| t.hosts.iter().flatten())
        .collect();
    for rule in spec.and_then(|s| s.rules.as_ref()).into_iter().flatten() {
        let host = s(rule.host.as_ref());
        let scheme = if tls_hosts.iter().any(|p| matches_host_pattern(p, &host)) {
            "https"
        } else {
            "http"
        };
        let paths: Vec<String> = match &rule.http {
            None => vec!["/".to_owned()],
            Some(h) => h
                .paths
                .iter()
                .map(|p| {
                    p.path
                        .clone()
                        .filter(|p| !p.is_empty())
                        .unwrap_or_else(|| "/".to_owned())
                })
                .collect(),
        };
        for path in paths {
            let mut t = LabelSet::new();
            set(&mut t, ADDRESS_LABEL, host.clone());
            set(&mut t, format!("{P}ingress_scheme"), scheme);
            set(&mut t, format!("{P}ingress_host"), host.clone());
            set(&mut t, format!("{P}ingress_path"), path);
            tg.targets.push(t);
        }
    }
    tg
}
