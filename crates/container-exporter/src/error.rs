//! The container exporter's errors.

/// What can stop the exporter from starting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag's value is wrong.
    #[error("{0}")]
    Flag(String),
    /// No cgroup hierarchy was found under the given path.
    #[error("no cgroup v2 or v1 hierarchy (cpu, cpuacct or memory) under {0}")]
    NoCgroups(String),
    /// The listen address cannot be bound or served.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
