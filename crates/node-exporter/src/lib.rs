//! Firewatch's node exporter: node_exporter's Linux collectors with its metric names, labels,
//! help texts and flags (to the level of node_exporter 1.9.1), served over HTTP.
//! Mirrors node_exporter's `node_exporter.go` (handler, `collect[]` filters) and
//! `collector/collector.go` (the collector table, scrape duration and success).

#![deny(unsafe_code)]

pub mod collector;
pub mod error;
pub mod options;
pub mod registry;
pub mod server;
pub mod sys;

pub use error::{CollectorError, Error};
pub use options::{Options, Paths};
pub use registry::{NodeCollector, all_collector_names};
pub use server::run;
