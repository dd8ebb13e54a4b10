//! Families being built: declared up front (kube-state-metrics writes `# HELP` / `# TYPE`
//! even for families without series), filled by name, written in name order.

use std::collections::BTreeMap;

use model::exposition::{FamilySample, MetricFamily, MetricType};
use model::labels::Labels;

/// Families by name.
#[derive(Default)]
pub struct Out {
    by_name: BTreeMap<&'static str, MetricFamily>,
}

impl Out {
    /// An `Out` with these families declared: `(name, help, type)`.
    #[must_use]
    pub fn declared(families: &[(&'static str, &str, MetricType)]) -> Self {
        let mut out = Self::default();
        for &(name, help, t) in families {
            out.declare(name, help, t);
        }
        out
    }

    /// Declares a family.
    pub fn declare(&mut self, name: &'static str, help: &str, metric_type: MetricType) {
        self.by_name.insert(
            name,
            MetricFamily {
                help: Some(help.to_owned()),
                ..MetricFamily::new(name, metric_type)
            },
        );
    }

    /// Adds a series to a declared family.
    ///
    /// # Panics
    /// The family was not declared (a programming error).
    pub fn add(&mut self, name: &'static str, labels: &[(&str, &str)], value: f64) {
        let fam = self.by_name.get_mut(name).expect("declared family");
        fam.samples.push(FamilySample {
            labels: Labels::from_pairs(
                std::iter::once(("__name__", name)).chain(labels.iter().copied()),
            ),
            value,
            timestamp: None,
            exemplar: None,
        });
    }

    /// The families in name order.
    #[must_use]
    pub fn finish(self) -> Vec<MetricFamily> {
        self.by_name.into_values().collect()
    }
}
