//! Firewatch's Alertmanager (mirrors Prometheus's Alertmanager): configuration, route tree,
//! dispatcher and aggregation groups, inhibition, silences, notification log, notification
//! pipeline and API v2.

pub mod alert;
pub mod config;
pub mod dispatch;
pub mod error;
pub mod inhibit;
pub mod labels;
pub mod marker;
pub mod matcher;
pub mod memory;
pub mod metrics;
pub mod nflog;
pub mod notify;
pub mod route;
pub mod silence;
mod state_file;
pub mod state_log;
pub mod stop;
pub mod store;
pub mod timeinterval;

pub use config::Config;
pub use error::{ConfigError, SilenceError, StateError};
pub mod api;
pub mod check;
pub mod cluster;
pub mod server;

pub use server::{ConfigHook, Options, run, run_until};
pub use stop::Stop;
