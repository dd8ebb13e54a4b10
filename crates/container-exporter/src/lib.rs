//! Firewatch's container exporter: cAdvisor's container metrics (names, help texts, types and
//! label sets as cAdvisor's `metrics/prometheus.go`) read from cgroup v2 (or v1 where mounted)
//! and `/proc`, served on `/metrics`.

#![forbid(unsafe_code)]

pub mod blkio;
pub mod cgroup;
mod disk;
pub mod error;
pub mod families;
pub mod fs;
pub mod layer;
pub mod runtime;
pub mod server;

pub use error::Error;
pub use families::collect;
pub use server::{Options, router, run};
