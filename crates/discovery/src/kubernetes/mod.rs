//! Kubernetes discovery (`kubernetes_sd_configs`): watches the API server and turns nodes,
//! pods, services, endpoints, endpoint slices and ingresses into target groups with every
//! `__meta_kubernetes_*` label Prometheus documents.
//!
//! Each role watches the kinds its targets depend on (endpoints also watch services and pods,
//! pods watch nodes with `attach_metadata.node`), keeps them in local stores and rebuilds the
//! affected groups on every event. Sources are `pod/<ns>/<name>`, `svc/<ns>/<name>`,
//! `endpoints/<ns>/<name>`, `endpointslice/<ns>/<name>`, `node/<name>`, `ingress/<ns>/<name>`;
//! a deleted object is sent as an empty group.

mod build;
mod client;
mod options;
mod watch;

pub use build::{
    Stores, build_endpoints, build_endpointslice, build_ingress, build_node, build_pod,
    build_service,
};
pub use client::KubernetesDiscovery;
pub use options::{AttachMetadata, KubernetesSdOptions, NamespaceDiscovery, Role, SelectorConfig};
