//! Label sets as Alertmanager's `model.LabelSet`: a sorted map, its FNV-1a fingerprint and its
//! `{a="b", c="d"}` text (mirrors prometheus/common `model/labelset.go`, `model/signature.go`).
//!
//! A [`LabelSet`] is the notifiers crate's [`notifiers::Kv`]: one type for the stored alert's
//! labels and the notification's, so a notification shares the stored pairs instead of
//! copying them.

use std::fmt::Write as _;

/// A set of labels, sorted by name, names unique (one shared exact-size allocation).
pub type LabelSet = notifiers::Kv;

const FNV_OFFSET: u64 = 14_695_981_039_346_656_037;
const FNV_PRIME: u64 = 1_099_511_628_211;
const SEPARATOR: u8 = 0xff;

fn fnv_add(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// The fingerprint of a label set: FNV-1a 64 over the sorted names and values, each followed
/// by the separator byte 0xff (an empty set hashes to the FNV offset).
#[must_use]
pub fn fingerprint(ls: &LabelSet) -> u64 {
    let mut h = FNV_OFFSET;
    for (n, v) in ls {
        h = fnv_add(h, n.as_bytes());
        h = fnv_add(h, &[SEPARATOR]);
        h = fnv_add(h, v.as_bytes());
        h = fnv_add(h, &[SEPARATOR]);
    }
    h
}

/// A fingerprint as Alertmanager prints it: 16 lower-case hex digits.
#[must_use]
pub fn fingerprint_string(fp: u64) -> String {
    format!("{fp:016x}")
}

/// The set as Go's `LabelSet.String()` writes it: `{a="b", c="d"}` with values quoted as `%q`.
#[must_use]
pub fn label_set_string(ls: &LabelSet) -> String {
    let mut out = String::from("{");
    for (i, (n, v)) in ls.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{n}={}", config::yaml::go_quote(v));
    }
    out.push('}');
    out
}

/// Whether `s` is a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
#[must_use]
pub fn is_valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A label set from pairs (for tests).
#[cfg(test)]
pub(crate) fn ls(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn fingerprints_match_prometheus_common() {
        // Values from prometheus/common's TestLabelSetToFingerprint.
        assert_eq!(fingerprint(&ls(&[])), 14_695_981_039_346_656_037);
        assert_eq!(
            fingerprint(&ls(&[
                ("name", "garland, briggs"),
                ("fear", "love is not enough")
            ])),
            5_799_056_148_416_392_346
        );
    }

    #[test]
    fn sets_behave_as_sorted_maps() {
        let mut s: LabelSet = [("b", "2"), ("a", "1"), ("b", "3")]
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(s.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(s.get("b").map(String::as_str), Some("3"), "last value wins");
        assert_eq!(s.insert("c".into(), "4".into()), None);
        assert_eq!(s.insert("a".into(), "0".into()).as_deref(), Some("1"));
        assert_eq!(s.remove("b").as_deref(), Some("3"));
        assert!(!s.contains_key("b"));
        s.retain(|n, _| n != "c");
        assert_eq!(s.len(), 1);
        let json = serde_json::to_string(&ls(&[("z", "1"), ("a", "2")])).unwrap();
        assert_eq!(json, r#"{"a":"2","z":"1"}"#);
        let back: LabelSet = serde_json::from_str(r#"{"z":"1","a":"2","z":"3"}"#).unwrap();
        assert_eq!(back, ls(&[("a", "2"), ("z", "3")]));
        assert_eq!(
            format!("{:?}", ls(&[("a", "1")])),
            format!("{:?}", BTreeMap::from([("a".to_owned(), "1".to_owned())]))
        );
    }

    #[test]
    fn label_set_text() {
        assert_eq!(
            label_set_string(&ls(&[("b", "x\"y"), ("a", "1")])),
            r#"{a="1", b="x\"y"}"#
        );
    }
}
