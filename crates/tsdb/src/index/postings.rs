//! Postings: sorted lists of series references, their set operations, and the evaluation of
//! label matchers into postings with Prometheus's `PostingsForMatchers` semantics (a matcher
//! that matches the empty string also selects series that lack the label).

use model::{MatchOp, Matcher};

use crate::error::TsdbError;

/// An index that can answer postings lookups (a block index, or a head's in-memory postings).
pub trait PostingsSource {
    /// Every series reference, sorted.
    ///
    /// # Errors
    /// Index read failures.
    fn all_postings(&self) -> Result<Vec<u64>, TsdbError>;

    /// Sorted distinct values of label `name`.
    ///
    /// # Errors
    /// Index read failures.
    fn label_values(&self, name: &str) -> Result<Vec<String>, TsdbError>;

    /// Sorted series references with label `name` equal to one of `values`.
    ///
    /// # Errors
    /// Index read failures.
    fn postings(&self, name: &str, values: &[&str]) -> Result<Vec<u64>, TsdbError>;
}

/// The intersection of sorted lists `a` and `b`.
#[must_use]
pub fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut out = Vec::with_capacity(small.len());
    let mut j = 0;
    for &x in small {
        // Gallop when one list is much longer than the other.
        if large.len() > 8 * small.len().max(1) {
            j += large[j..].partition_point(|&y| y < x);
        } else {
            while j < large.len() && large[j] < x {
                j += 1;
            }
        }
        if j == large.len() {
            break;
        }
        if large[j] == x {
            out.push(x);
            j += 1;
        }
    }
    out
}

/// The union of sorted lists, sorted and without duplicates.
#[must_use]
pub fn merge(mut lists: Vec<Vec<u64>>) -> Vec<u64> {
    lists.retain(|l| !l.is_empty());
    match lists.len() {
        0 => Vec::new(),
        1 => lists.pop().unwrap_or_default(),
        _ => {
            let mut all: Vec<u64> = lists.concat();
            all.sort_unstable();
            all.dedup();
            all
        }
    }
}

/// The elements of sorted `a` that are not in sorted `b`.
#[must_use]
pub fn without(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
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

/// The postings of series whose value of `m.name` satisfies `keep`; uses the matcher's literal
/// fast paths (`=`, `!=`, regex alternations of literals and literal prefixes) when they apply.
fn postings_where<S: PostingsSource + ?Sized>(
    ix: &S,
    m: &Matcher,
    want_match: bool,
) -> Result<Vec<u64>, TsdbError> {
    // Literal values the matcher (or its negation) is exactly equal to.
    let literals: Option<Vec<&str>> = match m.op {
        MatchOp::Equal | MatchOp::NotEqual => Some(vec![m.value.as_str()]),
        MatchOp::RegexMatch | MatchOp::RegexNoMatch => m
            .set_matches()
            .map(|s| s.iter().map(String::as_str).collect()),
    };
    let positive = matches!(m.op, MatchOp::Equal | MatchOp::RegexMatch);
    if let Some(lits) = &literals
        && positive == want_match
    {
        // The wanted values are exactly the literals.
        let lits: Vec<&str> = lits.iter().copied().filter(|v| !v.is_empty()).collect();
        return ix.postings(&m.name, &lits);
    }
    let prefix = if positive == want_match {
        m.prefix()
    } else {
        None
    };
    let values = ix.label_values(&m.name)?;
    let selected: Vec<&str> = values
        .iter()
        .map(String::as_str)
        .filter(|v| prefix.is_none_or(|p| v.starts_with(p)))
        .filter(|v| m.matches(v) == want_match)
        .collect();
    if selected.is_empty() {
        return Ok(Vec::new());
    }
    ix.postings(&m.name, &selected)
}

/// The sorted references of the series matching all `matchers`, as Prometheus's
/// `PostingsForMatchers`: a label that is absent has the value `""`, so `l=""`, `l!="x"` or
/// `l=~"x|"` also select series without `l`. No matchers select nothing.
///
/// # Errors
/// Index read failures.
pub fn postings_for_matchers<S: PostingsSource + ?Sized>(
    ix: &S,
    matchers: &[Matcher],
) -> Result<Vec<u64>, TsdbError> {
    if matchers.is_empty() {
        return Ok(Vec::new());
    }
    // Labels some matcher requires to be set (non-empty).
    let must_be_set = |name: &str| {
        matchers
            .iter()
            .any(|m| m.name == name && !m.matches_empty())
    };
    let mut its: Vec<Vec<u64>> = Vec::new();
    let mut not_its: Vec<Vec<u64>> = Vec::new();
    let subtracting = |m: &Matcher| {
        !must_be_set(&m.name)
            || (matches!(m.op, MatchOp::NotEqual | MatchOp::RegexNoMatch) && m.matches_empty())
    };
    if matchers.iter().all(subtracting) {
        its.push(ix.all_postings()?);
    }
    for m in matchers {
        if m.name.is_empty() && m.value.is_empty() {
            its.push(ix.all_postings()?);
            continue;
        }
        if subtracting(m) {
            // Subtract the series whose value (possibly absent, i.e. "") fails the matcher.
            not_its.push(postings_where(ix, m, false)?);
        } else {
            let p = postings_where(ix, m, true)?;
            if p.is_empty() {
                return Ok(Vec::new());
            }
            its.push(p);
        }
    }
    its.sort_by_key(Vec::len);
    let mut it = its.first().cloned().unwrap_or_default();
    for other in its.iter().skip(1) {
        if it.is_empty() {
            break;
        }
        it = intersect(&it, other);
    }
    for n in &not_its {
        if it.is_empty() {
            break;
        }
        it = without(&it, n);
    }
    Ok(it)
}
