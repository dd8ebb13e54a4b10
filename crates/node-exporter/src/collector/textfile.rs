//! Metrics from `*.prom` files in `--collector.textfile.directory` (node_exporter's
//! `collector/textfile.go`): families merged, help texts filled in with the file names, each
//! file's mtime, and `node_textfile_scrape_error`.

use std::collections::HashMap;

use model::exposition::{Format, MetricFamily, parse_families};

use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

/// The textfile collector.
pub struct Textfile {
    dirs: Vec<String>,
}

/// Builds the collector from `--collector.textfile.directory` (repeatable).
///
/// # Errors
/// Never.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Textfile {
        dirs: opts.all("collector.textfile.directory").to_vec(),
    }))
}

/// `dir/name` as Go's `filepath.Join` writes it (one separator, no trailing slash on `dir`).
fn join(dir: &str, name: &str) -> String {
    let d = dir.trim_end_matches('/');
    let d = d.strip_prefix("./").unwrap_or(d);
    if d.is_empty() {
        name.to_owned()
    } else {
        format!("{d}/{name}")
    }
}

impl Collector for Textfile {
    fn update(&self, _paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let mut errored = false;
        let mut families: Vec<MetricFamily> = Vec::new();
        let mut files_of: HashMap<String, Vec<String>> = HashMap::new();
        let mut helps: HashMap<String, String> = HashMap::new();
        let mut mtimes: Vec<(String, f64)> = Vec::new();
        for dir in &self.dirs {
            let mut entries: Vec<String> = match std::fs::read_dir(dir) {
                Ok(rd) => rd
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect(),
                Err(e) => {
                    errored = true;
                    tracing::error!(path = dir.as_str(), err = %e, "failed to read textfile collector directory");
                    continue;
                }
            };
            entries.sort();
            for name in entries.iter().filter(|n| n.ends_with(".prom")) {
                let path = join(dir, name);
                let parsed = super::util::read_bytes(&path)
                    .map_err(|e| format!("failed to open textfile data file {path:?}: {e}"))
                    .and_then(|b| parse_families(&b, Format::Text).map_err(|e| format!("failed to parse textfile data from {path:?}: {e}")))
                    .and_then(|f| {
                        if f.iter().any(|f| f.samples.iter().any(|s| s.timestamp.is_some())) {
                            Err(format!("textfile {path:?} contains unsupported client-side timestamps, skipping entire file"))
                        } else {
                            Ok(f)
                        }
                    });
                let fams = match parsed {
                    Ok(f) => f,
                    Err(e) => {
                        errored = true;
                        tracing::error!(file = name.as_str(), err = %e, "failed to collect textfile data");
                        continue;
                    }
                };
                for f in fams {
                    if let (Some(prev), Some(h)) = (helps.get(&f.name), &f.help)
                        && prev != h
                    {
                        errored = true;
                        tracing::error!(metric = f.name.as_str(), "inconsistent metric help text");
                        continue;
                    }
                    if let Some(h) = &f.help {
                        helps.insert(f.name.clone(), h.clone());
                    }
                    files_of
                        .entry(f.name.clone())
                        .or_default()
                        .push(path.clone());
                    families.push(f);
                }
                if let Ok(m) = std::fs::metadata(&path).and_then(|m| m.modified())
                    && let Ok(d) = m.duration_since(std::time::UNIX_EPOCH)
                {
                    #[allow(clippy::cast_precision_loss)]
                    mtimes.push((path.clone(), d.as_secs() as f64));
                }
            }
        }
        for f in &mut families {
            if f.help.is_none() {
                f.help = Some(helps.get(&f.name).cloned().unwrap_or_else(|| {
                    format!("Metric read from {}", files_of[&f.name].join(", "))
                }));
            }
        }
        out.extend(families);
        mtimes.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, t) in mtimes {
            out.gauge(
                "node_textfile_mtime_seconds",
                "Unixtime mtime of textfiles successfully read.",
                &[("file", &path)],
                t,
            );
        }
        out.gauge(
            "node_textfile_scrape_error",
            "1 if there was an error opening or reading a file, 0 otherwise",
            &[],
            if errored { 1.0 } else { 0.0 },
        );
        Ok(())
    }
}
