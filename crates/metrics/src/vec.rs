//! The children of one registered family, keyed by label values (client_golang's
//! `metricVec`/`metricMap`): looked up without allocating, created on first use.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use hashbrown::{Equivalent, HashMap};
use model::exposition::FamilySample;
use parking_lot::RwLock;

/// What every metric kind does when gathered: append its samples.
pub(crate) trait Child: Clone + Send + Sync + 'static {
    /// Appends this child's samples; `labels` are its sorted label pairs without the name.
    fn write(&self, name: &str, labels: &[(&str, &str)], out: &mut Vec<FamilySample>);
}

/// A borrowed key (`&[&str]`) that finds an owned one (`Vec<String>`) in the map.
struct Borrowed<'a>(&'a [&'a str]);

impl Hash for Borrowed<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // `[&str]` and `[String]` hash alike: the length, then each string.
        self.0.hash(state);
    }
}

impl Equivalent<Vec<String>> for Borrowed<'_> {
    fn equivalent(&self, key: &Vec<String>) -> bool {
        self.0.len() == key.len() && self.0.iter().zip(key).all(|(a, b)| *a == b)
    }
}

type Hasher64 = foldhash::fast::FixedState;

/// The children of one family.
pub(crate) struct Children<M> {
    /// The family's name.
    pub(crate) name: String,
    /// Variable label names, in the order `with_label_values` takes values.
    pub(crate) label_names: Vec<String>,
    /// Constant labels of the metric (sorted by name).
    pub(crate) const_labels: Vec<(String, String)>,
    map: RwLock<HashMap<Vec<String>, M, Hasher64>>,
    make: Box<dyn Fn() -> M + Send + Sync>,
}

impl<M: Clone> Children<M> {
    /// An empty set of children made by `make`.
    pub(crate) fn new(
        name: &str,
        label_names: &[&str],
        const_labels: Vec<(String, String)>,
        make: impl Fn() -> M + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.to_owned(),
            label_names: label_names.iter().map(|&s| s.to_owned()).collect(),
            const_labels,
            map: RwLock::new(HashMap::with_hasher(Hasher64::default())),
            make: Box::new(make),
        }
    }

    fn check(&self, values: &[&str]) {
        assert!(
            values.len() == self.label_names.len(),
            "metric {}: {} label values given for {} label names {:?}",
            self.name,
            values.len(),
            self.label_names.len(),
            self.label_names
        );
    }

    /// The child for `values`, created (at zero) when it does not exist yet.
    ///
    /// # Panics
    /// When the number of values differs from the number of label names.
    pub(crate) fn get_or_create(&self, values: &[&str]) -> M {
        self.check(values);
        if let Some(m) = self.map.read().get(&Borrowed(values)) {
            return m.clone();
        }
        let mut map = self.map.write();
        map.entry(values.iter().map(|&s| s.to_owned()).collect())
            .or_insert_with(|| (self.make)())
            .clone()
    }

    /// Removes the child for `values`; whether it existed.
    ///
    /// # Panics
    /// When the number of values differs from the number of label names.
    pub(crate) fn remove(&self, values: &[&str]) -> bool {
        self.check(values);
        self.map.write().remove(&Borrowed(values)).is_some()
    }

    /// Removes every child.
    pub(crate) fn reset(&self) {
        self.map.write().clear();
    }
}

impl<M: Child> Children<M> {
    /// Appends the samples of every child, children ordered by their label values in label
    /// name order (as client_golang's `Gather` sorts them).
    pub(crate) fn write(&self, out: &mut Vec<FamilySample>) {
        // Label names sorted, with where each one's value comes from.
        let mut names: Vec<(&str, Option<usize>, &str)> = self
            .label_names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), Some(i), ""))
            .chain(
                self.const_labels
                    .iter()
                    .map(|(n, v)| (n.as_str(), None, v.as_str())),
            )
            .collect();
        names.sort_by(|a, b| a.0.cmp(b.0));
        let mut children: Vec<(Vec<&str>, M)> = Vec::new();
        let map = self.map.read();
        for (values, m) in map.iter() {
            let sorted = names
                .iter()
                .map(|(_, i, v)| i.map_or(*v, |i| values[i].as_str()))
                .collect();
            children.push((sorted, m.clone()));
        }
        children.sort_by(|a, b| a.0.cmp(&b.0));
        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(names.len());
        for (values, m) in &children {
            pairs.clear();
            pairs.extend(names.iter().zip(values).map(|((n, _, _), v)| (*n, *v)));
            m.write(&self.name, &pairs, out);
        }
    }
}

/// Metrics of one kind partitioned by label values (client_golang's `CounterVec`,
/// `GaugeVec`...): [`CounterVec`](crate::CounterVec), [`GaugeVec`](crate::GaugeVec),
/// [`HistogramVec`](crate::HistogramVec) and [`SummaryVec`](crate::SummaryVec) are this type.
/// Clones share the children.
pub struct MetricVec<M> {
    pub(crate) children: Arc<Children<M>>,
}

impl<M> Clone for MetricVec<M> {
    fn clone(&self) -> Self {
        Self {
            children: self.children.clone(),
        }
    }
}

impl<M: Clone> MetricVec<M> {
    /// The metric for `values` (one per label name, in the registered order), created at
    /// zero (or empty) on first use. Keep the handle on hot paths instead of looking it up
    /// each time.
    ///
    /// # Panics
    /// When the number of values differs from the number of label names.
    pub fn with_label_values(&self, values: &[&str]) -> M {
        self.children.get_or_create(values)
    }

    /// Removes the metric for `values`; whether it existed.
    ///
    /// # Panics
    /// When the number of values differs from the number of label names.
    pub fn remove_label_values(&self, values: &[&str]) -> bool {
        self.children.remove(values)
    }

    /// Removes every child.
    pub fn reset(&self) {
        self.children.reset();
    }
}

impl<M> std::fmt::Debug for MetricVec<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `CounterVec`, `GaugeVec`...: the kind's type name without its path.
        let kind = std::any::type_name::<M>()
            .rsplit("::")
            .next()
            .unwrap_or("Metric");
        f.debug_struct(&format!("{kind}Vec"))
            .field("name", &self.children.name)
            .field("labels", &self.children.label_names)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_keys_hash_as_owned_ones() {
        use std::hash::BuildHasher;
        let s = Hasher64::default();
        let owned = vec!["a".to_owned(), "bc".to_owned()];
        assert_eq!(s.hash_one(&owned), s.hash_one(Borrowed(&["a", "bc"])));
        assert!(Borrowed(&["a", "bc"]).equivalent(&owned));
        assert!(!Borrowed(&["ab", "c"]).equivalent(&owned));
    }

    #[test]
    fn every_kind_of_vector_shares_children_and_names_itself() {
        let r = crate::Registry::new();
        let c = r.counter_vec("c_total", "c", &["a"]);
        c.clone().with_label_values(&["x"]).inc();
        assert!((c.with_label_values(&["x"]).get() - 1.0).abs() < f64::EPSILON);
        assert!(format!("{c:?}").starts_with("CounterVec { name: \"c_total\""));
        let g = r.gauge_vec("g", "g", &["a"]);
        assert!(format!("{g:?}").starts_with("GaugeVec "));
        g.with_label_values(&["y"]).set(2.0);
        assert!(g.remove_label_values(&["y"]));
        assert!(!g.remove_label_values(&["y"]));
    }
}
