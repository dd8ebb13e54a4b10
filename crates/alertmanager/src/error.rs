//! Errors of the Alertmanager crate: configuration, silences, the notification log, storage.

use std::path::PathBuf;

/// Why an `alertmanager.yml` could not be loaded; `Display` gives Alertmanager's text
/// (what `amtool check-config` prints after `FAILED:`).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("open {}: {}", file.display(), config::error::go_io_text(source))]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Not YAML.
    #[error("yaml: line {line}: {message}")]
    Syntax {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// YAML of the wrong shape (unknown field, wrong type).
    #[error("yaml: unmarshal errors:\n  line {line}: {message}")]
    Unmarshal {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A value Alertmanager refuses, in its words.
    #[error("{0}")]
    Invalid(String),
}

impl ConfigError {
    /// Converts the shared YAML decoder's error into Alertmanager's wording.
    #[must_use]
    pub fn from_yaml(e: config::ConfigError) -> Self {
        match e {
            config::ConfigError::Syntax { line, message, .. } => Self::Syntax { line, message },
            config::ConfigError::Unmarshal { line, message, .. } => {
                Self::Unmarshal { line, message }
            }
            config::ConfigError::Io { file, source } => Self::Io { file, source },
            other => Self::Invalid(other.message()),
        }
    }
}

/// Errors of the silence store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    /// No silence has this id.
    #[error("silence not found")]
    NotFound,
    /// The silence is not valid (`silence invalid: ...`).
    #[error("silence invalid: {0}")]
    Invalid(String),
    /// The silence to expire is already expired.
    #[error("silence {0} already expired")]
    AlreadyExpired(String),
}

/// Errors reading or writing the state under `--storage.path`.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be read or written.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The snapshot does not decode.
    #[error("{}: corrupt snapshot: {message}", file.display())]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// The decoder's error.
        message: String,
    },
}

/// Why a matcher (`name op value`, a `matchers:` entry, a `filter`, a `match_re` value) was
/// refused; `Display` gives Alertmanager's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    /// Not `name op value`.
    #[error("bad matcher format: {0}")]
    Format(String),
    /// A `"` inside the value that is not escaped (the value as written).
    #[error("matcher value contains unescaped double quote: {0}")]
    UnescapedQuote(String),
    /// The label name is not valid.
    #[error("invalid label name {0:?}")]
    LabelName(String),
    /// The regular expression does not compile (Go's reason).
    #[error("error parsing regexp: {0}")]
    Regex(String),
    /// Another regular-expression failure, as the regex layer words it.
    #[error("{0}")]
    Other(String),
}

impl From<MatcherError> for String {
    fn from(e: MatcherError) -> Self {
        e.to_string()
    }
}

/// Why a `time_intervals` entry was refused; `Display` gives Alertmanager's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeIntervalError {
    /// `start_time`/`end_time` not `HH:MM` within the day.
    #[error("couldn't parse timestamp {0}, invalid format")]
    Time(String),
    /// `start_time` not before `end_time`.
    #[error("start time cannot be equal or greater than end time")]
    EmptyTimeRange,
    /// A weekday or month name that does not exist (`what`: `day` or `month`).
    #[error("{value} is not a valid {what}")]
    Name {
        /// The name as written.
        value: String,
        /// `day` or `month`.
        what: &'static str,
    },
    /// A month number outside 1..=12.
    #[error("{0} is not a valid month")]
    Month(String),
    /// A day of the month outside -31..=31 or 0.
    #[error("{0} is not a valid day of the month: out of range")]
    DayOfMonth(String),
    /// A negative or unparsable year.
    #[error("{0} is not a valid year")]
    Year(String),
    /// A weekday range ending before it starts.
    #[error("start day cannot be before end day")]
    WeekdaysReversed,
    /// A month range ending before it starts.
    #[error("end month cannot be before start month")]
    MonthsReversed,
    /// A day-of-month range ending before it starts.
    #[error("end day must be greater than start day")]
    DaysReversed,
    /// A day-of-month range from a negative to a positive day.
    #[error("end day must be negative if start day is negative")]
    DaysSignMismatch,
    /// A year range ending before it starts.
    #[error("end year cannot be before start year")]
    YearsReversed,
    /// A `location` that is not a known time zone.
    #[error("unknown time zone {0}")]
    Location(String),
}
