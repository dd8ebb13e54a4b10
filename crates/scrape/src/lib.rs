//! Scraping: a pool of targets per job, one loop per target that fetches the exposition,
//! relabels and appends its samples, writes the `up` and scrape meta series, and marks
//! vanished series stale.
//!
//! The [`Manager`] takes scrape configurations and target groups from discovery; loops see
//! only a [`storage::Appendable`].

pub mod error;
pub mod http;
pub mod manager;
pub mod metadata;
pub mod metrics;
pub mod scrape_loop;
pub mod target;

pub use crate::metrics::ScrapeMetrics;
pub use error::ScrapeError;
pub use manager::{Manager, TargetMetadata, TargetStatus};
pub use metadata::MetricMetadata;
pub use target::{Health, Target};
