//! Label sets: sorted, immutable, cheap to clone and to hash.
//!
//! A [`Labels`] keeps all its names and values in one shared buffer (length-prefixed pairs,
//! sorted by name), so a clone is a reference-count increment and a series costs one
//! allocation, however many labels it has.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The label that holds the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One label: a borrowed name/value pair.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Label<'a> {
    /// The label name.
    pub name: &'a str,
    /// The label value.
    pub value: &'a str,
}

/// An immutable, sorted set of labels with unique names.
#[derive(Clone, Default)]
pub struct Labels {
    /// Pairs as `varint(len) name varint(len) value`, sorted by name; valid UTF-8 between
    /// the length prefixes.
    data: Arc<[u8]>,
}

impl Labels {
    /// The empty label set.
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// Builds a label set from name/value pairs, in any order. A later duplicate name replaces
    /// an earlier one.
    pub fn from_pairs<N, V, I>(pairs: I) -> Self
    where
        N: AsRef<str>,
        V: AsRef<str>,
        I: IntoIterator<Item = (N, V)>,
    {
        let mut v: Vec<(N, V)> = pairs.into_iter().collect();
        v.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        // Keep the last of equal names: dedup keeps the first, so reverse runs first.
        let mut out: Vec<(&str, &str)> = Vec::with_capacity(v.len());
        for (n, val) in &v {
            match out.last_mut() {
                Some(last) if last.0 == n.as_ref() => last.1 = val.as_ref(),
                _ => out.push((n.as_ref(), val.as_ref())),
            }
        }
        Self::from_sorted(out)
    }

    /// Builds a label set from pairs already sorted by name with unique names.
    pub fn from_sorted<'a, I: IntoIterator<Item = (&'a str, &'a str)>>(pairs: I) -> Self {
        let mut buf = Vec::new();
        for (n, v) in pairs {
            debug_assert!(!n.is_empty(), "empty label name");
            put_str(&mut buf, n);
            put_str(&mut buf, v);
        }
        Self { data: buf.into() }
    }

    /// [`Labels::from_sorted`] for pairs in a slice: the buffer is sized exactly up front
    /// (one allocation for the bytes instead of one per doubling), for readers that build a
    /// label set per series read, like the block index reader.
    #[must_use]
    pub fn from_sorted_slice(pairs: &[(&str, &str)]) -> Self {
        let len = pairs
            .iter()
            .map(|(n, v)| uvarint_len(n.len()) + n.len() + uvarint_len(v.len()) + v.len())
            .sum();
        let mut buf = Vec::with_capacity(len);
        for (n, v) in pairs {
            debug_assert!(!n.is_empty(), "empty label name");
            put_str(&mut buf, n);
            put_str(&mut buf, v);
        }
        debug_assert_eq!(buf.len(), len);
        Self { data: buf.into() }
    }

    /// Iterates the labels in name order.
    #[must_use]
    pub fn iter(&self) -> Iter<'_> {
        Iter { rest: &self.data }
    }

    /// Number of labels.
    #[must_use]
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the set has no labels.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The value of label `name`, if present.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        for l in self.iter() {
            match l.name.cmp(name) {
                Ordering::Less => {}
                Ordering::Equal => return Some(l.value),
                Ordering::Greater => return None,
            }
        }
        None
    }

    /// Whether label `name` is present.
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The metric name (`__name__`), if present.
    #[must_use]
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// A 64-bit xxh3 hash of the whole set; equal sets hash equally.
    #[must_use]
    pub fn hash64(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&self.data)
    }

    /// Hash of only the labels named in `names` (which need not be sorted).
    #[must_use]
    pub fn hash_for_labels(&self, names: &[impl AsRef<str>]) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in self
            .iter()
            .filter(|l| names.iter().any(|n| n.as_ref() == l.name))
        {
            h.update(l.name.as_bytes());
            h.update(&[0xff]);
            h.update(l.value.as_bytes());
            h.update(&[0xff]);
        }
        h.digest()
    }

    /// Hash of all labels except `__name__` and those named in `names`.
    #[must_use]
    pub fn hash_without_labels(&self, names: &[impl AsRef<str>]) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in self
            .iter()
            .filter(|l| l.name != METRIC_NAME && !names.iter().any(|n| n.as_ref() == l.name))
        {
            h.update(l.name.as_bytes());
            h.update(&[0xff]);
            h.update(l.value.as_bytes());
            h.update(&[0xff]);
        }
        h.digest()
    }

    /// A copy without the metric name.
    #[must_use]
    pub fn without_metric_name(&self) -> Self {
        if !self.has(METRIC_NAME) {
            return self.clone();
        }
        Self::from_sorted(
            self.iter()
                .filter(|l| l.name != METRIC_NAME)
                .map(|l| (l.name, l.value)),
        )
    }

    /// A builder starting from this set.
    #[must_use]
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder::new(self)
    }

    /// Size of the shared buffer in bytes (for memory accounting).
    #[must_use]
    pub fn byte_size(&self) -> usize {
        self.data.len()
    }

    /// The address of the shared buffer: the same for a set and its clones, so a cache that
    /// keeps a clone alive may key on it without reading the labels.
    #[must_use]
    pub fn buffer_id(&self) -> usize {
        self.data.as_ptr() as usize
    }
}

/// Bytes of `n` as a uvarint (as [`put_str`] writes a length).
fn uvarint_len(n: usize) -> usize {
    (usize::BITS - (n | 1).leading_zeros()).div_ceil(7) as usize
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    let mut n = s.len();
    while n >= 0x80 {
        buf.push((n as u8) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
    buf.extend_from_slice(s.as_bytes());
}

/// Iterator over the labels of a [`Labels`], in name order.
#[derive(Clone)]
pub struct Iter<'a> {
    rest: &'a [u8],
}

impl<'a> Iter<'a> {
    fn take_str(&mut self) -> &'a str {
        let mut len = 0usize;
        let mut shift = 0;
        let mut i = 0;
        loop {
            let b = self.rest[i];
            i += 1;
            len |= usize::from(b & 0x7f) << shift;
            if b < 0x80 {
                break;
            }
            shift += 7;
        }
        let bytes = &self.rest[i..i + len];
        self.rest = &self.rest[i + len..];
        // SAFETY: the buffer is built only by `put_str` from `&str` values, and the length
        // prefix read here is the one written before exactly those bytes, so `bytes` is one
        // whole string that was valid UTF-8. Label iteration is the hottest path of matching
        // and hashing, which is why the check is skipped.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = Label<'a>;

    fn next(&mut self) -> Option<Label<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let name = self.take_str();
        let value = self.take_str();
        Some(Label { name, value })
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = Label<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl PartialEq for Labels {
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}

impl Eq for Labels {}

impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash64());
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Labels {
    /// Prometheus's order: pairwise by name, then value; a prefix sorts first.
    ///
    /// The pairs in the buffers' common byte prefix are equal (both are read the same way
    /// from the same bytes), so the pairwise comparison starts at the pair holding the first
    /// differing byte: sorting series that share a metric name and most labels compares the
    /// bytes once instead of decoding and comparing every leading pair.
    fn cmp(&self, other: &Self) -> Ordering {
        // Label sets sharing a buffer (a series read from several blocks) are equal.
        if Arc::ptr_eq(&self.data, &other.data) {
            return Ordering::Equal;
        }
        let (a, b) = (&self.data[..], &other.data[..]);
        let common = common_prefix(a, b);
        if common == a.len() && common == b.len() {
            return Ordering::Equal;
        }
        // The start of the pair of `a` holding byte `common` (`a.len()` when `a` ends first);
        // the pairs before it end at the same offsets in `b`.
        let mut it = Iter { rest: a };
        let mut start = 0;
        while !it.rest.is_empty() {
            it.next();
            let end = a.len() - it.rest.len();
            if end > common {
                break;
            }
            start = end;
        }
        Iter { rest: &a[start..] }.cmp(Iter { rest: &b[start..] })
    }
}

/// The length of the longest common prefix of `a` and `b`, compared eight bytes at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().expect("eight bytes"));
        let y = u64::from_le_bytes(b[i..i + 8].try_into().expect("eight bytes"));
        if x != y {
            return i + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Writes a Go-style double-quoted string (the escaping of Prometheus's `Labels.String`).
pub fn write_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c if c.is_control() => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

impl fmt::Display for Labels {
    /// `{a="1", b="2"}`, as Prometheus prints a label set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if is_valid_legacy_label_name(l.name) {
                f.write_str(l.name)?;
            } else {
                write_quoted(f, l.name)?;
            }
            f.write_str("=")?;
            write_quoted(f, l.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Builds a new [`Labels`] from a base set by setting and deleting labels. Setting an empty
/// value deletes the label, as in Prometheus.
#[derive(Debug, Clone, Default)]
pub struct LabelsBuilder {
    pairs: Vec<(String, String)>,
}

impl LabelsBuilder {
    /// A builder holding the labels of `base`.
    #[must_use]
    pub fn new(base: &Labels) -> Self {
        Self {
            pairs: base
                .iter()
                .map(|l| (l.name.to_owned(), l.value.to_owned()))
                .collect(),
        }
    }

    /// Sets `name` to `value`; an empty value deletes the label.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        if value.is_empty() {
            return self.del(name);
        }
        match self.pairs.binary_search_by(|p| p.0.as_str().cmp(name)) {
            Ok(i) => value.clone_into(&mut self.pairs[i].1),
            Err(i) => self.pairs.insert(i, (name.to_owned(), value.to_owned())),
        }
        self
    }

    /// Removes label `name`.
    pub fn del(&mut self, name: &str) -> &mut Self {
        if let Ok(i) = self.pairs.binary_search_by(|p| p.0.as_str().cmp(name)) {
            self.pairs.remove(i);
        }
        self
    }

    /// Keeps only the labels for which `keep(name)` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) -> &mut Self {
        self.pairs.retain(|p| keep(&p.0));
        self
    }

    /// The current value of `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .binary_search_by(|p| p.0.as_str().cmp(name))
            .ok()
            .map(|i| self.pairs[i].1.as_str())
    }

    /// The label set built so far.
    #[must_use]
    pub fn labels(&self) -> Labels {
        Labels::from_sorted(self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    }
}

/// Whether `name` is a valid metric name in the legacy (pre-UTF-8) character set
/// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
#[must_use]
pub fn is_valid_legacy_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b':'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b':'))
}

/// Whether `name` is a valid label name in the legacy character set `[a-zA-Z_][a-zA-Z0-9_]*`.
#[must_use]
pub fn is_valid_legacy_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_'))
}

/// Whether `name` is a valid label or metric name under Prometheus 3's UTF-8 validation:
/// any non-empty UTF-8 string (Rust strings are always UTF-8).
#[must_use]
pub fn is_valid_utf8_name(name: &str) -> bool {
    !name.is_empty()
}

/// Builds a [`Labels`] from `name => value` pairs: `labels!("job" => "node", "instance" => "a")`.
#[macro_export]
macro_rules! labels {
    ($($name:expr => $value:expr),* $(,)?) => {
        $crate::Labels::from_pairs([$(($name, $value)),*])
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_sorted_slice_builds_what_from_sorted_builds() {
        for len in [0, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
            let long = "v".repeat(len);
            let pairs = [("__name__", "up"), ("a", long.as_str()), ("b", "")];
            let a = Labels::from_sorted_slice(&pairs);
            assert_eq!(a, Labels::from_sorted(pairs));
            assert_eq!(a.get("a"), Some(long.as_str()));
        }
        assert_eq!(Labels::from_sorted_slice(&[]), Labels::empty());
    }

    #[test]
    fn sorted_and_deduplicated() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("b", "3")]);
        let got: Vec<_> = l.iter().map(|l| (l.name, l.value)).collect();
        assert_eq!(got, [("a", "1"), ("b", "3")]);
        assert_eq!(l.get("b"), Some("3"));
        assert_eq!(l.get("c"), None);
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn long_values_round_trip() {
        let long = "x".repeat(70_000);
        let l = labels!("__name__" => "up", "long" => long.as_str());
        assert_eq!(l.get("long"), Some(long.as_str()));
        assert_eq!(l.metric_name(), Some("up"));
    }

    #[test]
    fn order_is_pairwise_over_many_shapes() {
        // Sets sharing prefixes of every length, values that are prefixes of each other,
        // names that sort differently from their encodings, long (two-byte varint) strings.
        let long = "v".repeat(200);
        let names = ["a", "ab", "b", "__name__", "job", "jobs", "x"];
        let values = [
            "",
            "1",
            "10",
            "2",
            "host-1",
            "host-10",
            "host-2",
            long.as_str(),
        ];
        let mut sets = vec![Labels::empty()];
        let mut seed = 7u64;
        for _ in 0..400 {
            let mut pairs = Vec::new();
            for n in names {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                if seed >> 62 != 0 {
                    pairs.push((n, values[(seed >> 40) as usize % values.len()]));
                }
            }
            sets.push(Labels::from_pairs(pairs));
        }
        for a in &sets {
            for b in &sets {
                assert_eq!(a.cmp(b), a.iter().cmp(b.iter()), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn equality_order_and_hash() {
        let a = labels!("a" => "1", "b" => "2");
        let b = labels!("b" => "2", "a" => "1");
        assert_eq!(a, b);
        assert_eq!(a.hash64(), b.hash64());
        let c = labels!("a" => "1");
        assert!(c < a, "a prefix sorts first");
        assert!(labels!("a" => "2") > a);
        assert_ne!(a.hash64(), c.hash64());
    }

    #[test]
    fn display_quotes_like_prometheus() {
        let l = labels!("__name__" => "up", "path" => "a\"b\\c\n", "foo.bar" => "x");
        assert_eq!(
            l.to_string(),
            r#"{__name__="up", "foo.bar"="x", path="a\"b\\c\n"}"#
        );
    }

    #[test]
    fn builder_sets_and_deletes() {
        let base = labels!("a" => "1", "b" => "2");
        let mut b = base.builder();
        b.set("c", "3").set("a", "").set("b", "9");
        assert_eq!(b.labels(), labels!("b" => "9", "c" => "3"));
    }

    #[test]
    fn hash_without_ignores_name() {
        let a = labels!("__name__" => "x", "job" => "a", "i" => "1");
        let b = labels!("__name__" => "y", "job" => "a", "i" => "2");
        assert_eq!(a.hash_without_labels(&["i"]), b.hash_without_labels(&["i"]));
        assert_eq!(a.hash_for_labels(&["job"]), b.hash_for_labels(&["job"]));
        assert_ne!(a.hash_for_labels(&["i"]), b.hash_for_labels(&["i"]));
    }

    #[test]
    fn legacy_names() {
        assert!(is_valid_legacy_metric_name("node_cpu:rate5m"));
        assert!(!is_valid_legacy_metric_name("1abc"));
        assert!(!is_valid_legacy_label_name("a:b"));
        assert!(is_valid_legacy_label_name("_a1"));
        assert!(!is_valid_legacy_label_name(""));
    }
}
