//! Kubernetes discovery (`kubernetes_sd_configs`): watches the API server and turns nodes,
//! pods, services, endpoints, endpoint slices and ingresses into target groups with every
//! `__meta_kubernetes_*` label Prometheus documents.
//!
//! Each role watches the kinds its targets depend on (endpoints also watch services and pods,
//! pods watch nodes with `attach_metadata.node`), keeps them in local stores and rebuilds the
//! affected groups on every event. Sources are `pod/<ns>/<name>`, `svc/<ns>/<name>`,
//! `endpoints/<ns>/<name>`, `endpointslice/<ns>/<name>`, `node/<name>`, `ingress/<ns>/<name>`;
//! a deleted object is sent as an empty group.

mod client;
mod endpoints;
mod endpointslice;
mod in_cluster;
mod ingress;
mod meta;
mod node;
mod pod;
mod service;
mod transport;
mod watch;

pub use client::KubernetesDiscovery;
pub use config::KubernetesSdConfig;
pub use config::kubernetes::{Role, SelectorConfig};
pub use endpoints::build_endpoints;
pub use endpointslice::build_endpointslice;
pub use in_cluster::{InClusterEnv, SERVICE_ACCOUNT_DIR};
pub use ingress::build_ingress;
pub use meta::Stores;
pub use node::build_node;
pub use pod::build_pod;
pub use service::build_service;
