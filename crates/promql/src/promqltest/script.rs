//! Reads promqltest scripts into commands: `load`, `clear` and `eval` with their
//! expectations, following the rules of Prometheus's `promql/promqltest` harness.

use model::Labels;
use model::matcher::FastRegex;

use super::series_desc::{
    SeqValue, parse_duration, parse_number, parse_series_desc, parse_values, unquote,
};
use super::start_ts::{is_st_line, parse_st_line};

/// A script command.
#[derive(Debug)]
pub enum Command {
    /// Drop all data.
    Clear,
    /// Append series.
    Load(LoadCmd),
    /// Evaluate and check.
    Eval(Box<EvalCmd>),
}

/// `load <step>`: series whose value `i` is at `i * step`.
#[derive(Debug)]
pub struct LoadCmd {
    /// 1-based line of the command.
    pub line: usize,
    /// Interval between values, in milliseconds.
    pub step_ms: i64,
    /// `load_with_nhcb`: classic histograms are also loaded as custom-bucket native ones.
    pub with_nhcb: bool,
    /// The series in order of first appearance (a repeated label set replaces the values).
    pub series: Vec<(Labels, Vec<SeqValue>)>,
    /// Start timestamps of series given an `@st` line: one offset (milliseconds from the
    /// sample's time; `None` for none) per value of the series line that follows it.
    pub starts: Vec<(Labels, Vec<Option<i64>>)>,
}

/// How a query is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalKind {
    /// `eval instant at <t>`.
    Instant {
        /// Evaluation time in milliseconds.
        at: i64,
    },
    /// `eval range from <s> to <e> step <d>`.
    Range {
        /// Start in milliseconds.
        start: i64,
        /// End in milliseconds.
        end: i64,
        /// Step in milliseconds.
        step: i64,
    },
}

/// The kinds of `expect` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectKind {
    /// `expect ordered`
    Ordered,
    /// `expect fail`
    Fail,
    /// `expect warn`
    Warn,
    /// `expect no_warn`
    NoWarn,
    /// `expect info`
    Info,
    /// `expect no_info`
    NoInfo,
}

/// What an `expect` line requires of a message.
#[derive(Debug, Clone)]
pub enum Matching {
    /// Exactly this text.
    Message(String),
    /// An unanchored regular expression (the pattern text, and it compiled).
    Regex(String, Box<FastRegex>),
}

impl Matching {
    /// Whether `s` satisfies this expectation.
    #[must_use]
    pub fn matches(&self, s: &str) -> bool {
        match self {
            Matching::Message(m) => m == s,
            Matching::Regex(_, re) => re.is_match(s),
        }
    }

    /// The text for messages.
    #[must_use]
    pub fn text(&self) -> &str {
        match self {
            Matching::Message(m) | Matching::Regex(m, _) => m,
        }
    }

    fn regex(pattern: &str) -> Result<Self, String> {
        let re = FastRegex::new(&format!(".*(?:{pattern}).*")).map_err(|e| e.to_string())?;
        Ok(Matching::Regex(pattern.to_owned(), Box::new(re)))
    }
}

/// An expected result series.
#[derive(Debug, Clone)]
pub struct ExpectedSeries {
    /// The full label set.
    pub labels: Labels,
    /// 1-based position among result lines (for `ordered`).
    pub pos: usize,
    /// The values (one for instant queries).
    pub values: Vec<SeqValue>,
}

/// An `eval` command with its expectations.
#[derive(Debug)]
pub struct EvalCmd {
    /// 1-based line of the command.
    pub line: usize,
    /// The query text.
    pub expr: String,
    /// Instant or range.
    pub kind: EvalKind,
    /// Deprecated `eval_fail`.
    pub fail: bool,
    /// Deprecated `eval_warn`.
    pub warn: bool,
    /// Deprecated `eval_info`.
    pub info: bool,
    /// Deprecated `eval_ordered`.
    pub ordered: bool,
    /// `expected_fail_message` after `eval_fail`.
    pub expected_fail_message: Option<String>,
    /// `expected_fail_regexp` after `eval_fail`.
    pub expected_fail_regexp: Option<Matching>,
    /// The `expect` lines.
    pub expects: Vec<(ExpectKind, Matching)>,
    /// A bare number line: a scalar result is expected.
    pub expect_scalar: Option<f64>,
    /// Expected series.
    pub expected: Vec<ExpectedSeries>,
    /// `expect string "..."`.
    pub expected_string: Option<String>,
    /// `expect range vector from a to b step s` (milliseconds).
    pub range_vector: Option<(i64, i64, i64)>,
    /// Skip the extra range-mode run.
    pub exclude_from_range: bool,
}

impl EvalCmd {
    /// Whether the query must fail.
    #[must_use]
    pub fn is_fail(&self) -> bool {
        self.fail || self.expects_of(ExpectKind::Fail).next().is_some()
    }

    /// Whether the result order is checked.
    #[must_use]
    pub fn is_ordered(&self) -> bool {
        self.ordered || self.expects_of(ExpectKind::Ordered).next().is_some()
    }

    /// The expectations of one kind.
    pub fn expects_of(&self, kind: ExpectKind) -> impl Iterator<Item = &Matching> {
        self.expects
            .iter()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, m)| m)
    }
}

/// A script error with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> ScriptError {
    ScriptError {
        line: line + 1,
        message: message.into(),
    }
}

/// Parses a whole script.
///
/// # Errors
/// The first malformed command.
pub fn parse_script(input: &str) -> Result<Vec<Command>, ScriptError> {
    let lines: Vec<String> = input
        .split('\n')
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') {
                String::new()
            } else {
                t.to_owned()
            }
        })
        .collect();
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if l.is_empty() {
            i += 1;
            continue;
        }
        let first = l
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if first == "clear" {
            cmds.push(Command::Clear);
        } else if first.starts_with("load") {
            let (ni, cmd) = parse_load(&lines, i)?;
            i = ni;
            cmds.push(Command::Load(cmd));
        } else if first.starts_with("eval") {
            let (ni, cmd) = parse_eval(&lines, i)?;
            i = ni;
            cmds.push(Command::Eval(Box::new(cmd)));
        } else {
            return Err(err(i, format!("invalid command {l:?}")));
        }
        i += 1;
    }
    Ok(cmds)
}

fn parse_load(lines: &[String], mut i: usize) -> Result<(usize, LoadCmd), ScriptError> {
    let mut words = lines[i].split_whitespace();
    let head = words.next().unwrap_or("");
    let with_nhcb = match head {
        "load" => false,
        "load_with_nhcb" => true,
        _ => {
            return Err(err(
                i,
                "invalid load command. (load[_with_nhcb] <step:duration>)",
            ));
        }
    };
    let step_txt = words.collect::<Vec<_>>().join(" ");
    let step_ms = parse_duration(&step_txt)
        .map_err(|e| err(i, format!("invalid step definition {step_txt:?}: {e}")))?;
    let mut cmd = LoadCmd {
        line: i + 1,
        step_ms,
        with_nhcb,
        series: Vec::new(),
        starts: Vec::new(),
    };
    // An `@st` line and its line number, waiting for the series line it belongs to.
    let mut pending: Option<(usize, Labels, Vec<Option<i64>>)> = None;
    while i + 1 < lines.len() && !lines[i + 1].is_empty() {
        i += 1;
        let line = &lines[i];
        if is_st_line(line) {
            if let Some((at, ..)) = pending {
                return Err(err(at, "@st line has no following sample line"));
            }
            let (series, offsets) = parse_st_line(line).map_err(|e| err(i, e))?;
            let (labels, _) = parse_series_desc(&format!("{series} _"))
                .map_err(|e| err(i, format!("invalid @st line metric {series:?}: {e}")))?;
            pending = Some((i, labels, offsets));
            continue;
        }
        let (labels, values) = parse_series_desc(line).map_err(|e| err(i, e))?;
        cmd.starts.retain(|(l, _)| *l != labels);
        if let Some((at, st_labels, offsets)) = pending.take() {
            if st_labels != labels {
                return Err(err(
                    at,
                    "@st metric does not match the following sample line metric",
                ));
            }
            if offsets.len() != values.len() {
                return Err(err(
                    at,
                    format!(
                        "@st line has {} values but sample line has {}",
                        offsets.len(),
                        values.len()
                    ),
                ));
            }
            cmd.starts.push((labels.clone(), offsets));
        }
        match cmd.series.iter_mut().find(|(l, _)| *l == labels) {
            Some(entry) => entry.1 = values,
            None => cmd.series.push((labels, values)),
        }
    }
    if let Some((at, ..)) = pending {
        return Err(err(at, "@st line has no following sample line"));
    }
    Ok((i, cmd))
}

/// Splits off the first `n` whitespace-separated words; returns them and the rest.
fn split_words(s: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut words = Vec::new();
    let mut rest = s;
    for _ in 0..n {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace)?;
        words.push(&rest[..end]);
        rest = &rest[end..];
    }
    Some((words, rest.trim()))
}

fn parse_eval(lines: &[String], mut i: usize) -> Result<(usize, EvalCmd), ScriptError> {
    let line = &lines[i];
    let bad = || {
        err(
            i,
            "invalid evaluation command. Must be either 'eval[_fail|_warn|_ordered] instant [at <offset:duration>] <query>' or 'eval[_fail|_warn] range from <from> to <to> step <step> <query>'",
        )
    };
    let (head, _) = split_words(line, 2).ok_or_else(bad)?;
    let modifier = head[0].strip_prefix("eval").ok_or_else(bad)?;
    let modifier = match modifier {
        "" => "",
        m => m.strip_prefix('_').ok_or_else(bad)?,
    };
    let (kind, expr) = match head[1] {
        "instant" => {
            let (w, expr) = split_words(line, 4).ok_or_else(bad)?;
            if w[2] != "at" || expr.is_empty() {
                return Err(bad());
            }
            let at = parse_duration(w[3])
                .map_err(|e| err(i, format!("invalid timestamp definition {:?}: {e}", w[3])))?;
            (EvalKind::Instant { at }, expr)
        }
        "range" => {
            let (w, expr) = split_words(line, 8).ok_or_else(bad)?;
            if w[2] != "from"
                || w[4] != "to"
                || w[6] != "step"
                || expr.is_empty()
                || modifier == "ordered"
            {
                return Err(bad());
            }
            let p = |s: &str| {
                parse_duration(s).map_err(|e| err(i, format!("invalid duration {s:?}: {e}")))
            };
            let (start, end, step) = (p(w[3])?, p(w[5])?, p(w[7])?);
            if end < start {
                return Err(err(
                    i,
                    format!(
                        "invalid test definition, end timestamp ({}) is before start timestamp ({})",
                        w[5], w[3]
                    ),
                ));
            }
            (EvalKind::Range { start, end, step }, expr)
        }
        _ => return Err(bad()),
    };
    if !matches!(modifier, "" | "fail" | "warn" | "info" | "ordered") {
        return Err(bad());
    }
    let mut cmd = EvalCmd {
        line: i + 1,
        expr: expr.to_owned(),
        kind,
        fail: modifier == "fail",
        warn: modifier == "warn",
        info: modifier == "info",
        ordered: modifier == "ordered",
        expected_fail_message: None,
        expected_fail_regexp: None,
        expects: Vec::new(),
        expect_scalar: None,
        expected: Vec::new(),
        expected_string: None,
        range_vector: None,
        exclude_from_range: false,
    };
    let is_instant = matches!(kind, EvalKind::Instant { .. });
    let mut j = 1usize;
    while i + 1 < lines.len() {
        i += 1;
        let def = &lines[i];
        if def.is_empty() {
            i -= 1;
            break;
        }
        let this_j = j;
        j += 1;
        if cmd.fail {
            if let Some(m) = def.strip_prefix("expected_fail_message") {
                cmd.expected_fail_message = Some(m.trim().to_owned());
                break;
            }
            if let Some(m) = def.strip_prefix("expected_fail_regexp") {
                cmd.expected_fail_regexp = Some(Matching::regex(m.trim()).map_err(|e| err(i, e))?);
                break;
            }
        }
        if let Some(rest) = def.strip_prefix("expect range vector") {
            let padded = format!("{rest} ");
            let (w, _) = split_words(&padded, 6)
                .ok_or_else(|| err(i, format!("invalid range vector definition {def:?}")))?;
            if w[0] != "from" || w[2] != "to" || w[4] != "step" {
                return Err(err(i, format!("invalid range vector definition {def:?}")));
            }
            let p = |s: &str| parse_duration(s).map_err(|e| err(i, e));
            let (a, b, s) = (p(w[1])?, p(w[3])?, p(w[5])?);
            cmd.range_vector = Some((a, b, s));
            cmd.kind = EvalKind::Instant { at: b };
            cmd.exclude_from_range = true;
            continue;
        }
        if let Some(rest) = def.strip_prefix("expect string") {
            let lit = rest.trim();
            if lit.is_empty() {
                return Err(err(
                    i,
                    "expected string literal not valid - a quoted string literal is required",
                ));
            }
            cmd.expected_string = Some(unquote(lit).map_err(|_| {
                err(
                    i,
                    "expected string literal not valid - check that the string is correctly quoted",
                )
            })?);
            cmd.exclude_from_range = true;
            continue;
        }
        if def.split(' ').next() == Some("expect") {
            let (kind, m) = parse_expect(def).map_err(|e| err(i, e))?;
            cmd.expects.push((kind, m));
            j -= 1;
            validate_expects(&cmd).map_err(|e| err(i, e))?;
            continue;
        }
        if let Ok(f) = parse_go_number(def) {
            cmd.expect_scalar = Some(f);
            cmd.expected.clear();
            break;
        }
        let (labels, values) = parse_series_desc(def).map_err(|e| err(i, e))?;
        if values.len() > 1 && is_instant && cmd.range_vector.is_none() {
            return Err(err(
                i,
                "expecting multiple values in instant evaluation not allowed",
            ));
        }
        cmd.expect_scalar = None;
        match cmd.expected.iter_mut().find(|e| e.labels == labels) {
            Some(e) => {
                e.pos = this_j;
                e.values = values;
            }
            None => cmd.expected.push(ExpectedSeries {
                labels,
                pos: this_j,
                values,
            }),
        }
    }
    Ok((i, cmd))
}

/// A bare number line (Go `ParseInt(s, 0, 64)` then `ParseFloat`).
fn parse_go_number(s: &str) -> Result<f64, String> {
    if s.contains(char::is_whitespace)
        || s.contains('{')
        || s.chars()
            .any(|c| c.is_ascii_alphabetic() && !"eEinfINFaAxX".contains(c))
    {
        return Err("not a number".to_owned());
    }
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if !(body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        || body == "inf"
        || body == "infinity"
        || body == "nan")
    {
        return Err("not a number".to_owned());
    }
    parse_number(s)
}

fn parse_expect(line: &str) -> Result<(ExpectKind, Matching), String> {
    let rest = line["expect".len()..].trim_start();
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let kind = match &rest[..end] {
        "ordered" => ExpectKind::Ordered,
        "fail" => ExpectKind::Fail,
        "warn" => ExpectKind::Warn,
        "no_warn" => ExpectKind::NoWarn,
        "info" => ExpectKind::Info,
        "no_info" => ExpectKind::NoInfo,
        other => return Err(format!("invalid expected error/annotation type {other}")),
    };
    let opt = rest[end..].trim();
    if opt.is_empty() {
        return Ok((kind, Matching::regex("^.*$")?));
    }
    if let Some(m) = opt.strip_prefix("msg:") {
        return Ok((kind, Matching::Message(m.trim().to_owned())));
    }
    if let Some(r) = opt.strip_prefix("regex:") {
        return Ok((
            kind,
            Matching::regex(r.trim())
                .map_err(|_| format!("invalid regex {} for {:?}", r.trim(), kind))?,
        ));
    }
    Err(
        "invalid expect statement, must match `expect <type> <match_type>: <string>` format"
            .to_owned(),
    )
}

fn validate_expects(cmd: &EvalCmd) -> Result<(), String> {
    let n = |k| cmd.expects_of(k).count();
    if n(ExpectKind::Info) > 0 && n(ExpectKind::NoInfo) > 0 {
        return Err("invalid expect lines, info and no_info cannot be used together".to_owned());
    }
    if n(ExpectKind::Warn) > 0 && n(ExpectKind::NoWarn) > 0 {
        return Err("invalid expect lines, warn and no_warn cannot be used together".to_owned());
    }
    if n(ExpectKind::Fail) > 1 {
        return Err("invalid expect lines, multiple expect fail lines are not allowed".to_owned());
    }
    Ok(())
}

/// Parses the values of an expected line (exposed for tests).
///
/// # Errors
/// A message for malformed values.
pub fn parse_expected_values(text: &str) -> Result<Vec<SeqValue>, String> {
    parse_values(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "
# comment
load 5m
  http_requests{job=\"a\"} 0+10x10
  http_requests{job=\"b\"} 0+20x10

eval instant at 50m sum(http_requests)
  {} 300

eval range from 0 to 10m step 5m http_requests{job=\"a\"}
  expect no_warn
  http_requests{job=\"a\"} 0 10 20

eval instant at 0m 1 + 1
  2

eval_fail instant at 0m foo(
  expected_fail_message some error

clear
eval instant at 1m vector(1)
  expect ordered
  expect warn msg: PromQL warning: x (1:1)
  {} 1
";

    #[test]
    fn parses_commands_and_expectations() {
        let cmds = parse_script(SCRIPT).unwrap();
        assert_eq!(cmds.len(), 7);
        let Command::Load(l) = &cmds[0] else {
            panic!("load")
        };
        assert_eq!(
            (l.step_ms, l.series.len(), l.series[0].1.len()),
            (300_000, 2, 11)
        );
        let Command::Eval(e) = &cmds[1] else {
            panic!("eval")
        };
        assert_eq!(e.kind, EvalKind::Instant { at: 3_000_000 });
        assert_eq!(e.expr, "sum(http_requests)");
        assert_eq!(e.expected[0].labels, Labels::empty());
        let Command::Eval(e) = &cmds[2] else {
            panic!("eval")
        };
        assert_eq!(
            e.kind,
            EvalKind::Range {
                start: 0,
                end: 600_000,
                step: 300_000
            }
        );
        assert_eq!(e.expects_of(ExpectKind::NoWarn).count(), 1);
        let Command::Eval(e) = &cmds[3] else {
            panic!("eval")
        };
        assert_eq!(e.expect_scalar, Some(2.0));
        let Command::Eval(e) = &cmds[4] else {
            panic!("eval")
        };
        assert!(e.is_fail());
        assert_eq!(e.expected_fail_message.as_deref(), Some("some error"));
        assert!(matches!(cmds[5], Command::Clear));
        let Command::Eval(e) = &cmds[6] else {
            panic!("eval")
        };
        assert!(e.is_ordered());
        assert_eq!(
            e.expected[0].pos, 1,
            "expect lines do not count as positions"
        );
        assert!(
            e.expects_of(ExpectKind::Warn)
                .next()
                .unwrap()
                .matches("PromQL warning: x (1:1)")
        );
    }

    #[test]
    fn rejects_bad_scripts() {
        assert!(parse_script("foo bar").is_err());
        assert!(parse_script("eval range from 10m to 0 step 1m x").is_err());
        assert!(parse_script("eval instant at 0 x\n  expect warn\n  expect no_warn").is_err());
        assert!(parse_script("eval instant at 0 x\n  a 1 2").is_err());
    }
}
