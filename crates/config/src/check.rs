//! `promtool check config` and `promtool check rules`, as library functions that write
//! promtool's output and return its exit code (the binary's `tool check` calls these).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::discovery::StaticConfig;
use crate::global::ValidationScheme;
use crate::http::TlsConfig;
use crate::rules::{ExprCheck, RuleFile};
use crate::yaml::go_quote;
use crate::{Config, ConfigError, ScrapeConfig};

/// promtool's exit code for success.
pub const SUCCESS: u8 = 0;
/// promtool's exit code for a failed check.
pub const FAILURE: u8 = 1;

fn exists(f: &str) -> Result<(), String> {
    if f.is_empty() {
        return Ok(());
    }
    std::fs::metadata(f).map(|_| ()).map_err(|e| io_text(&e, f))
}

/// Go's `os.Stat` error text.
fn io_text(e: &std::io::Error, f: &str) -> String {
    format!("stat {f}: {}", crate::error::go_io_text(e))
}

/// Options of `check config` (promtool's `--agent` and `--syntax-only`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// Check for agent mode (no alerting, rule files or remote read).
    pub agent: bool,
    /// Check only the file's syntax: do not read rule files, included scrape configs or the
    /// files the configuration references.
    pub syntax_only: bool,
}

fn check_tls_pairing(t: &TlsConfig) -> Result<(), String> {
    if !t.cert_file.is_empty() && t.key_file.is_empty() {
        return Err(format!(
            "client cert file {} specified without client key file",
            go_quote(&t.cert_file)
        ));
    }
    if !t.key_file.is_empty() && t.cert_file.is_empty() {
        return Err(format!(
            "client key file {} specified without client cert file",
            go_quote(&t.key_file)
        ));
    }
    Ok(())
}

fn check_tls(t: &TlsConfig) -> Result<(), String> {
    check_tls_pairing(t)?;
    exists(&t.cert_file).map_err(|e| {
        format!(
            "error checking client cert file {}: {e}",
            go_quote(&t.cert_file)
        )
    })?;
    exists(&t.key_file).map_err(|e| {
        format!(
            "error checking client key file {}: {e}",
            go_quote(&t.key_file)
        )
    })
}

/// Reads a file-SD file as promtool does: a list of target groups, JSON or YAML.
fn check_sd_file(f: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(f).map_err(|e| e.to_string())?;
    let ext = f
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !matches!(ext.as_str(), "json" | "yml" | "yaml") {
        return Err(format!(
            "invalid file extension: {}",
            go_quote(&format!(".{ext}"))
        ));
    }
    let groups: Vec<Option<StaticConfig>> =
        crate::yaml::decode(&text, f).map_err(|e| e.message())?;
    if let Some(i) = groups.iter().position(Option::is_none) {
        return Err(format!("nil target group item found (index {i})"));
    }
    Ok(())
}

fn check_scrape_config(sc: &ScrapeConfig) -> Result<(), String> {
    if let Some(a) = &sc.authorization {
        exists(&a.credentials_file).map_err(|e| {
            format!(
                "error checking authorization credentials or bearer token file {}: {e}",
                go_quote(&a.credentials_file)
            )
        })?;
    }
    check_tls(&sc.tls_config)?;
    for k in sc.kubernetes_sd_configs.iter().flatten() {
        check_tls(&k.tls_config)?;
    }
    for fsd in sc.file_sd_configs.iter().flatten() {
        for pattern in &fsd.files {
            let files = crate::glob::glob(pattern)?;
            for f in &files {
                check_sd_file(f)
                    .map_err(|e| format!("checking SD file {}: {e}", go_quote(pattern)))?;
            }
        }
    }
    Ok(())
}

/// `promtool check config`'s checks of one file: the configuration, its rule-file globs, the
/// included scrape configs, and the files they reference. Returns the rule files.
fn check_one(file: &Path, opts: CheckOptions, out: &mut dyn Write) -> Result<Vec<PathBuf>, String> {
    let cfg = Config::load(file).map_err(|e| e.to_string())?;
    if opts.agent {
        cfg.check_agent_mode().map_err(|e| e.to_string())?;
    }
    if opts.syntax_only {
        // Only what the file itself says: no globs, included files or referenced files.
        for sc in cfg.scrape_jobs() {
            check_tls_pairing(&sc.tls_config)?;
            for k in sc.kubernetes_sd_configs.iter().flatten() {
                check_tls_pairing(&k.tls_config)?;
            }
        }
        return Ok(Vec::new());
    }
    let mut rule_files = Vec::new();
    for pattern in &cfg.rule_files {
        let found = crate::glob::glob(pattern)?;
        if !pattern.contains('*') && found.is_empty() {
            return Err(format!(
                "{} does not point to an existing file",
                go_quote(pattern)
            ));
        }
        rule_files.extend(found);
    }
    let scrape = cfg
        .all_scrape_configs()
        .map_err(|e: ConfigError| format!("error loading scrape configs: {e}"))?;
    for sc in &scrape {
        check_scrape_config(sc)?;
        for fsd in sc.file_sd_configs.iter().flatten() {
            for pattern in &fsd.files {
                if crate::glob::glob(pattern)
                    .map(|v| v.is_empty())
                    .unwrap_or(false)
                {
                    let _ = writeln!(
                        out,
                        "  WARNING: file {} for file_sd in scrape job {} does not exist",
                        go_quote(pattern),
                        go_quote(&sc.job_name)
                    );
                }
            }
        }
    }
    Ok(rule_files)
}

/// `firewatch tool check config FILE...`: promtool's output and exit code.
pub fn check_config(
    files: &[PathBuf],
    check_expr: ExprCheck<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    check_config_with(files, CheckOptions::default(), check_expr, out, err)
}

/// [`check_config`] with promtool's `--agent` / `--syntax-only` options.
pub fn check_config_with(
    files: &[PathBuf],
    opts: CheckOptions,
    check_expr: ExprCheck<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let mut failed = false;
    for f in files {
        let _ = writeln!(out, "Checking {}", f.display());
        let rule_files = match check_one(f, opts, out) {
            Ok(r) => {
                if !r.is_empty() {
                    let _ = writeln!(out, "  SUCCESS: {} rule files found", r.len());
                }
                let _ = writeln!(
                    out,
                    " SUCCESS: {} is valid prometheus config file syntax",
                    f.display()
                );
                r
            }
            Err(e) => {
                let _ = writeln!(err, "  FAILED: {e}");
                failed = true;
                Vec::new()
            }
        };
        let _ = writeln!(out);
        if check_rule_files(&rule_files, check_expr, out, err) != SUCCESS {
            failed = true;
        }
    }
    if failed { FAILURE } else { SUCCESS }
}

/// `firewatch tool check rules FILE...`: promtool's output and exit code.
pub fn check_rule_files(
    files: &[PathBuf],
    check_expr: ExprCheck<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let mut failed = false;
    for f in files {
        let _ = writeln!(out, "Checking {}", f.display());
        match RuleFile::load_with(f, check_expr, ValidationScheme::Utf8) {
            Ok(rf) => match duplicate_rules(&rf) {
                // promtool's default `duplicate-rules` lint: reported, not fatal.
                Some(lint) => {
                    let _ = writeln!(err, "  FAILED:");
                    let _ = writeln!(err, "{lint}");
                }
                None => {
                    let _ = writeln!(out, "  SUCCESS: {} rules found", rf.rule_count());
                }
            },
            Err(e) => {
                failed = true;
                let _ = writeln!(err, "  FAILED:");
                let _ = writeln!(err, "{e}");
            }
        }
        let _ = writeln!(out);
    }
    if failed { FAILURE } else { SUCCESS }
}

/// promtool's `duplicate-rules` lint: rules with the same name and the same labels (group
/// labels overridden by the rule's), each reported once, sorted.
#[must_use]
pub fn duplicate_rules(rf: &RuleFile) -> Option<String> {
    let mut rules: Vec<(&str, Vec<(&str, &str)>)> = Vec::new();
    for g in &rf.groups {
        for r in &g.rules {
            let mut labels: std::collections::BTreeMap<&str, &str> = g
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            labels.extend(r.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            rules.push((r.name(), labels.into_iter().collect()));
        }
    }
    rules.sort();
    let mut dups: Vec<&(&str, Vec<(&str, &str)>)> = Vec::new();
    for pair in rules.windows(2) {
        if pair[0] == pair[1] && dups.last().is_none_or(|d| **d != pair[0]) {
            dups.push(&pair[1]);
        }
    }
    if dups.is_empty() {
        return None;
    }
    let mut msg = format!("lint error {} duplicate rule(s) found.\n", dups.len());
    for (metric, labels) in dups {
        msg.push_str(&format!("Metric: {metric}\nLabel(s):\n"));
        for (k, v) in labels {
            msg.push_str(&format!("\t{k}: {v}\n"));
        }
    }
    msg.push_str("Might cause inconsistency while recording expressions");
    Some(msg)
}
