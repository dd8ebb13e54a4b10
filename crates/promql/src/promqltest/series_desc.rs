//! Series descriptions of promqltest scripts: `metric{l="v"} 1 2+3x4 _ stale {{...}}`, and
//! Prometheus durations (`1h30m`, `10s53ms`).

use model::{FloatHistogram, Labels, Span, histogram::CounterResetHint};

/// One position of a value sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum SeqValue {
    /// No sample at this position (`_`).
    Omitted,
    /// A float (including the staleness marker).
    Float(f64),
    /// A native histogram; the flag says whether its counter-reset hint was spelled out.
    Histogram(Box<FloatHistogram>, bool),
}

/// Parses a Prometheus duration (`0`, `1h30m`, `5m`, `10s53ms`, `1d`, `2w`, `1y`) to
/// milliseconds. A leading `-` negates it.
///
/// # Errors
/// A message when the text is not a duration.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('-') {
        return parse_duration(rest).map(|d| -d);
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err("empty duration string".to_owned());
    }
    let units: [(&str, i64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    let mut last_unit = 0usize;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(format!("not a valid duration string: {s:?}"));
        }
        let n: i64 = s[start..i]
            .parse()
            .map_err(|_| format!("not a valid duration string: {s:?}"))?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[ustart..i];
        let Some(idx) = units.iter().position(|(u, _)| *u == unit) else {
            return Err(format!("not a valid duration string: {s:?}"));
        };
        if idx < last_unit || (idx == last_unit && total != 0) {
            return Err(format!("not a valid duration string: {s:?}"));
        }
        last_unit = idx;
        total = n
            .checked_mul(units[idx].1)
            .and_then(|v| v.checked_add(total))
            .ok_or_else(|| "duration out of range".to_owned())?;
    }
    Ok(total)
}

/// A cursor over the text of a series description.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                self.pos += 1;
            } else {
                break;
            }
        }
        &self.s[start..self.pos]
    }

    fn string(&mut self) -> Result<String, String> {
        let q = self.peek().ok_or("unexpected end of input")?;
        let start = self.pos;
        self.pos += 1;
        if q == '`' {
            let end = self.s[self.pos..]
                .find('`')
                .ok_or("unterminated raw string")?;
            let out = self.s[self.pos..self.pos + end].to_owned();
            self.pos += end + 1;
            return Ok(out);
        }
        loop {
            match self.peek() {
                None => return Err("unterminated quoted string".to_owned()),
                Some('\\') => {
                    self.pos += 1 + self.s[self.pos + 1..]
                        .chars()
                        .next()
                        .map_or(0, char::len_utf8);
                }
                Some(c) if c == q => {
                    self.pos += 1;
                    break;
                }
                Some(c) => self.pos += c.len_utf8(),
            }
        }
        unquote(&self.s[start..self.pos])
    }
}

/// Unquotes a Go string literal (`"..."`, `'...'` or backquoted).
///
/// # Errors
/// A message for malformed literals or escapes.
pub fn unquote(lit: &str) -> Result<String, String> {
    let mut chars = lit.chars();
    let q = chars.next().ok_or("empty string literal")?;
    if lit.len() < 2 || !lit.ends_with(q) || !matches!(q, '"' | '\'' | '`') {
        return Err(format!("invalid string literal {lit}"));
    }
    let body = &lit[1..lit.len() - 1];
    if q == '`' {
        return Ok(body.to_owned());
    }
    let mut out = String::new();
    let mut it = body.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = it.next().ok_or("invalid escape")?;
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '\\' | '"' | '\'' => out.push(e),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..n).filter_map(|_| it.next()).collect();
                let v = u32::from_str_radix(&hex, 16).map_err(|_| "invalid escape")?;
                out.push(char::from_u32(v).ok_or("invalid escape")?);
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = it
                        .next()
                        .and_then(|c| c.to_digit(8))
                        .ok_or("invalid escape")?;
                    v = v * 8 + d;
                }
                out.push(char::from_u32(v).ok_or("invalid escape")?);
            }
            _ => return Err(format!("invalid escape \\{e}")),
        }
    }
    Ok(out)
}

/// Parses `name{labels}`, `{labels}` or `name` at the cursor.
fn parse_metric(c: &mut Cursor<'_>) -> Result<Labels, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let name = c.ident();
    if !name.is_empty() {
        pairs.push(("__name__".to_owned(), name.to_owned()));
    }
    if c.eat('{') {
        loop {
            c.skip_ws();
            if c.eat('}') {
                break;
            }
            let lname = if matches!(c.peek(), Some('"' | '\'' | '`')) {
                c.string()?
            } else {
                c.ident().to_owned()
            };
            c.skip_ws();
            if lname.is_empty() {
                return Err(format!("unexpected character in label set at {}", c.pos));
            }
            if c.eat('=') {
                c.skip_ws();
                let v = c.string()?;
                pairs.push((lname, v));
            } else {
                // A quoted metric name inside the braces: {"my.metric", a="b"}.
                pairs.push(("__name__".to_owned(), lname));
            }
            c.skip_ws();
            if !c.eat(',') {
                c.skip_ws();
                if !c.eat('}') {
                    return Err("expected ',' or '}' in label set".to_owned());
                }
                break;
            }
        }
    }
    if pairs.is_empty() && name.is_empty() && c.pos == 0 {
        return Err("missing metric name or labels".to_owned());
    }
    Ok(Labels::from_pairs(pairs))
}

/// Parses a number as series values allow: Go integer syntax (`0x1f`), floats, `Inf`,
/// `NaN`, signed, or a duration (seconds).
///
/// # Errors
/// A message when the text is not a number.
pub fn parse_number(s: &str) -> Result<f64, String> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let v = if lower == "inf" || lower == "+inf" {
        f64::INFINITY
    } else if lower == "nan" {
        f64::NAN
    } else if let Some(hex) = lower.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).map_err(|e| e.to_string())? as f64
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        i64::from_str_radix(&lower[1..], 8).map_err(|e| e.to_string())? as f64
    } else if let Ok(v) = body.parse::<f64>() {
        if body
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
        {
            return Err(format!("invalid number {s:?}"));
        }
        v
    } else {
        parse_duration(body)
            .map(|ms| ms as f64 / 1000.0)
            .map_err(|_| format!("invalid number {s:?}"))?
    };
    Ok(if neg { -v } else { v })
}

/// Parses one value item (`stale`, number) to a float.
fn parse_scalar_value(s: &str) -> Result<f64, String> {
    if s == "stale" {
        Ok(model::STALE_NAN)
    } else {
        parse_number(s)
    }
}

/// Splits `a+bxN` / `a-bxN` / `axN` into (start, increment, times).
fn split_repeat(item: &str) -> Result<Option<(f64, f64, u64)>, String> {
    let Some(xpos) = item.rfind('x') else {
        return Ok(None);
    };
    let times_txt = &item[xpos + 1..];
    if times_txt.is_empty() || !times_txt.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let times: u64 = times_txt.parse().map_err(|_| "invalid repetition")?;
    let head = &item[..xpos];
    // Find the operator separating start and increment (not a leading sign, not an exponent sign).
    let b = head.as_bytes();
    let mut split = None;
    for i in (1..b.len()).rev() {
        if (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1], b'e' | b'E') {
            split = Some(i);
            break;
        }
    }
    Ok(Some(match split {
        Some(i) => {
            let start = parse_scalar_value(&head[..i])?;
            let incr = parse_number(&head[i..])?;
            (start, incr, times)
        }
        None => (parse_scalar_value(head)?, 0.0, times),
    }))
}

/// Parses a whole series description line: the metric and its expanded values.
///
/// # Errors
/// A message describing the first problem.
pub fn parse_series_desc(line: &str) -> Result<(Labels, Vec<SeqValue>), String> {
    let mut c = Cursor { s: line, pos: 0 };
    c.skip_ws();
    let labels = parse_metric(&mut c)?;
    let values = parse_values(&line[c.pos..])?;
    Ok((labels, values))
}

/// Parses and expands a value sequence.
///
/// # Errors
/// A message describing the first malformed item.
pub fn parse_values(text: &str) -> Result<Vec<SeqValue>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        if rest.starts_with("{{") {
            let (first, after) = take_histogram(rest)?;
            rest = after;
            if let Some(r) = rest.strip_prefix('x') {
                let (n, r) = take_uint(r)?;
                for _ in 0..=n {
                    out.push(first.clone());
                }
                rest = r;
            } else if (rest.starts_with('+') || rest.starts_with('-'))
                && rest[1..].starts_with("{{")
            {
                let sub = rest.starts_with('-');
                let (incr, after) = take_histogram(&rest[1..])?;
                let r = after
                    .strip_prefix('x')
                    .ok_or("expected 'x' after histogram increment")?;
                let (n, r) = take_uint(r)?;
                rest = r;
                let (SeqValue::Histogram(base, hint), SeqValue::Histogram(inc, inc_hint)) =
                    (first, incr)
                else {
                    unreachable!("take_histogram returns histograms")
                };
                let mut cur = *base;
                for i in 0..=n {
                    if i > 0 {
                        cur = super::histo::combine(&cur, &inc, sub)?;
                    }
                    out.push(SeqValue::Histogram(
                        Box::new(cur.clone()),
                        if i == 0 { hint } else { inc_hint },
                    ));
                }
            } else {
                out.push(first);
            }
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let item = &rest[..end];
            rest = &rest[end..];
            if item == "_" {
                out.push(SeqValue::Omitted);
            } else if let Some(n) = item.strip_prefix("_x") {
                let n: u64 = n
                    .parse()
                    .map_err(|_| format!("invalid repetition {item:?}"))?;
                out.extend((0..n).map(|_| SeqValue::Omitted));
            } else if let Some((start, incr, times)) = split_repeat(item)? {
                let mut v = start;
                for _ in 0..=times {
                    out.push(SeqValue::Float(v));
                    v += incr;
                }
            } else {
                out.push(SeqValue::Float(parse_scalar_value(item)?));
            }
        }
        rest = rest.trim_start();
    }
    Ok(out)
}

fn take_uint(s: &str) -> Result<(u64, &str), String> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n = s[..end]
        .parse()
        .map_err(|_| "invalid repetition".to_owned())?;
    Ok((n, &s[end..]))
}

/// Takes one `{{...}}` from the start of `s`.
fn take_histogram(s: &str) -> Result<(SeqValue, &str), String> {
    let end = s.find("}}").ok_or("unterminated histogram")?;
    let body = &s[2..end];
    let (h, hint_set) = parse_histogram_body(body)?;
    Ok((SeqValue::Histogram(Box::new(h), hint_set), &s[end + 2..]))
}

fn parse_list(s: &str) -> Result<Vec<f64>, String> {
    s.split_whitespace().map(parse_number).collect()
}

/// Parses the inside of `{{...}}`.
fn parse_histogram_body(body: &str) -> Result<(FloatHistogram, bool), String> {
    let mut h = FloatHistogram::default();
    let (mut buckets, mut n_buckets) = (Vec::new(), Vec::new());
    let (mut offset, mut n_offset) = (0i32, 0i32);
    let mut hint_set = false;
    let mut seen: Vec<String> = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let colon = rest
            .find(':')
            .ok_or_else(|| format!("bad histogram item in {body:?}"))?;
        let key = rest[..colon].trim().to_owned();
        if seen.contains(&key) {
            return Err(format!("duplicate key \"{key}\" in histogram"));
        }
        seen.push(key.clone());
        rest = rest[colon + 1..].trim_start();
        let value: &str;
        if rest.starts_with('[') {
            let close = rest.find(']').ok_or("unterminated bucket list")?;
            value = &rest[1..close];
            rest = &rest[close + 1..];
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            value = &rest[..end];
            rest = &rest[end..];
        }
        rest = rest.trim_start();
        let num = || parse_number(value);
        match key.as_str() {
            "schema" => h.schema = num()? as i32,
            "sum" => h.sum = num()?,
            "count" => h.count = num()?,
            "z_bucket" => h.zero_count = num()?,
            "z_bucket_w" => h.zero_threshold = num()?,
            "offset" => offset = num()? as i32,
            "n_offset" => n_offset = num()? as i32,
            "buckets" => buckets = parse_list(value)?,
            "n_buckets" => n_buckets = parse_list(value)?,
            "custom_values" => h.custom_values = parse_list(value)?,
            "counter_reset_hint" => {
                hint_set = true;
                h.counter_reset_hint = match value {
                    "unknown" => CounterResetHint::Unknown,
                    "reset" => CounterResetHint::CounterReset,
                    "not_reset" => CounterResetHint::NotCounterReset,
                    "gauge" => CounterResetHint::Gauge,
                    other => return Err(format!("invalid counter reset hint {other:?}")),
                };
            }
            other => return Err(format!("unknown histogram key {other:?}")),
        }
    }
    if !buckets.is_empty() {
        h.positive_spans = vec![Span {
            offset,
            length: buckets.len() as u32,
        }];
        h.positive_buckets = buckets;
    }
    if !n_buckets.is_empty() {
        h.negative_spans = vec![Span {
            offset: n_offset,
            length: n_buckets.len() as u32,
        }];
        h.negative_buckets = n_buckets;
    }
    Ok((h, hint_set))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floats(v: &[SeqValue]) -> Vec<Option<f64>> {
        v.iter()
            .map(|x| match x {
                SeqValue::Float(f) => Some(*f),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("10s53ms"), Ok(10_053));
        assert_eq!(parse_duration("-1m"), Ok(-60_000));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("1m1h").is_err());
    }

    #[test]
    fn series_descriptions() {
        let (l, v) =
            parse_series_desc(r#"http_requests{job="api", x='y'} 0+10x2 _ stale 1-1x1 _x2 3x1"#)
                .unwrap();
        assert_eq!(
            l,
            Labels::from_pairs([("__name__", "http_requests"), ("job", "api"), ("x", "y")])
        );
        let f = floats(&v);
        assert_eq!(f[..3], [Some(0.0), Some(10.0), Some(20.0)]);
        assert_eq!(f[3], None);
        assert!(matches!(v[4], SeqValue::Float(x) if model::is_stale_nan(x)));
        assert_eq!(
            f[5..],
            [Some(1.0), Some(0.0), None, None, Some(3.0), Some(3.0)]
        );
        let (l, v) = parse_series_desc(r#"{__name__="a", "b.c"="d"} -Inf 0x1f 1e3 -2"#).unwrap();
        assert_eq!(l.get("b.c"), Some("d"));
        assert_eq!(
            floats(&v),
            [
                Some(f64::NEG_INFINITY),
                Some(31.0),
                Some(1000.0),
                Some(-2.0)
            ]
        );
    }

    #[test]
    fn histogram_values() {
        let v = parse_values("{{schema:1 sum:5 count:4 buckets:[1 2] offset:1}}x1 {{}}").unwrap();
        assert_eq!(v.len(), 3);
        let SeqValue::Histogram(h, hint) = &v[0] else {
            panic!("not a histogram")
        };
        assert_eq!(
            (h.schema, h.count, h.positive_buckets.len(), *hint),
            (1, 4.0, 2, false)
        );
        assert_eq!(h.positive_spans[0].offset, 1);
        let v = parse_values("{{sum:2 count:2}}+{{sum:3 count:3}}x2").unwrap();
        let SeqValue::Histogram(h, _) = &v[2] else {
            panic!("not a histogram")
        };
        assert_eq!((h.sum, h.count), (8.0, 8.0));
        assert!(parse_values("{{sum:1 sum:2}}").is_err());
    }

    #[test]
    fn unquoting() {
        assert_eq!(unquote(r#""a\"b\n""#).unwrap(), "a\"b\n");
        assert_eq!(unquote("`x\\y`").unwrap(), "x\\y");
        assert_eq!(unquote(r#""\u00e9""#).unwrap(), "é");
    }
}
