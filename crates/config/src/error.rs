//! Errors of the configuration and rule-file loaders, with file, line and column.

use std::path::PathBuf;

/// Why a configuration file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("open {}: {}", file.display(), go_io_text(source))]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The text is not YAML.
    #[error("parsing YAML file {}: yaml: line {line}, column {column}: {message}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// The YAML does not fit the configuration's shape (unknown field, wrong type...).
    #[error("parsing YAML file {}: yaml: unmarshal errors:\n  line {line}, column {column}: {message}", file.display())]
    Unmarshal {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// What is wrong, with Prometheus's text where it has one.
        message: String,
    },
    /// The configuration has the right shape but an invalid value; `message` is Prometheus's
    /// text where Prometheus names one.
    #[error("parsing YAML file {}: {message} (line {line}, column {column})", file.display())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// A file named by `scrape_config_files` is wrong: `"ABS_PATH": inner`.
    #[error("{:?}: {inner}", file.display().to_string())]
    Included {
        /// The included file, absolute.
        file: PathBuf,
        /// Its error.
        inner: Box<ConfigError>,
    },
    /// An error without a position (agent mode, glob patterns, ...).
    #[error("{message}")]
    Other {
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    /// The message alone, without the file and position.
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::Io { source, .. } => source.to_string(),
            Self::Syntax { message, .. }
            | Self::Unmarshal { message, .. }
            | Self::Invalid { message, .. }
            | Self::Other { message } => message.clone(),
            Self::Included { inner, .. } => inner.message(),
        }
    }

    /// The 1-based line and column, when known.
    #[must_use]
    pub fn position(&self) -> Option<(u64, u64)> {
        match self {
            Self::Syntax { line, column, .. }
            | Self::Unmarshal { line, column, .. }
            | Self::Invalid { line, column, .. }
                if *line > 0 =>
            {
                Some((*line, *column))
            }
            Self::Included { inner, .. } => inner.position(),
            _ => None,
        }
    }
}

/// One problem in a rule file, at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// 1-based line (0 when unknown).
    pub line: u64,
    /// 1-based column (0 when unknown).
    pub column: u64,
    /// The group's name, when the problem is inside a group.
    pub group: Option<String>,
    /// The rule's 1-based index in its group and its name, when inside a rule.
    pub rule: Option<(usize, String)>,
    /// What is wrong, with Prometheus's text.
    pub message: String,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: ", self.line, self.column)?;
        }
        match (&self.group, &self.rule) {
            (Some(g), Some((i, name))) => {
                write!(f, "group {g:?}, rule {i}, {name:?}: {}", self.message)
            }
            (Some(g), None) => write!(f, "group {g:?}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Why a rule file could not be loaded: every problem found, each with its position.
#[derive(Debug, thiserror::Error)]
pub enum RuleFileError {
    /// The file could not be read.
    #[error("{}: open {}: {}", file.display(), file.display(), go_io_text(source))]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file was read but is invalid.
    #[error("{}", render_rule_errors(file, errors))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Every problem found, in file order.
        errors: Vec<RuleError>,
    },
}

fn render_rule_errors(file: &std::path::Path, errors: &[RuleError]) -> String {
    let lines: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {e}", file.display()))
        .collect();
    lines.join("\n")
}

/// An I/O error as Go prints it (`no such file or directory`), without Rust's `(os error N)`.
#[must_use]
pub fn go_io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => {
            let t = e.to_string();
            match t.find(" (os error") {
                Some(i) => t[..i].to_lowercase(),
                None => t,
            }
        }
    }
}
