//! Label manipulation functions: `label_replace`, `label_join`, `sort_by_label(_desc)`.

use std::cmp::Ordering;

use regex::Regex;

use super::error::EvalError;
use super::eval::has_duplicate_labels;
use crate::value::Sample;

const DUPLICATE: &str = "vector cannot contain metrics with the same labelset";

/// `label_replace(v, dst, replacement, src, regex)`.
///
/// # Errors
/// Invalid regular expression or destination label, or duplicate output series.
pub fn label_replace(
    mut v: Vec<Sample>,
    dst: &str,
    repl: &str,
    src: &str,
    re: &str,
) -> Result<Vec<Sample>, EvalError> {
    let regex = Regex::new(&format!("^(?s:{re})$")).map_err(|_| {
        EvalError::exec(format!(
            "invalid regular expression in label_replace(): {re}"
        ))
    })?;
    if dst.is_empty() || dst.contains('\u{FFFD}') {
        return Err(EvalError::exec(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    for s in &mut v {
        let src_val = s.labels.get(src).unwrap_or("").to_owned();
        if let Some(caps) = regex.captures(&src_val) {
            let mut res = String::new();
            caps.expand(repl, &mut res);
            let mut b = s.labels.builder();
            b.set(dst, &res);
            s.labels = b.labels();
            if dst == model::METRIC_NAME {
                s.drop_name = false;
            }
        }
    }
    if has_duplicate_labels(&v) {
        return Err(EvalError::exec(DUPLICATE));
    }
    Ok(v)
}

/// `label_join(v, dst, separator, src...)`.
///
/// # Errors
/// Invalid label names or duplicate output series.
pub fn label_join(
    mut v: Vec<Sample>,
    dst: &str,
    sep: &str,
    srcs: &[String],
) -> Result<Vec<Sample>, EvalError> {
    if let Some(bad) = srcs.iter().find(|s| s.is_empty()) {
        return Err(EvalError::exec(format!(
            "invalid source label name in label_join(): {bad}"
        )));
    }
    if dst.is_empty() {
        return Err(EvalError::exec(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    for s in &mut v {
        let joined = srcs
            .iter()
            .map(|n| s.labels.get(n).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(sep);
        let mut b = s.labels.builder();
        b.set(dst, &joined);
        s.labels = b.labels();
        if dst == model::METRIC_NAME {
            s.drop_name = false;
        }
    }
    if has_duplicate_labels(&v) {
        return Err(EvalError::exec(DUPLICATE));
    }
    Ok(v)
}

/// Sorts by the values of `labels` in natural order, then by the whole label set.
pub fn sort_by_label(v: &mut [Sample], labels: &[String], desc: bool) {
    v.sort_by(|a, b| {
        for l in labels {
            let (x, y) = (a.labels.get(l).unwrap_or(""), b.labels.get(l).unwrap_or(""));
            if x == y {
                continue;
            }
            let o = natural_cmp(x, y);
            return if desc { o.reverse() } else { o };
        }
        let o = a.labels.cmp(&b.labels);
        if desc { o.reverse() } else { o }
    });
}

/// Splits into runs of digits and non-digits.
fn chunks(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = s.as_bytes();
    for i in 1..=b.len() {
        if i == b.len() || b[i].is_ascii_digit() != b[i - 1].is_ascii_digit() {
            out.push(&s[start..i]);
            start = i;
        }
    }
    out
}

/// Natural ordering: digit runs compare numerically.
#[must_use]
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        if x == y {
            continue;
        }
        let xd = x.bytes().all(|c| c.is_ascii_digit());
        let yd = y.bytes().all(|c| c.is_ascii_digit());
        if xd && yd {
            let (xt, yt) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
            let o = xt.len().cmp(&yt.len()).then_with(|| xt.cmp(yt));
            if o != Ordering::Equal {
                return o;
            }
            continue;
        }
        return x.cmp(y);
    }
    ca.len().cmp(&cb.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::Labels;

    fn s(pairs: &[(&str, &str)]) -> Sample {
        Sample::float(Labels::from_pairs(pairs.iter().copied()), 0, 1.0)
    }

    #[test]
    fn replace_and_join() {
        let v = vec![s(&[("__name__", "m"), ("src", "a-1")])];
        let out = label_replace(v.clone(), "dst", "${1}x$2", "src", "(.*)-(.*)").unwrap();
        assert_eq!(out[0].labels.get("dst"), Some("ax1"));
        let out = label_replace(v.clone(), "dst", "$1", "src", "nomatch").unwrap();
        assert_eq!(out[0].labels.get("dst"), None);
        assert!(label_replace(v.clone(), "dst", "", "src", "(").is_err());
        let out = label_join(v, "j", "+", &["__name__".into(), "src".into()]).unwrap();
        assert_eq!(out[0].labels.get("j"), Some("m+a-1"));
    }

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("a2", "a10"), Ordering::Less);
        assert_eq!(natural_cmp("b", "a10"), Ordering::Greater);
        let mut v = vec![s(&[("i", "10")]), s(&[("i", "9")])];
        sort_by_label(&mut v, &["i".into()], false);
        assert_eq!(v[0].labels.get("i"), Some("9"));
    }
}
