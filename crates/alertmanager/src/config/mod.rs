//! `alertmanager.yml`: decoding, Alertmanager's validations and texts, and the compiled form
//! the dispatcher uses (mirrors Alertmanager's `config/config.go`).

mod marshal;
pub mod route;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use config::yaml::nullable;

pub use notifiers::{GlobalConfig, Receiver};
pub use route::{InhibitRuleConfig, MatcherList, RouteConfig};

use crate::error::ConfigError;
use crate::timeinterval::NamedTimeInterval;

/// The whole file as decoded and validated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Defaults for the receivers and `resolve_timeout`.
    #[serde(default)]
    pub global: Option<GlobalConfig>,
    /// The routing tree's root.
    #[serde(default)]
    pub route: Option<RouteConfig>,
    /// Inhibition rules.
    #[serde(default, deserialize_with = "nullable")]
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// Receivers.
    #[serde(default, deserialize_with = "nullable")]
    pub receivers: Vec<Receiver>,
    /// Template file globs.
    #[serde(default, deserialize_with = "nullable")]
    pub templates: Vec<String>,
    /// Deprecated name of `time_intervals`.
    #[serde(default, deserialize_with = "nullable")]
    pub mute_time_intervals: Vec<NamedTimeInterval>,
    /// Named time intervals.
    #[serde(default, deserialize_with = "nullable")]
    pub time_intervals: Vec<NamedTimeInterval>,
    /// The text the configuration was read from.
    #[serde(skip)]
    pub original: String,
    /// The file, when read from one.
    #[serde(skip)]
    pub file: PathBuf,
}

impl Config {
    /// Reads and validates a file; template globs are resolved against its directory.
    ///
    /// # Errors
    /// Alertmanager's text for the first problem.
    pub fn load_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        let mut c = Self::parse(&text, path)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for t in &mut c.templates {
            if !Path::new(t).is_absolute() {
                *t = dir.join(&*t).display().to_string();
            }
        }
        c.file = path.to_path_buf();
        Ok(c)
    }

    /// Decodes and validates `text` (`file` names it in messages).
    ///
    /// # Errors
    /// Alertmanager's text for the first problem.
    pub fn parse(text: &str, file: &Path) -> Result<Self, ConfigError> {
        let mut c: Self = config::yaml::decode(text, file)
            .map_err(|e| integration_type(ConfigError::from_yaml(e), text))?;
        c.original = text.to_owned();
        c.validate().map_err(ConfigError::Invalid)?;
        Ok(c)
    }

    /// The checks of the notifiers' types: each receiver's own, the global section's, then
    /// the global defaults applied to each receiver (Alertmanager's order).
    fn validate_receivers(&mut self) -> Result<(), String> {
        for r in &mut self.receivers {
            r.validate().map_err(|e| e.msg)?;
        }
        let mut global = self.global.clone().unwrap_or_default();
        global.validate().map_err(|e| e.msg)?;
        let mut names: Vec<String> = Vec::new();
        for r in &mut self.receivers {
            if names.contains(&r.name) {
                return Err(format!(
                    "notification config name {:?} is not unique",
                    r.name
                ));
            }
            r.apply_global(&global).map_err(|e| e.msg)?;
            names.push(r.name.clone());
        }
        self.global = Some(global);
        Ok(())
    }

    /// The configuration as Alertmanager writes it back (`Config.String()`): defaults filled
    /// in, secrets hidden; what `/api/v2/status` serves.
    #[must_use]
    pub fn to_yaml(&self) -> String {
        marshal::to_yaml(self)
    }

    /// The global section, defaults filled in.
    #[must_use]
    pub fn global(&self) -> GlobalConfig {
        self.global.clone().unwrap_or_default()
    }

    /// All named time intervals (`mute_time_intervals` then `time_intervals`).
    pub fn named_intervals(&self) -> impl Iterator<Item = &NamedTimeInterval> {
        self.mute_time_intervals.iter().chain(&self.time_intervals)
    }

    fn validate(&mut self) -> Result<(), String> {
        self.validate_receivers()?;
        let names: Vec<&str> = self.receivers.iter().map(|r| r.name.as_str()).collect();
        let route = self.route.as_ref().ok_or("no routes provided")?;
        route.validate()?;
        if route.receiver.is_empty() {
            return Err("root route must specify a default receiver".to_owned());
        }
        if route.has_matchers() {
            return Err("root route must not have any matchers".to_owned());
        }
        if !route.mute_time_intervals.is_empty() {
            return Err("root route must not have any mute time intervals".to_owned());
        }
        if !route.active_time_intervals.is_empty() {
            return Err("root route must not have any active time intervals".to_owned());
        }
        check_receivers(route, &names)?;
        for r in &self.inhibit_rules {
            r.validate()?;
        }
        let mut ti: Vec<&str> = Vec::new();
        for t in &self.mute_time_intervals {
            if ti.contains(&t.name.as_str()) {
                return Err(format!("mute time interval {:?} is not unique", t.name));
            }
            ti.push(&t.name);
        }
        for t in &self.time_intervals {
            if ti.contains(&t.name.as_str()) {
                return Err(format!("time interval {:?} is not unique", t.name));
            }
            ti.push(&t.name);
        }
        check_intervals(route, &ti)
    }
}

fn check_receivers(r: &RouteConfig, names: &[&str]) -> Result<(), String> {
    if !r.receiver.is_empty() && !names.contains(&r.receiver.as_str()) {
        return Err(format!("undefined receiver {:?} used in route", r.receiver));
    }
    r.routes.iter().try_for_each(|c| check_receivers(c, names))
}

fn check_intervals(r: &RouteConfig, names: &[&str]) -> Result<(), String> {
    for n in r.mute_time_intervals.iter().chain(&r.active_time_intervals) {
        if !names.contains(&n.as_str()) {
            return Err(format!("undefined time interval {n:?} used in route"));
        }
    }
    r.routes.iter().try_for_each(|c| check_intervals(c, names))
}

/// Names the Go type of an integration's section in "field x not found in type ..." as the
/// conformance data does (`opsgenie.plain` inside `opsgenie_configs`).
fn integration_type(e: ConfigError, text: &str) -> ConfigError {
    let ConfigError::Unmarshal { line, message } = e else {
        return e;
    };
    let lines: Vec<&str> = text.lines().collect();
    if message.starts_with("expected mapping") || message.starts_with("invalid type: string") {
        // A scalar where a mapping belongs, in Go's words.
        let at = usize::try_from(line).unwrap_or(0).saturating_sub(1);
        let scalar = lines.get(at).map_or("", |l| l.trim());
        let scalar = scalar.rsplit_once(": ").map_or(scalar, |(_, v)| v);
        return ConfigError::Unmarshal {
            line,
            message: format!("cannot unmarshal !!str `{scalar}` into config.plain"),
        };
    }
    let Some(field_msg) = message.strip_suffix(" in type config.plain") else {
        return ConfigError::Unmarshal { line, message };
    };
    let at = usize::try_from(line).unwrap_or(0).saturating_sub(1);
    let indent = |l: &str| l.len() - l.trim_start_matches([' ', '-']).len();
    let Some(own) = lines.get(at).map(|l| indent(l)) else {
        return ConfigError::Unmarshal { line, message };
    };
    let section = lines[..at].iter().rev().find_map(|l| {
        let t = l.trim_start_matches([' ', '-']);
        if indent(l) < own && !t.is_empty() && !t.starts_with('#') {
            Some(t.split(':').next().unwrap_or("").trim().to_owned())
        } else {
            None
        }
    });
    let message = match section.as_deref().and_then(|s| s.strip_suffix("_configs")) {
        Some(kind) => format!("{field_msg} in type {kind}.plain"),
        None => message,
    };
    ConfigError::Unmarshal { line, message }
}
