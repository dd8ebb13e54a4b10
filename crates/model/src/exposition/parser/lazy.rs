//! Lazy sample lines: a sample's series (metric name and label set) handed out as the bytes
//! written, before its labels are parsed, so that a caller that has seen the same bytes
//! before (a scrape cache) reads only the value and skips the labels entirely.

use super::{Entry, ExemplarRef, Parser, SeriesRef};
use crate::exposition::Format;
use crate::exposition::error::ParseError;
use crate::exposition::lex::{CLASS, NAME_CONT, NAME_START, QUOTED_STOP};

/// One entry of [`Parser::next_lazy`].
#[derive(Debug)]
pub enum LazyEntry<'p, 'a> {
    /// A sample line whose series is these bytes, exactly as written (for example
    /// `http_requests_total{code="200"}`): the same bytes always mean the same name and
    /// labels. Read the line on with [`Parser::sample_rest`] (value only, labels not checked)
    /// or [`Parser::sample_full`] (labels parsed and checked).
    Sample(&'a [u8]),
    /// Any other entry. A sample line whose series the quick scan could not delimit (it is
    /// malformed, or the scan is unsure) arrives here already parsed, as [`Entry::Series`].
    Other(Entry<'p, 'a>),
}

/// What follows the series on a sample line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRest<'p, 'a> {
    /// The value; a parsed `NaN` has Prometheus's normal NaN bits.
    pub value: f64,
    /// Timestamp in milliseconds (text: as written; OpenMetrics: seconds × 1000).
    pub timestamp: Option<i64>,
    /// The exemplar (OpenMetrics only).
    pub exemplar: Option<ExemplarRef<'p, 'a>>,
}

impl<'a> Parser<'a> {
    /// The next entry, with sample lines as [`LazyEntry::Sample`]: their series bytes,
    /// unparsed. `Ok(None)` at the end of the input.
    ///
    /// After a [`LazyEntry::Sample`], call [`Parser::sample_rest`] or [`Parser::sample_full`]
    /// before the next entry; when neither was called, the next call parses the sample in full
    /// first (so a malformed line is still reported).
    ///
    /// Only bytes that were once parsed in full in the same [`Format`] may be trusted with
    /// [`Parser::sample_rest`]: the quick scan finds where the series ends, it does not check
    /// its names, quoting or blanks.
    ///
    /// # Errors
    /// A [`ParseError`] naming line, column and what was expected.
    pub fn next_lazy(&mut self) -> Result<Option<LazyEntry<'_, 'a>>, ParseError> {
        self.next_lazy_guessed(None::<(usize, fn(&[u8]) -> bool)>)
    }

    /// [`Parser::next_lazy`] with a guess at the next sample's series: its length and a test
    /// of bytes (a scrape cache knows the series the previous scrape had at this place). When
    /// the next sample line starts with that many bytes, the last of them a `}`, and `is_it`
    /// accepts them, they are the series without scanning the line for its end; else the line
    /// is scanned.
    ///
    /// `is_it` must accept only bytes that were once the whole series of a sample line in
    /// this parser's format: a scan of the same bytes ends at the same `}`, so they are the
    /// series here too. (Not in another format: a blank before the brace ends the series
    /// in OpenMetrics, not in the text format.)
    ///
    /// # Errors
    /// As [`Parser::next_lazy`].
    pub fn next_lazy_guessed(
        &mut self,
        mut guess: Option<(usize, impl FnOnce(&[u8]) -> bool)>,
    ) -> Result<Option<LazyEntry<'_, 'a>>, ParseError> {
        self.finish_pending()?;
        if self.done {
            return Ok(None);
        }
        loop {
            let start = self.pos;
            if start >= self.buf.len() {
                break;
            }
            if self.format == Format::Text {
                self.skip_ws();
            }
            match self.peek() {
                Some(b'\n') if self.format == Format::Text => self.end_line(),
                Some(b'#' | b'\n') | None => {
                    self.pos = start;
                    break;
                }
                Some(_) => {
                    let at = self.pos;
                    let buf = self.buf;
                    let guessed = guess
                        .take()
                        .filter(|&(len, _)| len > 0 && buf.get(at + len - 1) == Some(&b'}'))
                        .and_then(|(len, is_it)| is_it(&buf[at..at + len]).then_some(at + len));
                    if let Some(end) = guessed.or_else(|| self.scan_series(at)) {
                        self.line_start = start;
                        self.pending = Some((at, end));
                        self.pos = end;
                        return Ok(Some(LazyEntry::Sample(&buf[at..end])));
                    }
                    self.pos = start;
                    break;
                }
            }
        }
        Ok(self.next_entry()?.map(LazyEntry::Other))
    }

    /// Value, timestamp and exemplar of the sample [`Parser::next_lazy`] just returned, without
    /// parsing its labels.
    ///
    /// # Errors
    /// A malformed value, timestamp or exemplar.
    ///
    /// # Panics
    /// When the last entry was not a [`LazyEntry::Sample`] or was already read.
    pub fn sample_rest(&mut self) -> Result<SampleRest<'_, 'a>, ParseError> {
        assert!(
            self.pending.take().is_some(),
            "sample_rest without a pending sample"
        );
        match self.sample_suffix() {
            Ok((value, timestamp, exemplar)) => Ok(SampleRest {
                value,
                timestamp,
                exemplar: exemplar.map(|(value, timestamp)| ExemplarRef {
                    labels: &self.exemplar_labels,
                    value,
                    timestamp,
                }),
            }),
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// The sample [`Parser::next_lazy`] just returned, parsed in full (name and labels checked
    /// as [`Parser::next_entry`] checks them).
    ///
    /// # Errors
    /// A malformed line.
    ///
    /// # Panics
    /// When the last entry was not a [`LazyEntry::Sample`] or was already read.
    pub fn sample_full(&mut self) -> Result<SeriesRef<'_, 'a>, ParseError> {
        let Some((at, end)) = self.pending.take() else {
            panic!("sample_full without a pending sample");
        };
        self.pos = at;
        let parsed = self.sample_series().and_then(|()| {
            debug_assert_eq!(self.pos, end, "the quick scan and the parser disagree");
            self.sample_suffix()
        });
        match parsed {
            Ok((value, timestamp, exemplar)) => Ok(self.series_ref(value, timestamp, exemplar)),
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// Parses a sample left pending by [`Parser::next_lazy`], so that errors in it are still
    /// reported.
    pub(super) fn finish_pending(&mut self) -> Result<(), ParseError> {
        if self.pending.is_some() {
            self.sample_full()?;
        }
        Ok(())
    }

    /// Where the series of the sample line starting at `at` ends: after the metric name, or
    /// after the brace closing its label set (skipping quoted strings). Names, blanks and
    /// escapes are not checked: the bytes found are only trusted once a full parse of the
    /// same bytes succeeded. `None` when the line ends first.
    fn scan_series(&self, at: usize) -> Option<usize> {
        let buf = self.buf;
        let mut i = at;
        if buf[i] != b'{' {
            if CLASS[buf[i] as usize] & NAME_START == 0 {
                return None;
            }
            i += 1;
            while i < buf.len() && CLASS[buf[i] as usize] & NAME_CONT != 0 {
                i += 1;
            }
            let name_end = i;
            if self.format == Format::Text {
                while let Some(b' ' | b'\t') = buf.get(i) {
                    i += 1;
                }
            }
            if buf.get(i) != Some(&b'{') {
                return Some(name_end);
            }
        }
        i += 1;
        loop {
            match *buf.get(i)? {
                b'}' => return Some(i + 1),
                b'\n' => return None,
                b'"' => {
                    i += 1;
                    loop {
                        while CLASS[*buf.get(i)? as usize] & QUOTED_STOP == 0 {
                            i += 1;
                        }
                        match buf[i] {
                            b'"' => break,
                            b'\\' if buf.get(i + 1).is_some_and(|&c| c != b'\n') => i += 2,
                            _ => return None,
                        }
                    }
                    i += 1;
                }
                _ => i += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How each mode of reading saw an input: one line per entry, then the error if any.
    fn read_full(input: &str, format: Format) -> Vec<String> {
        let mut p = Parser::new(input.as_bytes(), format);
        let mut out = Vec::new();
        loop {
            match p.next_entry() {
                Ok(Some(e)) => out.push(format!("{e:?}")),
                Ok(None) => return out,
                Err(e) => {
                    out.push(format!("error: {e}"));
                    return out;
                }
            }
        }
    }

    /// Reads with [`Parser::next_lazy`] and [`Parser::sample_full`]; also checks that the
    /// series bytes alone parse to the same name and labels.
    fn read_lazy_full(input: &str, format: Format) -> Vec<String> {
        let mut p = Parser::new(input.as_bytes(), format);
        let mut out = Vec::new();
        loop {
            let series = match p.next_lazy() {
                Ok(Some(LazyEntry::Sample(series))) => series,
                Ok(Some(LazyEntry::Other(e))) => {
                    out.push(format!("{e:?}"));
                    continue;
                }
                Ok(None) => return out,
                Err(e) => {
                    out.push(format!("error: {e}"));
                    return out;
                }
            };
            match p.sample_full() {
                Ok(s) => {
                    let alone = series_alone(series, format);
                    assert_eq!(alone, format!("{:?}{:?}", s.name, s.labels), "{input:?}");
                    out.push(format!("{:?}", Entry::Series(s)));
                }
                Err(e) => {
                    out.push(format!("error: {e}"));
                    return out;
                }
            }
        }
    }

    /// Name and labels of `series` parsed on a line of its own.
    fn series_alone(series: &[u8], format: Format) -> String {
        let mut line = series.to_vec();
        line.extend_from_slice(b" 1\n");
        if format == Format::OpenMetrics {
            line.extend_from_slice(b"# EOF\n");
        }
        let mut p = Parser::new(&line, format);
        match p.next_entry().unwrap() {
            Some(Entry::Series(s)) => format!("{:?}{:?}", s.name, s.labels),
            other => panic!("{other:?}"),
        }
    }

    /// Reads with [`Parser::next_lazy`] and [`Parser::sample_rest`]: value, timestamp and
    /// exemplar of each sample.
    fn read_lazy_rest(input: &str, format: Format) -> Vec<String> {
        let mut p = Parser::new(input.as_bytes(), format);
        let mut out = Vec::new();
        loop {
            match p.next_lazy() {
                Ok(Some(LazyEntry::Sample(_))) => match p.sample_rest() {
                    Ok(r) => out.push(format!("{:?} {:?} {:?}", r.value, r.timestamp, r.exemplar)),
                    Err(e) => {
                        out.push(format!("error: {e}"));
                        return out;
                    }
                },
                Ok(Some(LazyEntry::Other(Entry::Series(s)))) => {
                    out.push(format!("{:?} {:?} {:?}", s.value, s.timestamp, s.exemplar));
                }
                Ok(Some(LazyEntry::Other(e))) => out.push(format!("{e:?}")),
                Ok(None) => return out,
                Err(e) => {
                    out.push(format!("error: {e}"));
                    return out;
                }
            }
        }
    }

    /// The full reading with samples shown as [`read_lazy_rest`] shows them.
    fn full_as_rest(input: &str, format: Format) -> Vec<String> {
        let mut p = Parser::new(input.as_bytes(), format);
        let mut out = Vec::new();
        loop {
            match p.next_entry() {
                Ok(Some(Entry::Series(s))) => {
                    out.push(format!("{:?} {:?} {:?}", s.value, s.timestamp, s.exemplar));
                }
                Ok(Some(e)) => out.push(format!("{e:?}")),
                Ok(None) => return out,
                Err(e) => {
                    out.push(format!("error: {e}"));
                    return out;
                }
            }
        }
    }

    const TEXT: &[&str] = &[
        "# HELP a Help.\n# TYPE a counter\na 1\n",
        "a{x=\"1\",y=\"2\"} 3 1000\n\n   b 4\n",
        "  a {x=\"1\"}   5  \t 7\n",
        "a{x=\"va}l\",y=\"q\\\"uo\\\\te\\n\"} 1\n",
        "{\"my.metric\",x=\"1\"} 2\n{x=\"1\", \"other.metric\" } 3\n",
        "a{ x = \"1\" , } 1\n",
        "a{} NaN\nb +Inf -5\n",
        "a{x=\"ünïcode\"} 1\n# just a comment\n",
        "a 1\nb{x=\"1\"} 2",
        "a_b:c{le=\"0.5\"} 1e3\n",
        // Malformed lines: every mode must report the same error.
        "a{x=\"1\" 1\n",
        "a{x=\"1\n\"} 1\n",
        "a{x=\"1\\\n\"} 1\n",
        "a{x=1} 1\n",
        "a{1x=\"1\"} 1\n",
        "a 1 2 3\n",
        "a xyz\n",
        "a{x=\"1\"}\n",
        "1a 1\n",
        "{x=\"1\"} 1\n",
        "{\"a\",\"b\"} 1\n",
        "a{x=\"1\"}} 1\n",
        "a{x=\"\\",
        "a{",
        "a",
    ];

    const OPENMETRICS: &[&str] = &[
        "# TYPE a counter\n# UNIT a_seconds seconds\na_total{x=\"1\"} 1 1.5 # {t=\"}\"} 2 3\n# EOF\n",
        "a 1\nb{x=\"a b\"} 2 # {} 1\n# EOF\n",
        "{\"my.metric\"} 1\n# EOF\n",
        "a 1\n# EOF",
        // Malformed.
        "a {x=\"1\"} 1\n# EOF\n",
        "a{x=\"1\", y=\"2\"} 1\n# EOF\n",
        "a  1\n# EOF\n",
        "a 1\n",
        "a 1 # {x=\"1\"\n# EOF\n",
        "\na 1\n# EOF\n",
    ];

    fn all() -> impl Iterator<Item = (&'static str, Format)> {
        TEXT.iter()
            .map(|s| (*s, Format::Text))
            .chain(OPENMETRICS.iter().map(|s| (*s, Format::OpenMetrics)))
    }

    #[test]
    fn lazy_full_reads_like_next_entry() {
        for (input, format) in all() {
            assert_eq!(
                read_lazy_full(input, format),
                read_full(input, format),
                "{input:?}"
            );
        }
    }

    #[test]
    fn lazy_rest_reads_values_like_next_entry() {
        for (input, format) in all() {
            let full = full_as_rest(input, format);
            let rest = read_lazy_rest(input, format);
            // Without the label checks, a line malformed in its series part may go unnoticed
            // by `sample_rest`; every well-formed input reads the same.
            if !full.last().is_some_and(|l| l.starts_with("error")) {
                assert_eq!(rest, full, "{input:?}");
            }
        }
    }

    #[test]
    fn sample_bytes_are_the_series_as_written() {
        let input = "  a {x=\"}\"}\t1\nb 2 3\n{\"c.d\"} 4\n";
        let mut p = Parser::new(input.as_bytes(), Format::Text);
        let mut got = Vec::new();
        while let Some(e) = p.next_lazy().unwrap() {
            if let LazyEntry::Sample(s) = e {
                got.push(String::from_utf8(s.to_vec()).unwrap());
                p.sample_rest().unwrap();
            }
        }
        assert_eq!(got, ["a {x=\"}\"}", "b", "{\"c.d\"}"]);
    }

    /// Series bytes and values read with a guess per sample line: `guess(i)` for the i-th.
    fn read_guessed(input: &str, guess: impl Fn(usize) -> Option<usize>) -> (Vec<String>, usize) {
        let mut p = Parser::new(input.as_bytes(), Format::Text);
        let (mut out, mut asked) = (Vec::new(), 0);
        let input_bytes = input.as_bytes();
        loop {
            let n = out.len();
            // The test accepts exactly the bytes of the line's real series (what a scrape
            // cache's hash of the previous scrape's series accepts).
            let is_it = |b: &[u8]| {
                asked += 1;
                let real = read_full_series(input_bytes)[n].clone();
                b == real.as_slice()
            };
            match p
                .next_lazy_guessed(guess(n).map(|len| (len, is_it)))
                .unwrap()
            {
                Some(LazyEntry::Sample(series)) => {
                    let series = String::from_utf8_lossy(series).into_owned();
                    let v = p.sample_rest().unwrap().value;
                    out.push(format!("{series} = {v}"));
                }
                Some(LazyEntry::Other(_)) => {}
                None => return (out, asked),
            }
        }
    }

    /// The series bytes of every sample line of `input`, as the scan finds them.
    fn read_full_series(input: &[u8]) -> Vec<Vec<u8>> {
        let mut p = Parser::new(input, Format::Text);
        let mut out = Vec::new();
        while let Some(e) = p.next_lazy().unwrap() {
            if let LazyEntry::Sample(s) = e {
                out.push(s.to_vec());
                p.sample_full().unwrap();
            }
        }
        out
    }

    #[test]
    fn a_guessed_series_is_taken_only_when_its_last_byte_closes_it_and_the_test_accepts() {
        let input = "# TYPE a counter\na{x=\"1\"} 1\nb{y=\"}\"} 2\nc 3\n  d{z=\"4\"} 4\n";
        let scanned = read_guessed(input, |_| None).0;
        assert_eq!(
            scanned,
            [
                "a{x=\"1\"} = 1",
                "b{y=\"}\"} = 2",
                "c = 3",
                "d{z=\"4\"} = 4"
            ]
        );
        // The right lengths: the same reading, each guess tested except c's (no brace).
        let right = [8, 8, 1, 8];
        let (got, asked) = read_guessed(input, |i| right.get(i).copied());
        assert_eq!((got, asked), (scanned.clone(), 3));
        // Wrong lengths: b's first 6 bytes end in a quoted `}` but the test refuses them;
        // lengths past the line or not ending in `}` are not tested; the scan finds each.
        let wrong = [7, 6, 9, 100];
        let (got, asked) = read_guessed(input, |i| wrong.get(i).copied());
        assert_eq!((got, asked), (scanned, 1));
    }

    #[test]
    fn an_unread_sample_is_still_checked() {
        let mut p = Parser::new(b"a{x=1} 1\nb 2\n", Format::Text);
        assert!(matches!(
            p.next_lazy(),
            Ok(Some(LazyEntry::Sample(b"a{x=1}")))
        ));
        let err = p.next_lazy().unwrap_err();
        assert_eq!(err.line, 1, "{err}");
        assert!(
            p.next_lazy().unwrap().is_none(),
            "the parser stops after an error"
        );
    }

    #[test]
    fn errors_in_the_value_name_the_line() {
        let mut p = Parser::new(b"a 1\nb{x=\"1\"} oops\n", Format::Text);
        assert!(matches!(p.next_lazy(), Ok(Some(LazyEntry::Sample(b"a")))));
        assert_eq!(p.sample_rest().unwrap().value, 1.0);
        assert!(matches!(p.next_lazy(), Ok(Some(LazyEntry::Sample(_)))));
        let err = p.sample_rest().unwrap_err();
        assert_eq!((err.line, err.column), (2, 10), "{err}");
    }
}
