//! Label and annotation pairs (Alertmanager's `model.LabelSet` and `template.KV`): sorted by
//! name, names unique, in one shared exact-size allocation. The alertmanager crate stores
//! each alert's labels and annotations as a `Kv` and a notification carries the same ones:
//! cloning a `Kv` shares its pairs instead of copying them (a flush of a thousand groups puts
//! every stored alert's labels and annotations into a notification at once).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Pairs sorted by name, shared by its clones; the map operations the store, the routes, the
/// integrations and the templates need. A change to a shared set copies it first.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kv(Arc<[(String, String)]>);

impl Kv {
    /// No pairs.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }

    /// The pairs as an owned vector: moved out when this is the only holder, else copied.
    fn take_vec(&mut self) -> Vec<(String, String)> {
        match Arc::get_mut(&mut self.0) {
            Some(pairs) => pairs.iter_mut().map(std::mem::take).collect(),
            None => self.0.to_vec(),
        }
    }

    /// Applies `f` to the pairs as a vector (kept sorted and unique by `f`).
    fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<(String, String)>) -> R) -> R {
        let mut v = self.take_vec();
        let r = f(&mut v);
        self.0 = v.into();
        r
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
        let at = self.find(&name);
        self.edit(|v| match at {
            Ok(i) => Some(std::mem::replace(&mut v[i].1, value)),
            Err(i) => {
                v.insert(i, (name, value));
                None
            }
        })
    }

    /// Removes `name`; returns its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.find(name).ok()?;
        self.edit(|v| Some(v.remove(i).1))
    }

    /// Keeps the pairs `f` accepts.
    pub fn retain(&mut self, mut f: impl FnMut(&String, &String) -> bool) {
        let keep: Vec<bool> = self.0.iter().map(|(n, v)| f(n, v)).collect();
        if keep.iter().all(|k| *k) {
            return;
        }
        self.edit(|v| {
            let mut keep = keep.into_iter();
            v.retain(|_| keep.next().unwrap_or(true));
        });
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

    /// Whether `self` and `other` share their pairs (one is a clone of the other).
    #[must_use]
    pub fn shares_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Pairs already sorted by name with unique names, taken as they are (a caller's own
    /// sorted set); `None` when they are not.
    #[must_use]
    pub fn from_sorted(pairs: Vec<(String, String)>) -> Option<Self> {
        pairs
            .windows(2)
            .all(|w| w[0].0 < w[1].0)
            .then(|| Self(pairs.into()))
    }

    /// A set from pairs in any order; of repeated names the last value wins. Pairs already
    /// sorted with unique names (what Prometheus sends: Go writes map keys sorted) are
    /// taken without sorting.
    fn from_pairs(mut v: Vec<(String, String)>) -> Self {
        if !v.windows(2).all(|w| w[0].0 < w[1].0) {
            // Stable: equal names keep their order, and the last of them is kept.
            v.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out: Vec<(String, String)> = Vec::with_capacity(v.len());
            for (n, val) in v {
                match out.last_mut() {
                    Some(last) if last.0 == n => last.1 = val,
                    _ => out.push((n, val)),
                }
            }
            v = out;
        }
        Self(v.into())
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
        Self::from_pairs(iter.into_iter().collect())
    }
}

impl Extend<(String, String)> for Kv {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, iter: I) {
        let mut v = self.take_vec();
        v.extend(iter);
        *self = Self::from_pairs(v);
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
    fn into_iter(mut self) -> Self::IntoIter {
        self.take_vec().into_iter()
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
        kv.into_iter().collect()
    }
}

impl From<&Kv> for BTreeMap<String, String> {
    fn from(kv: &Kv) -> Self {
        kv.iter().map(|(n, v)| (n.clone(), v.clone())).collect()
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

impl<'de> Deserialize<'de> for Kv {
    /// A JSON object of names to values; of repeated names the last value wins.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Kv;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of label names to values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Kv, A::Error> {
                let mut v: Vec<(String, String)> = Vec::with_capacity(m.size_hint().unwrap_or(8));
                while let Some(pair) = m.next_entry::<String, String>()? {
                    v.push(pair);
                }
                Ok(Kv::from_pairs(v))
            }
        }
        d.deserialize_map(V)
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
        let back: Kv = serde_json::from_str(r#"{"z":"1","a":"2","z":"3"}"#).unwrap();
        assert_eq!(
            back.iter().collect::<Vec<_>>(),
            [
                (&"a".to_owned(), &"2".to_owned()),
                (&"z".to_owned(), &"3".to_owned())
            ]
        );
    }

    #[test]
    fn clones_share_their_pairs_until_one_changes() {
        let a: Kv = [("a".to_owned(), "1".to_owned())].into();
        let mut b = a.clone();
        assert!(b.shares_with(&a), "a clone copies no pair");
        b.insert("b".into(), "2".into());
        assert!(!b.shares_with(&a));
        assert_eq!(a.len(), 1, "the original is unchanged");
        assert_eq!(b.len(), 2);
        let mut c = b.clone();
        c.retain(|_, _| true);
        assert!(c.shares_with(&b), "a retain that keeps all copies nothing");
    }
}
