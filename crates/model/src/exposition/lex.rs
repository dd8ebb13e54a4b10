//! Byte classes, unescaping and small token conversions shared by the pull parser.

use std::borrow::Cow;

use super::number::parse_int;

/// [`CLASS`] bit: may start a metric name.
pub(super) const NAME_START: u8 = 1;
/// [`CLASS`] bit: may continue a metric name.
pub(super) const NAME_CONT: u8 = 2;
/// [`CLASS`] bit: may start a label name.
pub(super) const LABEL_START: u8 = 4;
/// [`CLASS`] bit: may continue a label name.
pub(super) const LABEL_CONT: u8 = 8;

/// [`CLASS`] bit: ends the plain run of a quoted string (`"`, `\\`, line feed).
pub(super) const QUOTED_STOP: u8 = 16;

/// The classes of each byte.
pub(super) static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let alpha = b.is_ascii_alphabetic() || b == b'_';
        let digit = b.is_ascii_digit();
        let mut v = 0;
        if alpha || b == b':' {
            v |= NAME_START | NAME_CONT;
        }
        if digit {
            v |= NAME_CONT | LABEL_CONT;
        }
        if alpha {
            v |= LABEL_START | LABEL_CONT;
        }
        if b == b'"' || b == b'\\' || b == b'\n' {
            v |= QUOTED_STOP;
        }
        t[c] = v;
        c += 1;
    }
    t
};

/// Which escapes a quoted string or help text knows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Escapes {
    /// `\\`, `\"`, `\n` (label values, quoted names, OpenMetrics help).
    Quoted,
    /// `\\`, `\n` (text-format help).
    TextHelp,
}

/// Unescapes help text; `None` if it is not UTF-8.
pub(super) fn unescape_help(text: &[u8], esc: Escapes) -> Option<Cow<'_, str>> {
    let s = std::str::from_utf8(text).ok()?;
    if memchr::memchr(b'\\', text).is_none() {
        return Some(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.clone().next() {
            Some('\\') => {
                chars.next();
                out.push('\\');
            }
            Some('n') => {
                chars.next();
                out.push('\n');
            }
            Some('"') if esc == Escapes::Quoted => {
                chars.next();
                out.push('"');
            }
            _ => out.push('\\'),
        }
    }
    Some(Cow::Owned(out))
}

/// Bytes already checked to be ASCII (name characters, or a quoted run whose bytes were all
/// below 0x80), as `&str`.
#[inline]
pub(super) fn ascii_str(b: &[u8]) -> &str {
    debug_assert!(b.is_ascii());
    // SAFETY: callers pass only bytes they have checked to be ASCII while scanning them
    // (the name classes of `CLASS`, or an OR of all bytes below 0x80), and ASCII is valid
    // UTF-8. Names and label values are the most frequent tokens; validating them again
    // would cost a second pass over each.
    unsafe { std::str::from_utf8_unchecked(b) }
}

/// `[-]digits[.digits]` seconds as milliseconds, truncating below a millisecond (what
/// Prometheus's `int64(ts * 1000)` means, without its float rounding errors).
pub(super) fn decimal_seconds_to_ms(tok: &[u8]) -> Option<i64> {
    let (neg, body) = match tok.first()? {
        b'-' => (true, &tok[1..]),
        _ => (false, tok),
    };
    let (int, frac) = match memchr::memchr(b'.', body) {
        Some(d) => (&body[..d], &body[d + 1..]),
        None => (body, &body[..0]),
    };
    if int.is_empty() || int.len() > 15 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let secs = parse_int(int)?;
    if secs < 0 {
        return None;
    }
    let mut ms = 0;
    for i in 0..3 {
        ms = ms * 10 + frac.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    let v = secs * 1000 + ms;
    Some(if neg { -v } else { v })
}
