//! `kubernetes_sd_configs`: every field of Prometheus's Kubernetes discovery, with its checks.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::http::HttpClientConfig;
use crate::yaml::{At, Invalid, go_quote, nullable};
use crate::{Url, join_dir};

/// The kind of Kubernetes object whose instances become targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Nodes.
    Node,
    /// Pods (one target per declared container port).
    Pod,
    /// Services (one target per service port).
    Service,
    /// Endpoints.
    Endpoints,
    /// EndpointSlices.
    EndpointSlice,
    /// Ingresses.
    Ingress,
}

impl Role {
    /// The configuration spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Node => "node",
            Self::Pod => "pod",
            Self::Service => "service",
            Self::Endpoints => "endpoints",
            Self::EndpointSlice => "endpointslice",
            Self::Ingress => "ingress",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "node" => Self::Node,
            "pod" => Self::Pod,
            "service" => Self::Service,
            "endpoints" => Self::Endpoints,
            "endpointslice" => Self::EndpointSlice,
            "ingress" => Self::Ingress,
            _ => return None,
        })
    }

    /// The selector roles Prometheus allows for this discovery role.
    #[must_use]
    pub fn allowed_selectors(self) -> &'static [&'static str] {
        match self {
            Self::Pod => &["pod", "node"],
            Self::Service => &["service"],
            Self::EndpointSlice => &["pod", "service", "endpointslice"],
            Self::Endpoints => &["pod", "service", "endpoints"],
            Self::Node => &["node"],
            Self::Ingress => &["ingress"],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Role::parse(&s).ok_or_else(|| {
            crate::yaml::go_error(format!("unknown Kubernetes SD role {}", go_quote(&s)), None)
        })
    }
}

/// Which namespaces to watch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceDiscovery {
    /// Also watch the namespace Firewatch runs in.
    #[serde(default)]
    pub own_namespace: bool,
    /// Namespaces by name (all when empty).
    #[serde(default, deserialize_with = "nullable")]
    pub names: Vec<String>,
}

/// A label/field selector limiting the watched objects of one role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorConfig {
    /// The object kind the selector applies to.
    pub role: Role,
    /// Label selector (`app=web,tier in (a,b)`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// Field selector (`metadata.name=x`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
}

/// Extra metadata attached to targets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachMetadataConfig {
    /// Node labels and annotations.
    #[serde(default)]
    pub node: bool,
    /// Namespace labels and annotations.
    #[serde(default)]
    pub namespace: bool,
    /// The pod's Deployment.
    #[serde(default)]
    pub deployment: bool,
    /// The pod's Job.
    #[serde(default)]
    pub job: bool,
    /// The pod's CronJob.
    #[serde(default)]
    pub cronjob: bool,
}

with_http_client! {
    http2_default = "crate::http::yes";
    /// Targets from the Kubernetes API.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct KubernetesSdConfig {
        /// The API server (in-cluster configuration when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub api_server: Option<Url>,
        /// The object kind to discover.
        #[serde(default)]
        pub role: Option<Role>,
        /// A kubeconfig file instead of `api_server`.
        #[serde(default)]
        pub kubeconfig_file: String,
    } {
        /// Namespaces to watch.
        #[serde(default, deserialize_with = "crate::yaml::nullable")]
        pub namespaces: NamespaceDiscovery,
        /// Selectors per role.
        #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
        pub selectors: Vec<SelectorConfig>,
        /// Extra metadata.
        #[serde(default, deserialize_with = "crate::yaml::nullable")]
        pub attach_metadata: AttachMetadataConfig,
    }
}

impl KubernetesSdConfig {
    /// A section for `role` with every other field at its default (in-cluster, all
    /// namespaces).
    #[must_use]
    pub fn new(role: Role) -> Self {
        Self {
            role: Some(role),
            ..crate::yaml::defaults()
        }
    }

    /// The selector configured for objects of `kind`, if any.
    #[must_use]
    pub fn selector(&self, kind: Role) -> Option<&SelectorConfig> {
        self.selectors.iter().find(|s| s.role == kind)
    }

    /// Prometheus's checks, with its texts.
    pub fn validate(&mut self) -> Result<(), Invalid> {
        let Some(role) = self.role else {
            return Err(Invalid::new(
                "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)",
            ));
        };
        self.validate_http_client()?;
        let custom_http = self.http_client() != HttpClientConfig::default();
        let has_api = self
            .api_server
            .as_ref()
            .is_some_and(|u| !u.as_str().is_empty());
        let has_kubeconfig = !self.kubeconfig_file.is_empty();
        if has_api && has_kubeconfig {
            return Err(Invalid::new(
                "cannot use 'kubeconfig_file' and 'api_server' simultaneously",
            ));
        }
        if has_kubeconfig && custom_http {
            return Err(Invalid::new(
                "cannot use a custom HTTP client configuration together with 'kubeconfig_file'",
            ));
        }
        if !has_api && custom_http {
            return Err(Invalid::new(
                "to use custom HTTP client configuration please provide the 'api_server' URL explicitly",
            ));
        }
        if has_api && self.namespaces.own_namespace {
            return Err(Invalid::new(
                "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously",
            ));
        }
        if has_kubeconfig && self.namespaces.own_namespace {
            return Err(Invalid::new(
                "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously",
            ));
        }
        let mut seen = Vec::new();
        for (i, sel) in self.selectors.iter().enumerate() {
            let at = |r: Result<(), Invalid>| r.index(i).key("selectors");
            if seen.contains(&sel.role) {
                return at(Err(Invalid::new(format!(
                    "duplicated selector role: {}",
                    sel.role
                ))));
            }
            seen.push(sel.role);
            let allowed = role.allowed_selectors();
            if !allowed.contains(&sel.role.as_str()) {
                return at(Err(Invalid::new(format!(
                    "{role} role supports only {} selectors",
                    allowed.join(", ")
                ))));
            }
            at(parse_field_selector(&sel.field).map_err(Invalid::new))?;
            at(parse_label_selector(&sel.label).map_err(Invalid::new))?;
        }
        Ok(())
    }

    pub(crate) fn set_directory(&mut self, dir: &Path) {
        self.set_http_directory(dir);
        self.kubeconfig_file = join_dir(dir, &self.kubeconfig_file);
    }
}

/// Checks a Kubernetes field selector (`a=b,c!=d`), with the API machinery's message.
pub fn parse_field_selector(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Ok(());
    }
    for term in split_unescaped(s, ',') {
        let ok = ["!=", "==", "="].iter().any(|op| term.contains(op));
        if !ok {
            return Err(format!(
                "invalid selector: '{s}'; can't understand '{term}'"
            ));
        }
    }
    Ok(())
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            cur.push(c);
            escaped = true;
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// Checks a Kubernetes label selector: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
/// `k notin (a,b)`, joined by commas.
pub fn parse_label_selector(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Ok(());
    }
    // Split on commas outside parentheses.
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&s[start..]);
    for term in terms {
        let t = term.trim();
        let bad = || Err(format!("unable to parse requirement: {t:?}"));
        if let Some(k) = t.strip_prefix('!') {
            if !valid_label_key(k.trim()) {
                return bad();
            }
            continue;
        }
        let (key, rest) = match t.find(|c: char| c.is_whitespace() || matches!(c, '=' | '!')) {
            Some(i) => (&t[..i], t[i..].trim_start()),
            None => (t, ""),
        };
        if !valid_label_key(key) {
            return bad();
        }
        if rest.is_empty() {
            continue;
        }
        let value = if let Some(v) = rest.strip_prefix("==").or_else(|| rest.strip_prefix("!=")) {
            v
        } else if let Some(v) = rest.strip_prefix('=') {
            v
        } else if let Some(v) = rest
            .strip_prefix("notin")
            .or_else(|| rest.strip_prefix("in"))
        {
            let v = v.trim();
            if !(v.starts_with('(') && v.ends_with(')')) {
                return bad();
            }
            if v[1..v.len() - 1]
                .split(',')
                .all(|x| valid_label_value(x.trim()))
            {
                continue;
            }
            return bad();
        } else {
            return bad();
        };
        if !valid_label_value(value.trim()) {
            return bad();
        }
    }
    Ok(())
}

fn valid_label_key(k: &str) -> bool {
    let name = match k.rsplit_once('/') {
        Some((prefix, name)) => {
            if prefix.is_empty() || prefix.len() > 253 {
                return false;
            }
            name
        }
        None => k,
    };
    !name.is_empty() && name.len() <= 63 && valid_label_value(name)
}

fn valid_label_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && v.chars().next().is_none_or(|c| c.is_ascii_alphanumeric())
        && v.chars().last().is_none_or(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The constructors give what the same section written in a file gives.
    #[test]
    fn constructors_match_the_file_defaults() {
        let file = Path::new("sd.yml");
        let k: KubernetesSdConfig = crate::yaml::decode("role: endpoints", file).unwrap();
        assert_eq!(KubernetesSdConfig::new(Role::Endpoints), k);
        let h: crate::HttpSdConfig = crate::yaml::decode("url: http://a/sd", file).unwrap();
        assert_eq!(crate::HttpSdConfig::new("http://a/sd"), h);
        let f: crate::FileSdConfig = crate::yaml::decode("{}", file).unwrap();
        assert_eq!(crate::FileSdConfig::default(), f);
        let d: crate::DnsSdConfig = crate::yaml::decode("{}", file).unwrap();
        assert_eq!(crate::DnsSdConfig::default(), d);
    }

    #[test]
    fn selectors() {
        assert!(parse_field_selector("metadata.status=Running").is_ok());
        assert_eq!(
            parse_field_selector("metadata.status-Running").unwrap_err(),
            "invalid selector: 'metadata.status-Running'; can't understand 'metadata.status-Running'"
        );
        for ok in [
            "foo=bar",
            "foo in (bar,baz)",
            "!foo",
            "foo",
            "a.b/c!=d,e notin (x)",
        ] {
            assert!(parse_label_selector(ok).is_ok(), "{ok}");
        }
        for bad in ["foo in bar", "=x", "foo=b@r"] {
            assert!(parse_label_selector(bad).is_err(), "{bad}");
        }
    }
}
