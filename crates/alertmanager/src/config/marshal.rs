//! The configuration written back as Alertmanager's `Config.String()` does: its field order,
//! defaults filled in and secrets as `<secret>` (what `/api/v2/status` and `amtool config
//! show` print).

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::Config;
use super::route::{InhibitRuleConfig, MatcherList, RegexValue, RouteConfig};
use crate::timeinterval::{
    DaysOfMonth, MONTHS, Months, NamedTimeInterval, TimeInterval, WEEKDAYS, Weekdays, Years,
};

/// Global settings newer than Alertmanager 0.25: `amtool` 0.25 parses the served
/// configuration with its own types and refuses unknown fields, so they are left out.
const NEWER_GLOBAL: &[&str] = &[
    "smtp_tls_config",
    "slack_app_url",
    "slack_app_token",
    "slack_app_token_file",
    "rocketchat_api_url",
    "rocketchat_token",
    "rocketchat_token_file",
    "rocketchat_token_id",
    "rocketchat_token_id_file",
    "mattermost_webhook_url",
    "mattermost_webhook_url_file",
    "jira_api_url",
    "telegram_bot_token",
    "telegram_bot_token_file",
    "wechat_api_secret_file",
    "smtp_auth_password_file",
];

/// The YAML text of `c` as Alertmanager writes it.
#[must_use]
pub fn to_yaml(c: &Config) -> String {
    let text = serde_saphyr::to_string(&Out(c)).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    let (mut in_global, mut skipping) = (false, false);
    for line in text.lines() {
        if !line.starts_with(' ') {
            in_global = line == "global:";
            skipping = false;
        } else if in_global && !line.starts_with("   ") {
            let key = line.trim().split(':').next().unwrap_or("");
            skipping = NEWER_GLOBAL.contains(&key);
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

struct Out<'a>(&'a Config);

impl Serialize for Out<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("global", &c.global())?;
        if let Some(r) = &c.route {
            m.serialize_entry("route", &Route(r))?;
        }
        if !c.inhibit_rules.is_empty() {
            let rules: Vec<Inhibit<'_>> = c.inhibit_rules.iter().map(Inhibit).collect();
            m.serialize_entry("inhibit_rules", &rules)?;
        }
        if !c.receivers.is_empty() {
            m.serialize_entry("receivers", &c.receivers)?;
        }
        m.serialize_entry("templates", &c.templates)?;
        if !c.mute_time_intervals.is_empty() {
            let l: Vec<Named<'_>> = c.mute_time_intervals.iter().map(Named).collect();
            m.serialize_entry("mute_time_intervals", &l)?;
        }
        if !c.time_intervals.is_empty() {
            let l: Vec<Named<'_>> = c.time_intervals.iter().map(Named).collect();
            m.serialize_entry("time_intervals", &l)?;
        }
        m.end()
    }
}

struct Matchers<'a>(&'a MatcherList);

impl Serialize for Matchers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(Some(self.0.0.len()))?;
        for m in &self.0.0 {
            q.serialize_element(&m.to_string())?;
        }
        q.end()
    }
}

fn regex_map(m: &BTreeMap<String, Option<RegexValue>>) -> BTreeMap<&str, &str> {
    m.iter()
        .map(|(k, v)| (k.as_str(), v.as_ref().map_or("", |r| r.0.as_str())))
        .collect()
}

struct Route<'a>(&'a RouteConfig);

impl Serialize for Route<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        if !r.receiver.is_empty() {
            m.serialize_entry("receiver", &r.receiver)?;
        }
        if !r.group_by.is_empty() {
            m.serialize_entry("group_by", &r.group_by)?;
        }
        if !r.match_.is_empty() {
            m.serialize_entry("match", &r.match_)?;
        }
        if !r.match_re.is_empty() {
            m.serialize_entry("match_re", &regex_map(&r.match_re))?;
        }
        if !r.matchers.0.is_empty() {
            m.serialize_entry("matchers", &Matchers(&r.matchers))?;
        }
        if !r.mute_time_intervals.is_empty() {
            m.serialize_entry("mute_time_intervals", &r.mute_time_intervals)?;
        }
        if !r.active_time_intervals.is_empty() {
            m.serialize_entry("active_time_intervals", &r.active_time_intervals)?;
        }
        m.serialize_entry("continue", &r.continue_)?;
        if !r.routes.is_empty() {
            let children: Vec<Route<'_>> = r.routes.iter().map(Route).collect();
            m.serialize_entry("routes", &children)?;
        }
        for (k, v) in [
            ("group_wait", r.group_wait),
            ("group_interval", r.group_interval),
            ("repeat_interval", r.repeat_interval),
        ] {
            if let Some(d) = v {
                m.serialize_entry(k, &d.to_string())?;
            }
        }
        m.end()
    }
}

struct Inhibit<'a>(&'a InhibitRuleConfig);

impl Serialize for Inhibit<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        if !r.source_match.is_empty() {
            m.serialize_entry("source_match", &r.source_match)?;
        }
        if !r.source_match_re.is_empty() {
            m.serialize_entry("source_match_re", &regex_map(&r.source_match_re))?;
        }
        if !r.source_matchers.0.is_empty() {
            m.serialize_entry("source_matchers", &Matchers(&r.source_matchers))?;
        }
        if !r.target_match.is_empty() {
            m.serialize_entry("target_match", &r.target_match)?;
        }
        if !r.target_match_re.is_empty() {
            m.serialize_entry("target_match_re", &regex_map(&r.target_match_re))?;
        }
        if !r.target_matchers.0.is_empty() {
            m.serialize_entry("target_matchers", &Matchers(&r.target_matchers))?;
        }
        if !r.equal.is_empty() {
            m.serialize_entry("equal", &r.equal)?;
        }
        m.end()
    }
}

struct Named<'a>(&'a NamedTimeInterval);

impl Serialize for Named<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", &self.0.name)?;
        let l: Vec<Interval<'_>> = self.0.time_intervals.iter().map(Interval).collect();
        m.serialize_entry("time_intervals", &l)?;
        m.end()
    }
}

struct Interval<'a>(&'a TimeInterval);

fn hhmm(m: i32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn range(a: i32, b: i32, name: impl Fn(i32) -> String) -> String {
    if a == b {
        name(a)
    } else {
        format!("{}:{}", name(a), name(b))
    }
}

fn pick(list: &[&str], i: i32) -> String {
    usize::try_from(i)
        .ok()
        .and_then(|i| list.get(i))
        .map_or_else(|| i.to_string(), |s| (*s).to_owned())
}

impl Serialize for Interval<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut m = s.serialize_map(None)?;
        if !t.times.is_empty() {
            let l: Vec<BTreeMap<&str, String>> = t
                .times
                .iter()
                .map(|r| BTreeMap::from([("end_time", hhmm(r.end)), ("start_time", hhmm(r.start))]))
                .collect();
            m.serialize_entry("times", &l)?;
        }
        if !t.weekdays.is_empty() {
            let l: Vec<String> = t
                .weekdays
                .iter()
                .map(|Weekdays(a, b)| range(*a, *b, |i| pick(&WEEKDAYS, i)))
                .collect();
            m.serialize_entry("weekdays", &l)?;
        }
        if !t.days_of_month.is_empty() {
            let l: Vec<String> = t
                .days_of_month
                .iter()
                .map(|DaysOfMonth(a, b)| range(*a, *b, |i| i.to_string()))
                .collect();
            m.serialize_entry("days_of_month", &l)?;
        }
        if !t.months.is_empty() {
            let l: Vec<String> = t
                .months
                .iter()
                .map(|Months(a, b)| range(*a, *b, |i| pick(&MONTHS, i - 1)))
                .collect();
            m.serialize_entry("months", &l)?;
        }
        if !t.years.is_empty() {
            let l: Vec<String> = t
                .years
                .iter()
                .map(|Years(a, b)| range(*a, *b, |i| i.to_string()))
                .collect();
            m.serialize_entry("years", &l)?;
        }
        if let Some(loc) = &t.location {
            m.serialize_entry("location", loc.0.iana_name().unwrap_or("UTC"))?;
        }
        m.end()
    }
}
