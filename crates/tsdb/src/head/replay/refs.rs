//! A map from series references to what replay knows of them. References are handed out in
//! creation order, so most are kept in a dense array indexed by the reference (one load per
//! sample, no hashing, no lock); a reference far beyond the ones seen so far (a log with
//! large gaps after churn) goes to a hash map instead, so the array never outgrows the head.

use foldhash::HashMap;

/// The dense array grows to cover a new reference only up to this many entries past twice
/// the entries it holds.
const SLACK: u64 = 1 << 20;

/// Values by series reference.
#[derive(Debug)]
pub(super) struct RefTable<T> {
    dense: Vec<Option<T>>,
    sparse: HashMap<u64, T>,
    filled: u64,
}

impl<T> Default for RefTable<T> {
    fn default() -> Self {
        Self {
            dense: Vec::new(),
            sparse: HashMap::default(),
            filled: 0,
        }
    }
}

impl<T> RefTable<T> {
    /// The value of `id`.
    #[inline]
    pub(super) fn get(&self, id: u64) -> Option<&T> {
        match usize::try_from(id).ok().and_then(|i| self.dense.get(i)) {
            Some(v) => v.as_ref(),
            None if self.sparse.is_empty() => None,
            None => self.sparse.get(&id),
        }
    }

    /// The value of `id`, mutable.
    pub(super) fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        match usize::try_from(id).ok().filter(|&i| i < self.dense.len()) {
            Some(i) => self.dense[i].as_mut(),
            None => self.sparse.get_mut(&id),
        }
    }

    /// Sets the value of `id`.
    pub(super) fn insert(&mut self, id: u64, v: T) {
        let limit = self.filled.saturating_mul(2).saturating_add(SLACK);
        match usize::try_from(id) {
            Ok(i) if i < self.dense.len() || id <= limit => {
                if i >= self.dense.len() {
                    let len = (i + 1).max(self.dense.len() * 3 / 2);
                    let len = len.min(usize::try_from(limit).unwrap_or(usize::MAX).max(i + 1));
                    self.dense.resize_with(len, || None);
                }
                if self.dense[i].replace(v).is_none() {
                    self.filled += 1;
                }
            }
            _ => {
                if self.sparse.insert(id, v).is_none() {
                    self.filled += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_references() {
        let mut t = RefTable::default();
        for id in [1u64, 5, 3, 1 << 40, u64::MAX, 2_000_000, 7] {
            t.insert(id, id.wrapping_mul(2));
        }
        for id in [1u64, 5, 3, 1 << 40, u64::MAX, 2_000_000, 7] {
            assert_eq!(t.get(id), Some(&id.wrapping_mul(2)), "{id}");
        }
        assert_eq!(t.get(2), None);
        assert_eq!(t.get(1 << 39), None);
        *t.get_mut(3).unwrap() = 0;
        *t.get_mut(1 << 40).unwrap() = 1;
        assert_eq!((t.get(3), t.get(1 << 40)), (Some(&0), Some(&1)));
        t.insert(3, 9);
        assert_eq!(t.get(3), Some(&9));
        assert_eq!(t.filled, 7);
        assert!(t.dense.len() <= 2 * 7 + (1 << 20) + 1);
    }
}
