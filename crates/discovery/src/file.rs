//! File-based discovery (`file_sd_configs`): JSON or YAML lists of target groups in files
//! matched by glob patterns, re-read when they change on disk and every `refresh_interval`.
//!
//! Changes are noticed by polling: every poll interval the globs are expanded and each file's
//! (modification time, length, inode) compared with the last read; any difference triggers a
//! refresh. Each group's source is `path:index` and it carries `__meta_filepath`. A file that
//! fails to read or parse is logged and its previous groups are kept; a file that disappears
//! (or shrinks) gets empty groups for its vanished sources.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use config::FileSdConfig;

use crate::discoverer::Discoverer;
use crate::error::DiscoveryError;
use crate::targetgroup::{META_LABEL_PREFIX, TargetGroup};

/// The label carrying the file a group was read from.
pub const FILEPATH_LABEL: &str = "__meta_filepath";

/// Default period of the change-detecting stat poll.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Discovers targets from files.
#[derive(Debug)]
pub struct FileDiscovery {
    options: FileSdConfig,
    poll_interval: Duration,
    /// Number of groups last sent per file.
    last_refresh: HashMap<String, usize>,
}

type Signature = BTreeMap<String, (Option<SystemTime>, u64, u64)>;

impl FileDiscovery {
    /// Validates the patterns (the `config` crate's checks) and builds the discoverer.
    ///
    /// # Errors
    /// When no pattern is given or one has an unsupported extension.
    pub fn new(options: FileSdConfig) -> Result<Self, DiscoveryError> {
        options
            .validate()
            .map_err(|e| DiscoveryError::config("file", e))?;
        Ok(Self {
            options,
            poll_interval: DEFAULT_POLL_INTERVAL,
            last_refresh: HashMap::new(),
        })
    }

    /// Sets how often files are stat'ed for changes.
    #[must_use]
    pub fn with_poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every.max(Duration::from_millis(1));
        self
    }

    fn list_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        for pattern in &self.options.files {
            match glob::glob(pattern) {
                Ok(paths) => out.extend(
                    paths
                        .filter_map(Result::ok)
                        .map(|p| p.to_string_lossy().into_owned()),
                ),
                Err(e) => {
                    let err = DiscoveryError::Glob {
                        pattern: pattern.clone(),
                        message: e.to_string(),
                    };
                    tracing::error!(%err, "Error expanding glob");
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn signature(&self) -> Signature {
        self.list_files()
            .into_iter()
            .map(|f| {
                let sig = std::fs::metadata(&f)
                    .map(|m| (m.modified().ok(), m.len(), m.ino()))
                    .unwrap_or((None, 0, 0));
                (f, sig)
            })
            .collect()
    }

    /// Reads every file and returns the groups to send (including empty groups for sources
    /// that disappeared).
    fn refresh(&mut self) -> Vec<TargetGroup> {
        let _timer = crate::metrics::SD.file_scan_duration.start_timer();
        let mut out = Vec::new();
        let mut current = HashMap::new();
        for path in self.list_files() {
            match read_file(&path) {
                Ok(groups) => {
                    current.insert(path, groups.len());
                    out.extend(groups);
                }
                Err(err) => {
                    crate::metrics::SD.file_read_errors.inc();
                    tracing::error!(%err, path = %path, "Error reading file");
                    current.insert(
                        path.clone(),
                        self.last_refresh.get(&path).copied().unwrap_or(0),
                    );
                }
            }
        }
        for (path, &n) in &self.last_refresh {
            let m = current.get(path).copied().unwrap_or(0);
            out.extend((m..n).map(|i| TargetGroup::empty(source(path, i))));
        }
        self.last_refresh = current;
        out
    }
}

fn source(path: &str, i: usize) -> String {
    format!("{path}:{i}")
}

/// Reads one file of target groups (JSON or YAML by extension) and labels its groups.
///
/// # Errors
/// When the file cannot be read or does not hold a list of target groups.
pub fn read_file(path: &str) -> Result<Vec<TargetGroup>, DiscoveryError> {
    let content = std::fs::read_to_string(path).map_err(|source| DiscoveryError::ReadFile {
        path: path.into(),
        source,
    })?;
    let ext = Path::new(path)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let parse_err = |message: String| DiscoveryError::Parse {
        origin: path.to_owned(),
        message,
    };
    let groups: Vec<Option<TargetGroup>> = match ext.as_str() {
        "json" => serde_json::from_str(&content).map_err(|e| parse_err(e.to_string()))?,
        "yml" | "yaml" => {
            if content.trim().is_empty() {
                Vec::new()
            } else {
                serde_saphyr::from_str(&content).map_err(|e| parse_err(e.to_string()))?
            }
        }
        _ => return Err(DiscoveryError::InvalidFileName(path.to_owned())),
    };
    let mut out = Vec::with_capacity(groups.len());
    for (i, g) in groups.into_iter().enumerate() {
        let mut g = g.ok_or_else(|| parse_err("nil target group item found".to_owned()))?;
        g.source = source(path, i);
        g.labels.insert(FILEPATH_LABEL.to_owned(), path.to_owned());
        out.push(g);
    }
    debug_assert!(FILEPATH_LABEL.starts_with(META_LABEL_PREFIX));
    Ok(out)
}

impl Discoverer for FileDiscovery {
    async fn run(mut self, tx: mpsc::Sender<Vec<TargetGroup>>, cancel: CancellationToken) {
        let mut poll = tokio::time::interval(self.poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut full = tokio::time::interval(
            self.options
                .refresh_interval
                .to_std()
                .max(self.poll_interval),
        );
        full.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        full.tick().await;
        let mut last_sig: Option<Signature> = None;
        loop {
            let forced = tokio::select! {
                () = cancel.cancelled() => return,
                _ = poll.tick() => false,
                _ = full.tick() => true,
            };
            let sig = self.signature();
            if !forced && last_sig.as_ref() == Some(&sig) {
                continue;
            }
            last_sig = Some(sig);
            let groups = self.refresh();
            if groups.is_empty() {
                continue;
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                r = tx.send(groups) => if r.is_err() { return },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_checked_by_the_config_crate() {
        let new = |files: &[&str]| {
            FileDiscovery::new(FileSdConfig {
                files: files.iter().map(|f| (*f).to_owned()).collect(),
                ..FileSdConfig::default()
            })
            .map(|_| ())
            .map_err(|e| e.to_string())
        };
        assert!(new(&["/etc/sd/*.json", "targets.YAML", "dir/a*b.yml"]).is_ok());
        assert_eq!(
            new(&["/etc/*/x.json"]).unwrap_err(),
            "invalid file SD configuration: path name \"/etc/*/x.json\" is not valid for file discovery"
        );
        assert!(new(&[]).unwrap_err().contains("at least one path name"));
    }
}
