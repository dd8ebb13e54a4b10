//! `check-config`: loads each file and prints what `amtool check-config` prints (mirrors
//! Alertmanager's `cli/check_config.go`).

use std::io::Write;
use std::path::PathBuf;

use crate::config::Config;

/// Checks `files`, writing amtool's report to `out`; returns the number of failed files.
///
/// # Errors
/// Writing to `out` failed.
pub fn check_config(files: &[PathBuf], out: &mut dyn Write) -> std::io::Result<usize> {
    let mut failed = 0;
    for f in files {
        write!(out, "Checking '{}'", f.display())?;
        match Config::load_file(f) {
            Err(e) => {
                writeln!(out, "  FAILED: {e}")?;
                failed += 1;
            }
            Ok(cfg) => {
                writeln!(out, "  SUCCESS")?;
                writeln!(out, "Found:")?;
                writeln!(out, " - global config")?;
                writeln!(out, " - route")?;
                writeln!(out, " - {} inhibit rules", cfg.inhibit_rules.len())?;
                writeln!(out, " - {} receivers", cfg.receivers.len())?;
                writeln!(out, " - {} templates", cfg.templates.len())?;
                if !cfg.templates.is_empty() {
                    match check_templates(&cfg.templates) {
                        Ok(()) => writeln!(out, "  SUCCESS")?,
                        Err(e) => {
                            writeln!(out, "  FAILED: {e}")?;
                            failed += 1;
                        }
                    }
                }
            }
        }
        writeln!(out)?;
    }
    Ok(failed)
}

/// Expands the template globs and reads the files.
fn check_templates(globs: &[String]) -> Result<(), String> {
    for g in globs {
        for p in config::glob::glob(g)? {
            std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    Ok(())
}
