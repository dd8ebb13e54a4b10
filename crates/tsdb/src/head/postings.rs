//! In-memory postings: for each label name and value, the sorted references of the series
//! carrying it, plus the list of all series; and the resolution of matchers into references.

use std::collections::{HashMap, HashSet};

use model::{Labels, MatchOp, Matcher};

/// Label name and value of the list of all series.
pub const ALL_POSTINGS_KEY: (&str, &str) = ("", "");

/// Sorted series references per label pair.
#[derive(Debug, Default)]
pub struct MemPostings {
    m: HashMap<String, HashMap<String, PostingList>>,
}

/// The sorted series references of one label pair. While they share their upper 32 bits
/// (always, until 2^32 series were created) each takes 4 bytes; a reference with other upper
/// bits widens the list to 8 bytes per reference.
#[derive(Debug, Clone)]
enum PostingList {
    /// References `high << 32 | low`.
    Narrow { high: u32, low: Vec<u32> },
    /// Full references.
    Wide(Vec<u64>),
}

impl Default for PostingList {
    fn default() -> Self {
        PostingList::Narrow {
            high: 0,
            low: Vec::new(),
        }
    }
}

impl PostingList {
    /// Adds `id` in its place.
    fn insert(&mut self, id: u64) {
        self.add_with(id, insert_sorted, insert_sorted);
    }

    /// Adds `id` at the end, out of order if it comes so (bulk loading: [`Self::sort`] after).
    fn push(&mut self, id: u64) {
        self.add_with(id, Vec::push, Vec::push);
    }

    fn add_with(&mut self, id: u64, narrow: fn(&mut Vec<u32>, u32), wide: fn(&mut Vec<u64>, u64)) {
        let id_high = (id >> 32) as u32;
        if let PostingList::Narrow { high, low } = self {
            if low.is_empty() {
                *high = id_high;
            }
            if id_high == *high {
                grow_gently(low);
                narrow(low, id as u32);
                return;
            }
            let widened = low
                .iter()
                .map(|&l| (u64::from(*high) << 32) | u64::from(l))
                .collect();
            *self = PostingList::Wide(widened);
        }
        if let PostingList::Wide(v) = self {
            grow_gently(v);
            wide(v, id);
        }
    }

    /// Sorts the references and drops repeats.
    fn sort(&mut self) {
        match self {
            PostingList::Narrow { low, .. } => {
                low.sort_unstable();
                low.dedup();
            }
            PostingList::Wide(v) => {
                v.sort_unstable();
                v.dedup();
            }
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(u64) -> bool) {
        match self {
            PostingList::Narrow { high, low } => {
                let h = u64::from(*high) << 32;
                low.retain(|&l| keep(h | u64::from(l)));
                // Removal is when lists shrink: give back what churn left unused.
                if low.capacity() > 2 * low.len() + 4 {
                    low.shrink_to_fit();
                }
            }
            PostingList::Wide(v) => {
                v.retain(|&id| keep(id));
                if v.capacity() > 2 * v.len() + 4 {
                    v.shrink_to_fit();
                }
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            PostingList::Narrow { low, .. } => low.len(),
            PostingList::Wide(v) => v.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn extend_into(&self, out: &mut Vec<u64>) {
        match self {
            PostingList::Narrow { high, low } => {
                let h = u64::from(*high) << 32;
                out.extend(low.iter().map(|&l| h | u64::from(l)));
            }
            PostingList::Wide(v) => out.extend_from_slice(v),
        }
    }

    fn to_vec(&self) -> Vec<u64> {
        let mut out = Vec::with_capacity(self.len());
        self.extend_into(&mut out);
        out
    }
}

/// Whether a hash table that lost `removed` entries at once, keeping `len`, is worth
/// shrinking (`shrink_to_fit`, which reallocates only when it halves the buckets or more):
/// when at least a fifth of its entries went (a deploy that replaced every series removes
/// half). Churn of a small part of the series never reallocates the tables. (`capacity()`
/// cannot tell: it does not count the slots removed entries leave marked.)
pub(crate) fn worth_shrinking(removed: usize, len: usize) -> bool {
    removed > 0 && removed * 4 >= len
}

/// Makes room for one more reference in a full list: an eighth of its length (at least 4)
/// rather than doubling, so the head's postings hold ~6% unused room on average instead of
/// ~25-50%. Lists only grow when series are created; the few reallocations of a large list
/// are a small cost there.
fn grow_gently<T>(list: &mut Vec<T>) {
    if list.len() == list.capacity() {
        list.reserve_exact((list.len() / 8).max(4));
    }
}

fn insert_sorted<T: Ord + Copy>(list: &mut Vec<T>, id: T) {
    match list.last() {
        Some(&last) if last > id => {
            if let Err(i) = list.binary_search(&id) {
                list.insert(i, id);
            }
        }
        Some(&last) if last == id => {}
        _ => list.push(id),
    }
}

/// The smallest `limit` (all when `None`) of `keys`, sorted and copied: a partial selection,
/// so a small limit over many keys neither sorts nor copies them all.
fn first_sorted<'a>(keys: impl Iterator<Item = &'a String>, limit: Option<usize>) -> Vec<String> {
    let mut v: Vec<&str> = keys.map(String::as_str).collect();
    if let Some(limit) = limit.filter(|&l| l < v.len()) {
        if limit == 0 {
            return Vec::new();
        }
        v.select_nth_unstable(limit - 1);
        v.truncate(limit);
    }
    v.sort_unstable();
    v.into_iter().map(str::to_owned).collect()
}

impl MemPostings {
    /// Adds series `id` with `labels`.
    pub fn add(&mut self, id: u64, labels: &Labels) {
        self.add_with(id, labels, PostingList::insert);
    }

    /// [`Self::add`] without keeping the lists sorted, for series created out of reference
    /// order (a chunk snapshot lists them by hash stripe): each one is an append where a
    /// sorted insert would move the list's tail. [`Self::ensure_order`] must follow before
    /// the postings are read or added to in order.
    pub fn add_unordered(&mut self, id: u64, labels: &Labels) {
        self.add_with(id, labels, PostingList::push);
    }

    /// Appends `ids` to the list of `name`=`value` as [`Self::add_unordered`] does (the list
    /// of all series is `("", "")`): loading many series, their pairs can be grouped first and
    /// each list looked up once per group instead of once per series.
    pub fn extend_unordered(&mut self, name: &str, value: &str, ids: &[u64]) {
        let values = match self.m.get_mut(name) {
            Some(v) => v,
            None => self.m.entry(name.to_owned()).or_default(),
        };
        let list = match values.get_mut(value) {
            Some(list) => list,
            None => values.entry(value.to_owned()).or_default(),
        };
        for &id in ids {
            list.push(id);
        }
    }

    /// Sorts every list after [`Self::add_unordered`].
    pub fn ensure_order(&mut self) {
        for list in self.m.values_mut().flat_map(HashMap::values_mut) {
            list.sort();
        }
    }

    fn add_with(&mut self, id: u64, labels: &Labels, add: fn(&mut PostingList, u64)) {
        for l in labels {
            let values = match self.m.get_mut(l.name) {
                Some(v) => v,
                None => self.m.entry(l.name.to_owned()).or_default(),
            };
            let list = match values.get_mut(l.value) {
                Some(list) => list,
                None => values.entry(l.value.to_owned()).or_default(),
            };
            add(list, id);
        }
        let all = self
            .m
            .entry(String::new())
            .or_default()
            .entry(String::new())
            .or_default();
        add(all, id);
    }

    /// Removes the series in `ids` (sorted), which carried the label sets `removed`. Each list
    /// they were in is filtered once, however many of them it held: a list per removed series
    /// made a head truncation after churn quadratic (every removed series filtered the list of
    /// all series again).
    pub fn delete<'a>(&mut self, ids: &[u64], removed: impl IntoIterator<Item = &'a Labels>) {
        let mut values_removed: HashMap<&str, usize> = HashMap::new();
        let mut pairs: HashSet<(&str, &str)> = HashSet::new();
        pairs.insert(ALL_POSTINGS_KEY);
        for labels in removed {
            pairs.extend(labels.iter().map(|l| (l.name, l.value)));
        }
        for (name, value) in pairs {
            if let Some(values) = self.m.get_mut(name) {
                if let Some(list) = values.get_mut(value) {
                    list.retain(|id| ids.binary_search(&id).is_err());
                    if list.is_empty() {
                        values.remove(value);
                        *values_removed.entry(name).or_default() += 1;
                    }
                }
                if values.is_empty() {
                    self.m.remove(name);
                }
            }
        }
        // A label whose values were replaced (every pod of a deploy) keeps a map sized for
        // both generations: give back the room.
        for (name, removed) in values_removed {
            if let Some(values) = self.m.get_mut(name)
                && worth_shrinking(removed, values.len())
            {
                values.shrink_to_fit();
            }
        }
    }

    /// The references of series with label `name` = `value`.
    #[must_use]
    pub fn get(&self, name: &str, value: &str) -> Vec<u64> {
        self.m
            .get(name)
            .and_then(|v| v.get(value))
            .map_or_else(Vec::new, PostingList::to_vec)
    }

    /// How many series have label `name` = `value`.
    #[must_use]
    pub fn count(&self, name: &str, value: &str) -> usize {
        self.m
            .get(name)
            .and_then(|v| v.get(value))
            .map_or(0, PostingList::len)
    }

    /// All series references.
    #[must_use]
    pub fn all(&self) -> Vec<u64> {
        self.get(ALL_POSTINGS_KEY.0, ALL_POSTINGS_KEY.1)
    }

    /// Sorted label names (without the all-postings key).
    #[must_use]
    pub fn label_names(&self) -> Vec<String> {
        self.first_label_names(None)
    }

    /// The first `limit` (all when `None`) sorted label names: only those are copied.
    #[must_use]
    pub fn first_label_names(&self, limit: Option<usize>) -> Vec<String> {
        first_sorted(self.m.keys().filter(|k| !k.is_empty()), limit)
    }

    /// Sorted values of label `name`.
    #[must_use]
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.first_label_values(name, None)
    }

    /// The first `limit` (all when `None`) sorted values of label `name`: only those are
    /// copied.
    #[must_use]
    pub fn first_label_values(&self, name: &str, limit: Option<usize>) -> Vec<String> {
        if name.is_empty() {
            return Vec::new();
        }
        self.m
            .get(name)
            .map(|m| first_sorted(m.keys(), limit))
            .unwrap_or_default()
    }

    /// Union of the postings of the values of `name` for which `keep(value)` holds.
    fn union_where(&self, name: &str, m: &Matcher, want: bool) -> Vec<u64> {
        let Some(values) = self.m.get(name) else {
            return Vec::new();
        };
        // Exact and set matchers look values up directly.
        if want {
            if m.op == MatchOp::Equal {
                return values
                    .get(&m.value)
                    .map(PostingList::to_vec)
                    .unwrap_or_default();
            }
            if let Some(set) = m.set_matches() {
                let mut out: Vec<u64> = Vec::new();
                for l in set.iter().filter_map(|v| values.get(v)) {
                    l.extend_into(&mut out);
                }
                out.sort_unstable();
                out.dedup();
                return out;
            }
        }
        let mut out: Vec<u64> = Vec::new();
        for (_, l) in values.iter().filter(|(v, _)| m.matches(v) == want) {
            l.extend_into(&mut out);
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The sorted references of series matching all `matchers` (Prometheus's
    /// `PostingsForMatchers`): a label that is absent counts as the empty value.
    #[must_use]
    pub fn for_matchers(&self, matchers: &[Matcher]) -> Vec<u64> {
        let mut result: Option<Vec<u64>> = None;
        let mut subtract: Vec<Vec<u64>> = Vec::new();
        for m in matchers {
            if m.matches_empty() {
                // Series without the label match; exclude those whose value does not.
                subtract.push(self.union_where(&m.name, m, false));
            } else {
                let p = self.union_where(&m.name, m, true);
                result = Some(match result {
                    None => p,
                    Some(r) => intersect(&r, &p),
                });
            }
            if result.as_ref().is_some_and(Vec::is_empty) {
                return Vec::new();
            }
        }
        let mut r = result.unwrap_or_else(|| self.all());
        for s in subtract {
            r = without(&r, &s);
        }
        r
    }
}

/// Intersection of two sorted lists.
#[must_use]
pub fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// The elements of sorted `a` not in sorted `b`.
#[must_use]
pub fn without(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut j = 0;
    let mut out = Vec::with_capacity(a.len());
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j < b.len() && b[j] == x {
            continue;
        }
        out.push(x);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::labels;

    #[test]
    fn a_label_whose_values_were_replaced_gives_the_room_back() {
        let set =
            |i: u64, g: u64| labels!("__name__" => "m", "pod" => format!("p{g}-{i}").as_str());
        let mut p = MemPostings::default();
        for i in 0..1000 {
            p.add(i, &set(i, 0));
        }
        let steady = p.m["pod"].capacity();
        for i in 0..1000 {
            p.add(1000 + i, &set(i, 1));
        }
        let old: Vec<Labels> = (0..1000).map(|i| set(i, 0)).collect();
        p.delete(&(0..1000).collect::<Vec<_>>(), old.iter());
        assert_eq!(p.label_values("pod").len(), 1000);
        assert!(
            p.m["pod"].capacity() <= steady,
            "{} vs {steady}",
            p.m["pod"].capacity()
        );
        // A few removed: the map stays.
        let cap = p.m["pod"].capacity();
        p.delete(&[1000], [set(0, 1)].iter());
        assert!(p.m["pod"].capacity() >= cap - 1);
    }

    fn postings() -> MemPostings {
        let mut p = MemPostings::default();
        p.add(1, &labels!("__name__" => "up", "job" => "a"));
        p.add(2, &labels!("__name__" => "up", "job" => "b"));
        p.add(3, &labels!("__name__" => "up"));
        p.add(4, &labels!("__name__" => "other", "job" => "a"));
        p
    }

    #[test]
    fn matchers_follow_prometheus_semantics() {
        let p = postings();
        let m = |op, n: &str, v: &str| Matcher::new(op, n, v).unwrap();
        assert_eq!(
            p.for_matchers(&[Matcher::equal("__name__", "up")]),
            vec![1, 2, 3]
        );
        assert_eq!(
            p.for_matchers(&[
                Matcher::equal("__name__", "up"),
                m(MatchOp::NotEqual, "job", "a")
            ]),
            vec![2, 3]
        );
        assert_eq!(p.for_matchers(&[Matcher::equal("job", "")]), vec![3]);
        assert_eq!(
            p.for_matchers(&[m(MatchOp::RegexMatch, "job", "a|b")]),
            vec![1, 2, 4]
        );
        assert_eq!(
            p.for_matchers(&[m(MatchOp::RegexMatch, "job", ".*")]),
            vec![1, 2, 3, 4]
        );
        assert_eq!(
            p.for_matchers(&[m(MatchOp::RegexNoMatch, "job", "a")]),
            vec![2, 3]
        );
        assert_eq!(
            p.for_matchers(&[m(MatchOp::RegexMatch, "job", ".+")]),
            vec![1, 2, 4]
        );
        assert!(
            p.for_matchers(&[Matcher::equal("__name__", "nope")])
                .is_empty()
        );
        assert_eq!(p.label_values("job"), vec!["a", "b"]);
        assert_eq!(p.label_names(), vec!["__name__", "job"]);
    }

    #[test]
    fn first_values_and_names_under_a_limit() {
        let mut p = MemPostings::default();
        for (id, v) in [(1, "d"), (2, "b"), (3, "e"), (4, "a"), (5, "c")] {
            p.add(id, &labels!("__name__" => "up", "job" => v, v => "x"));
        }
        let cases: &[(Option<usize>, &[&str], &[&str])] = &[
            (
                None,
                &["a", "b", "c", "d", "e"],
                &["__name__", "a", "b", "c", "d", "e", "job"],
            ),
            (Some(0), &[], &[]),
            (Some(1), &["a"], &["__name__"]),
            (Some(3), &["a", "b", "c"], &["__name__", "a", "b"]),
            (
                Some(5),
                &["a", "b", "c", "d", "e"],
                &["__name__", "a", "b", "c", "d"],
            ),
            (
                Some(9),
                &["a", "b", "c", "d", "e"],
                &["__name__", "a", "b", "c", "d", "e", "job"],
            ),
        ];
        for (limit, values, names) in cases {
            assert_eq!(p.first_label_values("job", *limit), *values, "{limit:?}");
            assert_eq!(p.first_label_names(*limit), *names, "{limit:?}");
        }
        assert!(p.first_label_values("nope", Some(2)).is_empty());
    }

    #[test]
    fn delete_removes_empty_lists() {
        let mut p = postings();
        p.delete(&[4], [&labels!("__name__" => "other", "job" => "a")]);
        assert_eq!(p.label_values("__name__"), vec!["up"]);
        assert_eq!(p.all(), vec![1, 2, 3]);
    }

    #[test]
    fn many_series_deleted_at_once_leave_every_list_they_were_in() {
        let mut p = MemPostings::default();
        let set = |i: u64| {
            let pod = format!("pod-{}", i % 4);
            labels!("__name__" => "m", "pod" => pod.as_str(), "i" => i.to_string().as_str())
        };
        for i in 1..=20 {
            p.add(i, &set(i));
        }
        // Every series of pod-1 and pod-2, and one of pod-3.
        let gone: Vec<u64> = (1..=20)
            .filter(|i| matches!(i % 4, 1 | 2) || *i == 3)
            .collect();
        let labels: Vec<Labels> = gone.iter().map(|&i| set(i)).collect();
        p.delete(&gone, &labels);
        let kept: Vec<u64> = (1..=20).filter(|i| !gone.contains(i)).collect();
        assert_eq!(p.all(), kept);
        assert_eq!(p.get("__name__", "m"), kept);
        assert_eq!(p.label_values("pod"), vec!["pod-0", "pod-3"]);
        assert_eq!(p.get("pod", "pod-3"), vec![7, 11, 15, 19]);
        assert!(p.get("i", "3").is_empty());
        assert_eq!(p.get("i", "4"), vec![4]);
    }

    #[test]
    fn a_reference_beyond_32_bits_widens_the_list_and_keeps_it_sorted() {
        let mut p = MemPostings::default();
        let big = (1u64 << 32) | 3;
        for id in [7, big, 5, 1 << 33] {
            p.add(id, &labels!("__name__" => "m"));
        }
        p.add(6, &labels!("__name__" => "m", "x" => "y"));
        let want = vec![5, 6, 7, big, 1 << 33];
        assert_eq!(p.get("__name__", "m"), want);
        assert_eq!(p.all(), want);
        assert_eq!(p.count("__name__", "m"), 5);
        assert_eq!(p.get("x", "y"), vec![6]);
        p.delete(&[7, big], [&labels!("__name__" => "m")]);
        assert_eq!(p.get("__name__", "m"), vec![5, 6, 1 << 33]);
        assert_eq!(
            p.for_matchers(&[Matcher::equal("__name__", "m")]),
            vec![5, 6, 1 << 33]
        );
    }

    /// Added out of order and sorted at the end: the same lists as sorted inserts give, in
    /// narrow and widened lists, repeats dropped.
    #[test]
    fn unordered_adds_then_ensure_order_equal_sorted_adds() {
        let big = (1u64 << 32) | 3;
        let ids = [9, 2, 7, big, 4, 2, 1 << 33, 8];
        let (mut sorted, mut bulk) = (MemPostings::default(), MemPostings::default());
        for (i, &id) in ids.iter().enumerate() {
            let l = if i % 2 == 0 {
                labels!("__name__" => "m", "job" => "a")
            } else {
                labels!("__name__" => "m", "job" => "b")
            };
            sorted.add(id, &l);
            bulk.add_unordered(id, &l);
        }
        bulk.ensure_order();
        for (name, value) in [("__name__", "m"), ("job", "a"), ("job", "b")] {
            assert_eq!(
                bulk.get(name, value),
                sorted.get(name, value),
                "{name}={value}"
            );
        }
        assert_eq!(bulk.all(), vec![2, 4, 7, 8, 9, big, 1 << 33]);
        // Sorted inserts go on working after the bulk load.
        bulk.add(5, &labels!("__name__" => "m", "job" => "b"));
        assert_eq!(bulk.get("job", "b"), vec![2, 5, 8, big]);
    }
}
