//! The pull parser: walks a byte buffer once and yields one [`Entry`] per line, borrowing
//! names and label values from the buffer (unescaped copies only where escapes occur).

use std::borrow::Cow;

use super::error::{ParseError, ParseErrorKind};
use super::lex::{
    CLASS, Escapes, LABEL_CONT, LABEL_START, NAME_CONT, NAME_START, QUOTED_STOP, ascii_str,
    decimal_seconds_to_ms, unescape_help,
};
use super::number::{parse_float, parse_int};
use super::{Format, MetricType};

mod lazy;

pub use lazy::{LazyEntry, SampleRest};

/// One label of a sample or exemplar, borrowed from the input where possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelPair<'a> {
    /// The label name.
    pub name: Cow<'a, str>,
    /// The label value, unescaped.
    pub value: Cow<'a, str>,
}

/// An OpenMetrics exemplar attached to a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExemplarRef<'p, 'a> {
    /// The exemplar's labels (e.g. `trace_id`).
    pub labels: &'p [LabelPair<'a>],
    /// The exemplar's value.
    pub value: f64,
    /// Its timestamp in milliseconds, if given.
    pub timestamp: Option<i64>,
}

/// A sample line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesRef<'p, 'a> {
    /// The metric name (for quoted names, unescaped).
    pub name: &'p str,
    /// The labels in the order written, without the metric name.
    pub labels: &'p [LabelPair<'a>],
    /// The value; a parsed `NaN` has Prometheus's normal NaN bits.
    pub value: f64,
    /// Timestamp in milliseconds (text: as written; OpenMetrics: seconds × 1000).
    pub timestamp: Option<i64>,
    /// Start (created) timestamp in milliseconds of the count the sample belongs to: the
    /// protobuf `created_timestamp` of counters, summaries and histograms (as Prometheus's
    /// `StartTimestamp()`); `None` when not given.
    pub start_timestamp: Option<i64>,
    /// The exemplar (OpenMetrics and protobuf).
    pub exemplar: Option<ExemplarRef<'p, 'a>>,
}

/// A native histogram sample (protobuf exposition only).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramRef<'p, 'a> {
    /// The metric name.
    pub name: &'p str,
    /// The labels, without the metric name.
    pub labels: &'p [LabelPair<'a>],
    /// The histogram: [`Sample::Histogram`] or [`Sample::FloatHistogram`].
    pub sample: &'p crate::sample::Sample,
    /// Timestamp in milliseconds, if given.
    pub timestamp: Option<i64>,
    /// Start (created) timestamp in milliseconds, if given (see [`SeriesRef`]).
    pub start_timestamp: Option<i64>,
}

/// One entry of an exposition.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'p, 'a> {
    /// `# HELP name text`.
    Help {
        /// The metric family name.
        name: Cow<'a, str>,
        /// The help text, unescaped.
        help: Cow<'a, str>,
    },
    /// `# TYPE name type`.
    Type {
        /// The metric family name.
        name: Cow<'a, str>,
        /// The declared type.
        metric_type: MetricType,
    },
    /// `# UNIT name unit` (OpenMetrics).
    Unit {
        /// The metric family name.
        name: Cow<'a, str>,
        /// The unit, possibly empty.
        unit: &'a str,
    },
    /// A sample.
    Series(SeriesRef<'p, 'a>),
    /// A native histogram (only the protobuf parser yields these).
    Histogram(HistogramRef<'p, 'a>),
    /// Any other `#` line of the text format: the text after `#`.
    Comment(&'a str),
    /// OpenMetrics `# EOF`; nothing follows it.
    Eof,
}

/// An entry before it borrows the parser's scratch space.
enum Raw<'a> {
    Help(Cow<'a, str>, Cow<'a, str>),
    Type(Cow<'a, str>, MetricType),
    Unit(Cow<'a, str>, &'a str),
    Series {
        value: f64,
        timestamp: Option<i64>,
        exemplar: Option<(f64, Option<i64>)>,
    },
    Comment(&'a str),
    Eof,
}

/// A pull parser over one exposition held in memory.
///
/// Call [`Parser::next_entry`] until it returns `Ok(None)`. After an error the parser stops.
/// Label storage is reused from line to line, so parsing allocates only for label values
/// that contain escapes.
pub struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
    format: Format,
    done: bool,
    name: Cow<'a, str>,
    labels: Vec<LabelPair<'a>>,
    exemplar_labels: Vec<LabelPair<'a>>,
    /// Where the series of the sample [`Parser::next_lazy`] returned last starts and ends,
    /// until the caller reads its value or its labels.
    pending: Option<(usize, usize)>,
}

impl<'a> Parser<'a> {
    /// A parser for `buf` in `format`.
    #[must_use]
    pub fn new(buf: &'a [u8], format: Format) -> Self {
        Self {
            buf,
            pos: 0,
            line: 1,
            line_start: 0,
            format,
            done: false,
            name: Cow::Borrowed(""),
            labels: Vec::with_capacity(16),
            exemplar_labels: Vec::new(),
            pending: None,
        }
    }

    /// The format being parsed.
    #[must_use]
    pub fn format(&self) -> Format {
        self.format
    }

    /// The current line number (1-based): read before [`Parser::next_entry`], the line the
    /// next entry starts on (skipped blank lines aside).
    #[must_use]
    pub fn line(&self) -> usize {
        self.line
    }

    /// The next entry, `Ok(None)` at the end of the input.
    ///
    /// # Errors
    /// A [`ParseError`] naming line, column and what was expected.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'_, 'a>>, ParseError> {
        self.finish_pending()?;
        if self.done {
            return Ok(None);
        }
        let raw = match self.step() {
            Ok(Some(r)) => r,
            Ok(None) => {
                self.done = true;
                return Ok(None);
            }
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        Ok(Some(match raw {
            Raw::Help(name, help) => Entry::Help { name, help },
            Raw::Type(name, metric_type) => Entry::Type { name, metric_type },
            Raw::Unit(name, unit) => Entry::Unit { name, unit },
            Raw::Comment(c) => Entry::Comment(c),
            Raw::Eof => Entry::Eof,
            Raw::Series {
                value,
                timestamp,
                exemplar,
            } => Entry::Series(self.series_ref(value, timestamp, exemplar)),
        }))
    }

    /// The sample just parsed, borrowing the parser's name and label storage.
    fn series_ref(
        &self,
        value: f64,
        timestamp: Option<i64>,
        exemplar: Option<(f64, Option<i64>)>,
    ) -> SeriesRef<'_, 'a> {
        SeriesRef {
            name: &self.name,
            labels: &self.labels,
            value,
            timestamp,
            start_timestamp: None,
            exemplar: exemplar.map(|(value, timestamp)| ExemplarRef {
                labels: &self.exemplar_labels,
                value,
                timestamp,
            }),
        }
    }

    fn step(&mut self) -> Result<Option<Raw<'a>>, ParseError> {
        loop {
            // The line being parsed starts here.
            self.line_start = self.pos;
            if self.pos >= self.buf.len() {
                return match self.format {
                    Format::Text => Ok(None),
                    Format::OpenMetrics => Err(self.err_at(self.pos, ParseErrorKind::MissingEof)),
                };
            }
            if self.format == Format::Text {
                self.skip_ws();
            }
            match self.peek() {
                Some(b'\n') if self.format == Format::Text => {
                    self.end_line();
                }
                None => {}
                Some(b'#') => {
                    return match self.format {
                        Format::Text => self.text_hash_line().map(Some),
                        Format::OpenMetrics => self.om_hash_line().map(Some),
                    };
                }
                Some(_) => return self.sample_line().map(Some),
            }
        }
    }

    // ---- small helpers -------------------------------------------------------------

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    /// Whitespace inside braces: allowed in the text format, not in OpenMetrics.
    #[inline]
    fn skip_inner_ws(&mut self) {
        if self.format == Format::Text {
            self.skip_ws();
        }
    }

    /// Consumes the line break ending a line (or accepts the end of input).
    fn end_line(&mut self) {
        if self.peek() == Some(b'\n') {
            self.pos += 1;
        }
        self.line += 1;
        self.line_start = self.pos;
    }

    fn err_at(&self, at: usize, kind: ParseErrorKind) -> ParseError {
        let at = at.min(self.buf.len());
        let start = self.line_start.min(at);
        let prefix = String::from_utf8_lossy(&self.buf[start..at]);
        ParseError {
            line: self.line,
            column: prefix.chars().count() + 1,
            kind,
        }
    }

    fn expected(&self, expected: &'static str) -> ParseError {
        self.err_at(
            self.pos,
            ParseErrorKind::Expected {
                expected,
                got: self.got(self.pos),
            },
        )
    }

    /// The token at `at`, for error messages.
    fn got(&self, at: usize) -> String {
        let Some(&b) = self.buf.get(at) else {
            return "end of input".to_owned();
        };
        if b == b'\n' {
            return "end of line".to_owned();
        }
        let delim = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'{' | b'}' | b'=' | b',' | b'"');
        let end = if delim(b) {
            at + 1
        } else {
            let rest = &self.buf[at..];
            at + rest.iter().position(|&c| delim(c)).unwrap_or(rest.len())
        };
        let end = end.min(at + 40);
        format!("{:?}", String::from_utf8_lossy(&self.buf[at..end]))
    }

    /// Scans `[a-zA-Z_:][a-zA-Z0-9_:]*` (or the label-name class) at the cursor.
    #[inline]
    fn scan_ident(&mut self, start_class: u8, cont_class: u8) -> Option<&'a str> {
        let buf = self.buf;
        let start = self.pos;
        if start >= buf.len() || CLASS[buf[start] as usize] & start_class == 0 {
            return None;
        }
        let mut i = start + 1;
        while i < buf.len() && CLASS[buf[i] as usize] & cont_class != 0 {
            i += 1;
        }
        self.pos = i;
        Some(ascii_str(&buf[start..i]))
    }

    /// A double-quoted string at the cursor (which is on the opening quote), unescaped.
    #[inline]
    fn quoted(&mut self, what: &'static str) -> Result<Cow<'a, str>, ParseError> {
        let buf = self.buf;
        let start = self.pos + 1;
        // Scan to the first quote, backslash or line break, noting whether any byte is
        // non-ASCII: ASCII values need no UTF-8 validation. Values are short, so a table
        // loop beats a vectorised search's set-up.
        let mut end = start;
        let mut high = 0u8;
        while end < buf.len() && CLASS[buf[end] as usize] & QUOTED_STOP == 0 {
            high |= buf[end];
            end += 1;
        }
        if end < buf.len() && buf[end] == b'"' && high < 0x80 {
            self.pos = end + 1;
            return Ok(Cow::Borrowed(ascii_str(&buf[start..end])));
        }
        self.quoted_slow(start, end, high, what)
    }

    /// The rest of [`Parser::quoted`]: non-ASCII text, escapes and errors, kept out of line
    /// so that the common case stays small enough to inline.
    #[inline(never)]
    fn quoted_slow(
        &mut self,
        start: usize,
        end: usize,
        high: u8,
        what: &'static str,
    ) -> Result<Cow<'a, str>, ParseError> {
        let buf = self.buf;
        if end >= buf.len() {
            self.pos = buf.len();
            return Err(self.expected("closing quote"));
        }
        if buf[end] == b'"' {
            self.pos = end + 1;
            let bytes = &buf[start..end];
            if high < 0x80 {
                return Ok(Cow::Borrowed(ascii_str(bytes)));
            }
            return match std::str::from_utf8(bytes) {
                Ok(s) => Ok(Cow::Borrowed(s)),
                Err(_) => Err(self.err_at(start, ParseErrorKind::InvalidUtf8(what))),
            };
        }
        if buf[end] == b'\n' {
            self.pos = end;
            return Err(self.expected("closing quote"));
        }
        // Escapes: unescape into an owned string.
        let mut out: Vec<u8> = Vec::with_capacity(end - start + 16);
        let mut i = start;
        loop {
            let Some(&c) = buf.get(i) else {
                self.pos = i;
                return Err(self.expected("closing quote"));
            };
            match c {
                b'"' => break,
                b'\n' => {
                    self.pos = i;
                    return Err(self.expected("closing quote"));
                }
                b'\\' => {
                    match buf.get(i + 1) {
                        Some(b'\\') => out.push(b'\\'),
                        Some(b'"') => out.push(b'"'),
                        Some(b'n') => out.push(b'\n'),
                        Some(b'\n') | None => {
                            self.pos = i + 1;
                            return Err(self.expected("closing quote"));
                        }
                        Some(&o) => out.extend_from_slice(&[b'\\', o]),
                    }
                    i += 2;
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        self.pos = i + 1;
        match String::from_utf8(out) {
            Ok(s) => Ok(Cow::Owned(s)),
            Err(_) => Err(self.err_at(start, ParseErrorKind::InvalidUtf8(what))),
        }
    }

    /// A metric name, bare or quoted (Prometheus 3), at the cursor.
    fn metric_name(&mut self, expected: &'static str) -> Result<Cow<'a, str>, ParseError> {
        if self.peek() == Some(b'"') {
            return self.quoted("metric name");
        }
        match self.scan_ident(NAME_START, NAME_CONT) {
            Some(n) => Ok(Cow::Borrowed(n)),
            None => Err(self.expected(expected)),
        }
    }

    /// The rest of the line from the cursor (not including the line break).
    fn rest_of_line(&mut self) -> &'a [u8] {
        let buf = self.buf;
        let start = self.pos;
        let end = memchr::memchr(b'\n', &buf[start..]).map_or(buf.len(), |o| start + o);
        self.pos = end;
        &buf[start..end]
    }

    // ---- comment and metadata lines -----------------------------------------------

    fn text_hash_line(&mut self) -> Result<Raw<'a>, ParseError> {
        let hash = self.pos;
        self.pos += 1;
        let after_hash = self.pos;
        self.skip_ws();
        let spaced = self.pos > after_hash;
        let rest = &self.buf[self.pos..];
        let keyword = if !spaced {
            None
        } else if rest.starts_with(b"HELP") {
            Some(b'H')
        } else if rest.starts_with(b"TYPE") {
            Some(b'T')
        } else {
            None
        };
        if let Some(k) = keyword
            && matches!(rest.get(4), Some(b' ' | b'\t'))
        {
            self.pos += 4;
            self.skip_ws();
            let what = if k == b'H' {
                "metric name after HELP"
            } else {
                "metric name after TYPE"
            };
            return self.metadata(k, what);
        }
        self.pos = after_hash;
        let text = self.rest_of_line();
        let text = std::str::from_utf8(text)
            .map_err(|_| self.err_at(hash, ParseErrorKind::InvalidUtf8("comment")))?;
        self.end_line();
        Ok(Raw::Comment(text))
    }

    fn om_hash_line(&mut self) -> Result<Raw<'a>, ParseError> {
        let rest = &self.buf[self.pos..];
        let kw: Option<(u8, &'static str)> = if rest.starts_with(b"# HELP ") {
            Some((b'H', "metric name after HELP"))
        } else if rest.starts_with(b"# TYPE ") {
            Some((b'T', "metric name after TYPE"))
        } else if rest.starts_with(b"# UNIT ") {
            Some((b'U', "metric name after UNIT"))
        } else {
            None
        };
        if let Some((k, what)) = kw {
            self.pos += 7;
            return self.metadata(k, what);
        }
        if rest.starts_with(b"# EOF") && matches!(rest.get(5), None | Some(b'\n')) {
            self.pos += 5;
            if self.peek() == Some(b'\n') {
                self.pos += 1;
            }
            if self.pos < self.buf.len() {
                self.line += 1;
                self.line_start = self.pos;
                return Err(self.err_at(self.pos, ParseErrorKind::DataAfterEof));
            }
            self.done = true;
            return Ok(Raw::Eof);
        }
        Err(self.expected("HELP, TYPE, UNIT or EOF after \"# \""))
    }

    fn metadata(&mut self, kind: u8, what: &'static str) -> Result<Raw<'a>, ParseError> {
        let name = self.metric_name(what)?;
        match self.peek() {
            None | Some(b'\n') => {}
            Some(b' ' | b'\t') if self.format == Format::Text => self.pos += 1,
            Some(b' ') => self.pos += 1,
            Some(_) => return Err(self.expected("space after metric name")),
        }
        let text_start = self.pos;
        let text = self.rest_of_line();
        let raw = match kind {
            b'H' => {
                let esc = match self.format {
                    Format::Text => Escapes::TextHelp,
                    Format::OpenMetrics => Escapes::Quoted,
                };
                let Some(help) = unescape_help(text, esc) else {
                    return Err(self.err_at(text_start, ParseErrorKind::InvalidUtf8("help text")));
                };
                Raw::Help(name, help)
            }
            b'T' => {
                let mut word = std::str::from_utf8(text).unwrap_or("\u{fffd}");
                if self.format == Format::Text {
                    // client_golang's text parser skips blanks around the type.
                    word = word.trim_matches([' ', '\t']);
                }
                match MetricType::parse(word, self.format) {
                    Some(t) => Raw::Type(name, t),
                    None => {
                        return Err(self.err_at(
                            text_start,
                            ParseErrorKind::InvalidMetricType(word.to_owned()),
                        ));
                    }
                }
            }
            _ => {
                let Ok(unit) = std::str::from_utf8(text) else {
                    return Err(self.err_at(text_start, ParseErrorKind::InvalidUtf8("unit")));
                };
                let suffix_ok = name.len() > unit.len()
                    && name.ends_with(unit)
                    && name.as_bytes()[name.len() - unit.len() - 1] == b'_';
                if !unit.is_empty() && !suffix_ok {
                    return Err(self.err_at(
                        text_start,
                        ParseErrorKind::UnitNotSuffix {
                            unit: unit.to_owned(),
                            metric: name.into_owned(),
                        },
                    ));
                }
                Raw::Unit(name, unit)
            }
        };
        if self.format == Format::OpenMetrics && self.peek().is_none() {
            return Err(self.err_at(self.pos, ParseErrorKind::MissingEof));
        }
        self.end_line();
        Ok(raw)
    }

    // ---- sample lines ------------------------------------------------------------

    fn sample_line(&mut self) -> Result<Raw<'a>, ParseError> {
        self.sample_series()?;
        let (value, timestamp, exemplar) = self.sample_suffix()?;
        Ok(Raw::Series {
            value,
            timestamp,
            exemplar,
        })
    }

    /// The series of a sample line: metric name and labels, into `name` and `labels`.
    fn sample_series(&mut self) -> Result<(), ParseError> {
        self.labels.clear();
        let line_begin = self.pos;
        let mut have_name = false;
        if self.peek() != Some(b'{') {
            match self.scan_ident(NAME_START, NAME_CONT) {
                Some(n) => {
                    self.name = Cow::Borrowed(n);
                    have_name = true;
                }
                None => return Err(self.expected("metric name")),
            }
            if self.format == Format::Text {
                let before = self.pos;
                self.skip_ws();
                if self.peek() != Some(b'{') {
                    self.pos = before;
                }
            }
        }
        if self.peek() == Some(b'{') {
            let mut labels = std::mem::take(&mut self.labels);
            let res = self.label_set(&mut labels, Some(&mut have_name));
            self.labels = labels;
            res?;
        }
        if !have_name {
            return Err(self.err_at(line_begin, ParseErrorKind::MetricNameNotSet));
        }
        Ok(())
    }

    /// What follows the series of a sample line: value, timestamp, exemplar (value and
    /// timestamp), line break.
    #[allow(clippy::type_complexity)]
    fn sample_suffix(
        &mut self,
    ) -> Result<(f64, Option<i64>, Option<(f64, Option<i64>)>), ParseError> {
        self.separator("value after metric")?;
        let value = self.value("value")?;
        let (timestamp, exemplar) = match self.format {
            Format::Text => (self.text_timestamp()?, None),
            Format::OpenMetrics => self.om_suffix()?,
        };
        Ok((value, timestamp, exemplar))
    }

    /// The whitespace between tokens of a sample line: one or more blanks in the text
    /// format, exactly one space in OpenMetrics.
    fn separator(&mut self, expected: &'static str) -> Result<(), ParseError> {
        match (self.peek(), self.format) {
            (Some(b' ' | b'\t'), Format::Text) => {
                self.skip_ws();
                Ok(())
            }
            (Some(b' '), Format::OpenMetrics) => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(self.expected(expected)),
        }
    }

    /// A number token up to the next blank or line break.
    fn token(&mut self) -> &'a [u8] {
        let buf = self.buf;
        let start = self.pos;
        let mut i = start;
        while i < buf.len() && !matches!(buf[i], b' ' | b'\t' | b'\n') {
            i += 1;
        }
        self.pos = i;
        &buf[start..i]
    }

    fn value(&mut self, what: &'static str) -> Result<f64, ParseError> {
        let at = self.pos;
        let tok = self.token();
        if tok.is_empty() || tok[0] == b'#' {
            self.pos = at;
            return Err(self.expected(match what {
                "value" => "value after metric",
                _ => "value after exemplar labels",
            }));
        }
        parse_float(tok).ok_or_else(|| {
            self.err_at(
                at,
                ParseErrorKind::InvalidNumber {
                    what,
                    text: String::from_utf8_lossy(tok).into_owned(),
                },
            )
        })
    }

    fn text_timestamp(&mut self) -> Result<Option<i64>, ParseError> {
        self.skip_ws();
        if matches!(self.peek(), None | Some(b'\n')) {
            self.end_line();
            return Ok(None);
        }
        let at = self.pos;
        let tok = self.token();
        let Some(ts) = parse_int(tok) else {
            return Err(self.err_at(
                at,
                ParseErrorKind::InvalidNumber {
                    what: "timestamp",
                    text: String::from_utf8_lossy(tok).into_owned(),
                },
            ));
        };
        self.skip_ws();
        if !matches!(self.peek(), None | Some(b'\n')) {
            return Err(self.expected("end of line after timestamp"));
        }
        self.end_line();
        Ok(Some(ts))
    }

    /// OpenMetrics: `[ timestamp] [ # {labels} value [timestamp]]` then the line break.
    #[allow(clippy::type_complexity)]
    fn om_suffix(&mut self) -> Result<(Option<i64>, Option<(f64, Option<i64>)>), ParseError> {
        let mut timestamp = None;
        let mut exemplar = None;
        if self.peek() == Some(b' ') {
            self.pos += 1;
            if self.peek() != Some(b'#') {
                timestamp = Some(self.om_timestamp("timestamp")?);
                if self.peek() == Some(b' ') {
                    self.pos += 1;
                    if self.peek() != Some(b'#') {
                        return Err(self.expected("exemplar or end of line after timestamp"));
                    }
                }
            }
            if self.peek() == Some(b'#') {
                exemplar = Some(self.exemplar()?);
            }
        }
        match self.peek() {
            Some(b'\n') => {
                self.end_line();
                Ok((timestamp, exemplar))
            }
            None => Err(self.err_at(self.pos, ParseErrorKind::MissingEof)),
            Some(_) => Err(self.expected(if timestamp.is_some() {
                "end of line after timestamp"
            } else {
                "timestamp or end of line"
            })),
        }
    }

    fn om_timestamp(&mut self, what: &'static str) -> Result<i64, ParseError> {
        let at = self.pos;
        let tok = self.token();
        if tok.is_empty() {
            return Err(self.expected("timestamp"));
        }
        if let Some(ms) = decimal_seconds_to_ms(tok) {
            return Ok(ms);
        }
        match parse_float(tok) {
            Some(ts) if ts.is_finite() =>
            {
                #[allow(clippy::cast_possible_truncation)]
                Ok((ts * 1000.0) as i64)
            }
            _ => Err(self.err_at(
                at,
                ParseErrorKind::InvalidNumber {
                    what,
                    text: String::from_utf8_lossy(tok).into_owned(),
                },
            )),
        }
    }

    fn exemplar(&mut self) -> Result<(f64, Option<i64>), ParseError> {
        // At '#'.
        if !self.buf[self.pos..].starts_with(b"# {") {
            return Err(self.expected("exemplar \"# {\""));
        }
        self.pos += 2;
        let mut labels = std::mem::take(&mut self.exemplar_labels);
        labels.clear();
        let res = self.label_set(&mut labels, None);
        self.exemplar_labels = labels;
        res?;
        self.separator("value after exemplar labels")?;
        let value = self.value("exemplar value")?;
        let mut ts = None;
        if self.peek() == Some(b' ') {
            self.pos += 1;
            ts = Some(self.om_timestamp("exemplar timestamp")?);
        }
        Ok((value, ts))
    }

    /// `{name="value",...}` at the cursor. With `have_name`, a lone quoted string is the
    /// metric name (Prometheus 3 syntax).
    fn label_set(
        &mut self,
        out: &mut Vec<LabelPair<'a>>,
        mut have_name: Option<&mut bool>,
    ) -> Result<(), ParseError> {
        self.pos += 1; // '{'
        loop {
            self.skip_inner_ws();
            let name = match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'"') => {
                    let q_at = self.pos;
                    let q = self.quoted("label name")?;
                    self.skip_inner_ws();
                    if matches!(self.peek(), Some(b',' | b'}')) {
                        let Some(hn) = have_name.as_deref_mut() else {
                            self.pos = q_at;
                            return Err(self.expected("label name"));
                        };
                        if *hn {
                            return Err(self.err_at(q_at, ParseErrorKind::MetricNameAlreadySet));
                        }
                        *hn = true;
                        self.name = q;
                        if self.peek() == Some(b',') {
                            self.pos += 1;
                        }
                        continue;
                    }
                    q
                }
                _ => match self.scan_ident(LABEL_START, LABEL_CONT) {
                    Some(n) => Cow::Borrowed(n),
                    None => return Err(self.expected("label name")),
                },
            };
            self.skip_inner_ws();
            if self.peek() != Some(b'=') {
                return Err(self.expected("\"=\" after label name"));
            }
            self.pos += 1;
            self.skip_inner_ws();
            if self.peek() != Some(b'"') {
                return Err(self.expected("label value"));
            }
            let value = self.quoted("label value")?;
            out.push(LabelPair { name, value });
            self.skip_inner_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => return Err(self.expected("comma or brace close")),
            }
        }
    }
}
