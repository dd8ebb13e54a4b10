//! Scrape classes (`scrapeClasses` of the `Prometheus` resource, the section's) as the
//! Operator applies them to a monitor (prometheus-operator's `getScrapeClassOrDefault` and the
//! `merge...WithScrapeClass` functions of `pkg/prometheus/promcfg.go`): the monitor's
//! `scrapeClass`, else the default class; its `tlsConfig` when the endpoint has none (else
//! only its CA, certificate and key files where the endpoint sets neither), its
//! `authorization` when the endpoint has none, its `attachMetadata` when the monitor has none,
//! its `relabelings` before the endpoint's and its `metricRelabelings` before the endpoint's.

use serde::Deserialize;

use crate::endpoint::{AttachMetadata, EndpointOptions, SafeAuthorization, TlsConfig};
use crate::error::OperatorError;
use crate::relabel::RelabelConfig;

/// One scrape class.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScrapeClass {
    /// `name`.
    pub name: String,
    /// `default`: applied to monitors without a `scrapeClass`.
    #[serde(default)]
    pub default: Option<bool>,
    /// `tlsConfig`.
    pub tls_config: Option<TlsConfig>,
    /// `authorization`.
    pub authorization: Option<SafeAuthorization>,
    /// `relabelings`, after the Operator's own and before the endpoint's.
    #[serde(default)]
    pub relabelings: Vec<RelabelConfig>,
    /// `metricRelabelings`, before the endpoint's.
    #[serde(default)]
    pub metric_relabelings: Vec<RelabelConfig>,
    /// `attachMetadata`.
    pub attach_metadata: Option<AttachMetadata>,
}

/// The section's classes, parsed; a class that does not parse is left out with a log line
/// naming it (monitors that name it are then skipped).
#[must_use]
pub fn parse_scrape_classes(values: &[serde_json::Value]) -> Vec<ScrapeClass> {
    values
        .iter()
        .filter_map(|v| match serde_json::from_value(v.clone()) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(class = %v["name"], error = %e, "invalid scrape class ignored");
                None
            }
        })
        .collect()
}

/// The class a monitor gets: the one it names, else the default one, else none.
///
/// # Errors
/// The monitor names a class the section does not have (the Operator rejects it).
pub fn class_for<'a>(
    classes: &'a [ScrapeClass],
    name: Option<&str>,
) -> Result<Option<&'a ScrapeClass>, OperatorError> {
    match name.filter(|n| !n.is_empty()) {
        Some(n) => classes
            .iter()
            .find(|c| c.name == n)
            .map(Some)
            .ok_or_else(|| {
                OperatorError::Invalid(format!(
                    "scrapeClassName: scrapeClass {n:?} not found in Prometheus scrapeClasses"
                ))
            }),
        None => Ok(classes.iter().find(|c| c.default == Some(true))),
    }
}

/// `opts` with `class` applied to its TLS, authorization and metric relabelings (the
/// relabelings and attachMetadata are placed by the caller).
#[must_use]
pub fn apply(opts: &EndpointOptions, class: Option<&ScrapeClass>) -> EndpointOptions {
    let mut out = opts.clone();
    let Some(class) = class else { return out };
    out.tls_config = match (opts.tls_config.clone(), &class.tls_config) {
        (None, c) => c.clone(),
        (Some(t), None) => Some(t),
        (Some(mut t), Some(c)) => {
            if t.ca_file.is_none() && t.ca.is_none() {
                t.ca_file.clone_from(&c.ca_file);
            }
            if t.cert_file.is_none() && t.cert.is_none() {
                t.cert_file.clone_from(&c.cert_file);
            }
            if t.key_file.is_none() && t.key_secret.is_none() {
                t.key_file.clone_from(&c.key_file);
            }
            Some(t)
        }
    };
    out.authorization = match (opts.authorization.clone(), &class.authorization) {
        (None, c) => c.clone(),
        (Some(a), None) => Some(a),
        (Some(mut a), Some(c)) => {
            if a.credentials.is_none() {
                a.credentials.clone_from(&c.credentials);
            }
            if a.credentials.is_none() && a.credentials_file.is_none() {
                a.credentials_file.clone_from(&c.credentials_file);
            }
            Some(a)
        }
    };
    out.metric_relabelings = class
        .metric_relabelings
        .iter()
        .chain(&opts.metric_relabelings)
        .cloned()
        .collect();
    out
}
