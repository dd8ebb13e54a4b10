//! The head's series in label order, as compaction writes them into a block, without sorting
//! every label set each time: the order of the previous compaction (references) is kept,
//! series removed since are skipped, and only the series created since are sorted and merged
//! in by binary search. Labels never change and references are never reused, so a kept order
//! stays sorted. (Prometheus sorts the head's postings by labels at every compaction.)

use std::sync::Arc;

use crate::head::{Head, MemSeries};

/// The references of the series of the previous compaction, in label order.
#[derive(Debug, Default)]
pub(crate) struct LabelOrder {
    refs: Vec<u64>,
}

impl LabelOrder {
    /// Forgets the series `removed` (sorted) a truncation dropped: after a deploy the order
    /// of the compaction before it holds both generations until the next compaction.
    pub(crate) fn forget(&mut self, removed: &[u64]) {
        self.refs.retain(|id| removed.binary_search(id).is_err());
        // A third or more unused (half after a deploy): a few removed series keep the room.
        if 2 * self.refs.capacity() > 3 * self.refs.len() + 128 {
            self.refs.shrink_to_fit();
        }
    }
}

impl Head {
    /// Every series of the head in label order (compaction writes them in this order).
    pub(crate) fn series_in_label_order(&self) -> Vec<Arc<MemSeries>> {
        let ids = self.postings.read().all();
        let mut order = self.label_order.lock();
        let mut known = order.refs.clone();
        known.sort_unstable();
        // Series of the previous order still in the head, in that order.
        let kept: Vec<Arc<MemSeries>> = order
            .refs
            .iter()
            .filter_map(|&id| self.series_by_id(id))
            .collect();
        // Series created since (in the postings, not in the previous order), sorted.
        let mut fresh: Vec<Arc<MemSeries>> = ids
            .iter()
            .filter(|id| known.binary_search(id).is_err())
            .filter_map(|&id| self.series_by_id(id))
            .collect();
        drop(known);
        fresh.sort_unstable_by(|a, b| a.labels.cmp(&b.labels));
        let out = merge_sorted(kept, fresh);
        debug_assert!(
            out.windows(2).all(|w| w[0].labels < w[1].labels),
            "series out of label order"
        );
        order.refs.clear();
        order.refs.extend(out.iter().map(|s| s.id));
        order.refs.shrink_to_fit();
        out
    }
}

/// `kept` and `fresh`, both sorted by labels (and disjoint), merged: each series of `fresh`
/// finds its place in `kept` by binary search, so a merge of few into many compares few
/// label sets.
fn merge_sorted(kept: Vec<Arc<MemSeries>>, fresh: Vec<Arc<MemSeries>>) -> Vec<Arc<MemSeries>> {
    if fresh.is_empty() {
        return kept;
    }
    let mut places = Vec::with_capacity(fresh.len());
    let mut from = 0;
    for s in &fresh {
        from += kept[from..].partition_point(|k| k.labels < s.labels);
        places.push(from);
    }
    let mut out = Vec::with_capacity(kept.len() + fresh.len());
    let mut kept = kept.into_iter();
    let mut taken = 0;
    for (s, place) in fresh.into_iter().zip(places) {
        out.extend(kept.by_ref().take(place - taken));
        taken = place;
        out.push(s);
    }
    out.extend(kept);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(v: &[&str]) -> Vec<Arc<MemSeries>> {
        v.iter()
            .enumerate()
            .map(|(i, v)| {
                Arc::new(MemSeries::new(
                    i as u64,
                    model::labels!("__name__" => "m", "i" => *v),
                ))
            })
            .collect()
    }

    fn values(v: &[Arc<MemSeries>]) -> Vec<String> {
        v.iter()
            .map(|s| s.labels.get("i").unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn fresh_series_are_merged_into_their_places() {
        let kept = series(&["b", "d", "f"]);
        let out = merge_sorted(kept.clone(), series(&["a", "c", "e", "g", "h"]));
        assert_eq!(values(&out), ["a", "b", "c", "d", "e", "f", "g", "h"]);
        assert_eq!(
            values(&merge_sorted(Vec::new(), series(&["x"]))),
            ["x"].map(str::to_owned)
        );
        assert_eq!(values(&merge_sorted(kept, Vec::new())), ["b", "d", "f"]);
    }

    #[test]
    fn removed_series_are_forgotten_and_the_room_given_back() {
        // A deploy: the old generation (even references) leaves the order.
        let mut order = LabelOrder {
            refs: (0..1000).collect(),
        };
        let removed: Vec<u64> = (0..1000).filter(|i| i % 2 == 0).collect();
        order.forget(&removed);
        assert_eq!(
            order.refs,
            (0..1000).filter(|i| i % 2 == 1).collect::<Vec<_>>()
        );
        assert!(
            order.refs.capacity() <= 500 + 64,
            "{}",
            order.refs.capacity()
        );
        // A few removed: no reallocation.
        let cap = order.refs.capacity();
        order.forget(&[1, 3]);
        assert_eq!((order.refs.len(), order.refs.capacity()), (498, cap));
    }
}
