//! Prometheus configuration: `prometheus.yml` and rule files, with defaults and validation.
