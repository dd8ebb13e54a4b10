//! Options of Kubernetes discovery, mirroring `kubernetes_sd_configs`.

use crate::error::DiscoveryError;
use crate::http::HttpClientOptions;

/// The kind of object targets are made from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// One target per node (kubelet address).
    Node,
    /// One target per pod container port (or per container without ports).
    Pod,
    /// One target per service port.
    Service,
    /// One target per endpoint address and port (core/v1 Endpoints).
    Endpoints,
    /// One target per endpoint address and port (discovery.k8s.io/v1 EndpointSlice).
    EndpointSlice,
    /// One target per ingress rule path.
    Ingress,
}

impl Role {
    /// Parses the role as written in the configuration.
    ///
    /// # Errors
    /// For unknown roles, with Prometheus's message.
    pub fn parse(s: &str) -> Result<Self, DiscoveryError> {
        Ok(match s {
            "node" => Self::Node,
            "pod" => Self::Pod,
            "service" => Self::Service,
            "endpoints" => Self::Endpoints,
            "endpointslice" => Self::EndpointSlice,
            "ingress" => Self::Ingress,
            _ => {
                return Err(DiscoveryError::Config {
                    mechanism: "kubernetes",
                    message: format!("unknown Kubernetes SD role {s:?}"),
                });
            }
        })
    }

    /// The role's name in configuration and in label names (`endpoints`, `endpointslice`...).
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
}

/// Which namespaces to watch (`namespaces:`); empty means all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamespaceDiscovery {
    /// Also watch the namespace Firewatch runs in (in-cluster only).
    pub own_namespace: bool,
    /// Namespaces to watch.
    pub names: Vec<String>,
}

/// A label and/or field selector applied to the watches of one kind (`selectors:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorConfig {
    /// The kind the selector applies to.
    pub role: Role,
    /// Label selector, e.g. `app=web,tier!=cache`.
    pub label: Option<String>,
    /// Field selector, e.g. `spec.nodeName=node-1`.
    pub field: Option<String>,
}

/// Metadata of related objects to attach (`attach_metadata:`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttachMetadata {
    /// Attach the node's labels and annotations to pod and endpoint targets.
    pub node: bool,
}

/// Options of Kubernetes discovery, as in `kubernetes_sd_configs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubernetesSdOptions {
    /// What targets are made from.
    pub role: Role,
    /// API server URL; with neither this nor `kubeconfig_file`, the in-cluster configuration.
    pub api_server: Option<String>,
    /// A kubeconfig file to read the cluster and credentials from.
    pub kubeconfig_file: Option<String>,
    /// Credentials and TLS for `api_server` (the older partial form, used when `http_client`
    /// is `None`).
    pub client: HttpClientOptions,
    /// The whole `http_client_config` for `api_server`: when set, requests go through the
    /// shared [`http_client::HttpClient`] and `client` is ignored.
    pub http_client: Option<Box<config::HttpClientConfig>>,
    /// Namespaces to watch.
    pub namespaces: NamespaceDiscovery,
    /// Selectors per kind.
    pub selectors: Vec<SelectorConfig>,
    /// Related metadata to attach.
    pub attach_metadata: AttachMetadata,
}

impl KubernetesSdOptions {
    /// Options for `role` with everything else defaulted (in-cluster, all namespaces).
    #[must_use]
    pub fn new(role: Role) -> Self {
        Self {
            role,
            api_server: None,
            kubeconfig_file: None,
            client: HttpClientOptions::default(),
            http_client: None,
            namespaces: NamespaceDiscovery::default(),
            selectors: Vec::new(),
            attach_metadata: AttachMetadata::default(),
        }
    }

    /// Checks the combinations Prometheus rejects.
    ///
    /// # Errors
    /// With Prometheus's messages.
    pub fn validate(&self) -> Result<(), DiscoveryError> {
        let err = |m: String| {
            Err(DiscoveryError::Config {
                mechanism: "kubernetes",
                message: m,
            })
        };
        if self.api_server.is_some() && self.kubeconfig_file.is_some() {
            return err("cannot use 'kubeconfig_file' and 'api_server' simultaneously".into());
        }
        if self.kubeconfig_file.is_some() && self.client != HttpClientOptions::default() {
            return err(
                "cannot use a custom HTTP client configuration together with 'kubeconfig_file'"
                    .into(),
            );
        }
        if self.api_server.is_none() && self.client != HttpClientOptions::default() {
            return err("to use custom HTTP client configuration please provide the 'api_server' URL explicitly".into());
        }
        if self.api_server.is_some() && self.namespaces.own_namespace {
            return err(
                "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously".into(),
            );
        }
        if self.kubeconfig_file.is_some() && self.namespaces.own_namespace {
            return err(
                "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously".into(),
            );
        }
        let allowed: &[Role] = match self.role {
            Role::Pod => &[Role::Pod, Role::Node],
            Role::Service => &[Role::Service],
            Role::EndpointSlice => &[Role::Pod, Role::Service, Role::EndpointSlice],
            Role::Endpoints => &[Role::Pod, Role::Service, Role::Endpoints],
            Role::Node => &[Role::Node],
            Role::Ingress => &[Role::Ingress],
        };
        let mut seen = Vec::new();
        for s in &self.selectors {
            if seen.contains(&s.role) {
                return err(format!("duplicated selector role: {}", s.role.as_str()));
            }
            seen.push(s.role);
            if !allowed.contains(&s.role) {
                let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
                return err(format!(
                    "{} role supports only {} selectors",
                    self.role.as_str(),
                    names.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The selector configured for `kind`, if any.
    #[must_use]
    pub fn selector(&self, kind: Role) -> Option<&SelectorConfig> {
        self.selectors.iter().find(|s| s.role == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(o: &KubernetesSdOptions) -> String {
        o.validate().unwrap_err().to_string()
    }

    #[test]
    fn prometheus_checks() {
        let mut o = KubernetesSdOptions::new(Role::Pod);
        assert!(o.validate().is_ok());
        o.api_server = Some("https://k8s:6443".into());
        o.kubeconfig_file = Some("/kc".into());
        assert!(err(&o).contains("cannot use 'kubeconfig_file' and 'api_server' simultaneously"));
        o.kubeconfig_file = None;
        o.namespaces.own_namespace = true;
        assert!(err(&o).contains("cannot use 'api_server' and 'namespaces.own_namespace'"));
        o.namespaces.own_namespace = false;
        o.selectors = vec![SelectorConfig {
            role: Role::Service,
            label: Some("a=b".into()),
            field: None,
        }];
        assert!(err(&o).contains("pod role supports only pod, node selectors"));
        let pod_sel = SelectorConfig {
            role: Role::Pod,
            label: None,
            field: Some("spec.nodeName=n".into()),
        };
        o.selectors = vec![pod_sel.clone(), pod_sel];
        assert!(err(&o).contains("duplicated selector role: pod"));
        let mut o = KubernetesSdOptions::new(Role::Node);
        o.client.bearer_token = Some("t".into());
        assert!(err(&o).contains("please provide the 'api_server' URL explicitly"));
        assert!(Role::parse("pods").is_err());
        assert_eq!(Role::parse("endpointslice").unwrap(), Role::EndpointSlice);
    }
}
