//! Label and annotation pairs as notifications carry them (Alertmanager's `template.KV`):
//! sorted by name, names unique, in one exact-size vector. A notification copies the labels
//! and annotations of each of its alerts; a vector of pairs takes one allocation per set
//! where a B-tree map takes a node sized for eleven pairs (a flush of a thousand groups holds
//! tens of thousands of these at once).

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

/// Pairs sorted by name; the map operations the integrations and templates need.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Kv(Vec<(String, String)>);

impl Kv {
    /// No pairs.
    #[must_use]
    pub fn new() -> Self {
        Self(Vec::new())
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }

    /// The value of `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&String> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    /// Whether `name` is set.
    #[must_use]
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets `name` to `value`; returns the value it replaced.
    pub fn insert(&mut self, name: String, value: String) -> Option<String> {
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (name, value));
                None
            }
        }
    }

    /// Removes `name`; returns its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.find(name).ok().map(|i| self.0.remove(i).1)
    }

    /// Keeps the pairs `f` accepts.
    pub fn retain(&mut self, mut f: impl FnMut(&String, &String) -> bool) {
        self.0.retain(|(n, v)| f(n, v));
    }

    /// The pairs in name order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &String)> + ExactSizeIterator {
        self.0.iter().map(|(n, v)| (n, v))
    }

    /// The names in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.0.iter().map(|(n, _)| n)
    }

    /// The values in name order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }

    /// How many pairs.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Pairs already sorted by name with unique names, taken as they are (a caller's own
    /// sorted set); `None` when they are not.
    #[must_use]
    pub fn from_sorted(pairs: Vec<(String, String)>) -> Option<Self> {
        pairs
            .windows(2)
            .all(|w| w[0].0 < w[1].0)
            .then_some(Self(pairs))
    }
}

impl std::fmt::Debug for Kv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl FromIterator<(String, String)> for Kv {
    /// Sorted by name; of repeated names the last value wins (as a map collects).
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut v: Vec<(String, String)> = iter.into_iter().collect();
        // Stable: equal names keep their order, and the last of them is kept.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, String)> = Vec::with_capacity(v.len());
        for (n, val) in v {
            match out.last_mut() {
                Some(last) if last.0 == n => last.1 = val,
                _ => out.push((n, val)),
            }
        }
        Self(out)
    }
}

impl<'a> IntoIterator for &'a Kv {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(n, v)| (n, v))
    }
}

impl IntoIterator for Kv {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl From<BTreeMap<String, String>> for Kv {
    fn from(m: BTreeMap<String, String>) -> Self {
        Self(m.into_iter().collect())
    }
}

impl<const N: usize> From<[(String, String); N]> for Kv {
    fn from(pairs: [(String, String); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl From<Kv> for BTreeMap<String, String> {
    fn from(kv: Kv) -> Self {
        kv.0.into_iter().collect()
    }
}

impl std::ops::Index<&str> for Kv {
    type Output = String;
    fn index(&self, name: &str) -> &String {
        self.get(name)
            .unwrap_or_else(|| panic!("no pair named {name:?}"))
    }
}

impl Serialize for Kv {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_sorted_map() {
        let mut kv: Kv = [("b", "2"), ("a", "1"), ("b", "3")]
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(kv.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            kv.get("b").map(String::as_str),
            Some("3"),
            "last value wins"
        );
        assert_eq!(kv.insert("c".into(), "4".into()), None);
        assert_eq!(kv.insert("a".into(), "0".into()).as_deref(), Some("1"));
        assert_eq!(kv.remove("b").as_deref(), Some("3"));
        kv.retain(|n, _| n != "c");
        assert_eq!(serde_json::to_string(&kv).unwrap(), r#"{"a":"0"}"#);
        let sorted = vec![
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ];
        assert!(Kv::from_sorted(sorted.clone()).is_some());
        assert!(Kv::from_sorted(sorted.into_iter().rev().collect()).is_none());
        assert_eq!(
            format!("{kv:?}"),
            format!("{:?}", BTreeMap::from([("a".to_owned(), "0".to_owned())]))
        );
    }
}
