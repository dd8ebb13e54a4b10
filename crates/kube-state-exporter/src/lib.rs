//! Firewatch's kube-state exporter: kube-state-metrics' families (names, help texts, types and
//! labels as its `internal/store/*.go`) for pods, nodes, namespaces, workloads, services,
//! endpoints, storage, autoscalers, configmaps and secrets, from the Kubernetes API through
//! kube-rs reflectors, served on `/metrics`.

#![forbid(unsafe_code)]

pub mod allowlist;
pub mod config;
pub mod cron;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod endpoint;
pub mod hpa;
pub mod job;
pub mod kinds;
pub mod namespace;
pub mod node;
pub mod order;
pub mod out;
pub mod pod;
pub mod pod_extra;
pub mod pod_status;
pub mod quantity;
pub mod replicaset;
pub mod server;
pub mod service;
pub mod statefulset;
pub mod storage;
pub mod table;

pub use server::{Options, router, run};
