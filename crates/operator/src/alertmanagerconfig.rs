//! `AlertmanagerConfig` (monitoring.coreos.com/v1alpha1) merged into an `alertmanager.yml` as
//! the Operator merges them (prometheus-operator's `pkg/alertmanager/amcfg.go`): per object, in
//! `<namespace>/<name>` order, its route becomes a child of the top route placed before the
//! file's own routes, with `continue: true` and a `namespace="<namespace>"` matcher; receiver,
//! time interval and route receiver names are prefixed `<namespace>/<name>/`; inhibit rules get
//! the namespace matcher on both sides. Secret values are read from the object's namespace.
//! An object that cannot be converted is left out and reported.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::assets::{Assets, KeySelector};
use crate::endpoint::{BasicAuth, SafeAuthorization, TlsConfig};
use crate::error::OperatorError;
use crate::servicemonitor::ObjectMeta;

/// An `AlertmanagerConfig` object (the fields the merge reads).
#[derive(Debug, Clone, Deserialize)]
pub struct AlertmanagerConfig {
    /// `metadata`.
    pub metadata: ObjectMeta,
    /// `spec`.
    #[serde(default)]
    pub spec: AlertmanagerConfigSpec,
}

/// `AlertmanagerConfig.spec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerConfigSpec {
    /// The object's route tree.
    pub route: Option<Route>,
    /// Its receivers.
    #[serde(default)]
    pub receivers: Vec<Receiver>,
    /// Its inhibit rules.
    #[serde(default)]
    pub inhibit_rules: Vec<InhibitRule>,
    /// Its time intervals (`muteTimeIntervals`), kept as written but renamed.
    #[serde(default)]
    pub mute_time_intervals: Vec<Value>,
}

/// A route of the object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// The receiver's name in the object.
    #[serde(default)]
    pub receiver: String,
    /// `group_by`.
    pub group_by: Option<Vec<String>>,
    /// `group_wait`.
    pub group_wait: Option<String>,
    /// `group_interval`.
    pub group_interval: Option<String>,
    /// `repeat_interval`.
    pub repeat_interval: Option<String>,
    /// Label matchers.
    #[serde(default)]
    pub matchers: Vec<Matcher>,
    /// `continue`.
    #[serde(default, rename = "continue")]
    pub continue_: bool,
    /// Child routes.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// `mute_time_intervals` (names in the object).
    #[serde(default)]
    pub mute_time_intervals: Vec<String>,
    /// `active_time_intervals` (names in the object).
    #[serde(default)]
    pub active_time_intervals: Vec<String>,
}

/// A label matcher (`matchType` `=`, `!=`, `=~`, `!~`; or the older `regex` flag).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    /// The label.
    pub name: String,
    /// The value or regular expression.
    #[serde(default)]
    pub value: String,
    /// The operator.
    #[serde(default)]
    pub match_type: String,
    /// Deprecated: a regular expression match when `matchType` is unset.
    #[serde(default)]
    pub regex: bool,
}

impl Matcher {
    /// `name<op>"value"`, the matcher syntax of `matchers:` lists.
    fn to_text(&self) -> String {
        let op = match self.match_type.as_str() {
            "" if self.regex => "=~",
            "" => "=",
            other => other,
        };
        format!("{}{op}{}", self.name, quote(&self.value))
    }
}

/// A double-quoted string with `"` and `\` escaped (Go's `strconv.Quote` for printable text).
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An inhibit rule of the object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InhibitRule {
    /// Matchers the source alert satisfies.
    #[serde(default)]
    pub source_match: Vec<Matcher>,
    /// Matchers the target alert satisfies.
    #[serde(default)]
    pub target_match: Vec<Matcher>,
    /// Labels equal in both.
    #[serde(default)]
    pub equal: Vec<String>,
}

/// A receiver of the object (the integrations Firewatch converts).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receiver {
    /// The name in the object.
    pub name: String,
    /// Webhooks.
    #[serde(default)]
    pub webhook_configs: Vec<WebhookConfig>,
    /// Slack.
    #[serde(default)]
    pub slack_configs: Vec<SlackConfig>,
    /// PagerDuty.
    #[serde(default)]
    pub pagerduty_configs: Vec<PagerDutyConfig>,
    /// Email.
    #[serde(default)]
    pub email_configs: Vec<EmailConfig>,
    /// The other integrations ([`crate::receivers`]); an unknown one is refused by name.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `httpConfig` of a receiver.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpConfig {
    /// `basicAuth`.
    pub basic_auth: Option<BasicAuth>,
    /// `authorization`.
    pub authorization: Option<SafeAuthorization>,
    /// `bearerTokenSecret`.
    pub bearer_token_secret: Option<KeySelector>,
    /// `tlsConfig`.
    pub tls_config: Option<TlsConfig>,
    /// `proxyURL`.
    #[serde(rename = "proxyURL")]
    pub proxy_url: Option<String>,
    /// `followRedirects`.
    pub follow_redirects: Option<bool>,
}

/// `webhookConfigs[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookConfig {
    /// The URL.
    pub url: Option<String>,
    /// The URL from a Secret (wins over `url`).
    #[serde(rename = "urlSecret")]
    pub url_secret: Option<KeySelector>,
    /// `send_resolved`.
    pub send_resolved: Option<bool>,
    /// `max_alerts`.
    pub max_alerts: Option<u64>,
    /// `http_config`.
    pub http_config: Option<HttpConfig>,
}

/// `slackConfigs[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlackConfig {
    /// The webhook URL from a Secret.
    #[serde(rename = "apiURL")]
    pub api_url: Option<KeySelector>,
    /// `channel`.
    pub channel: Option<String>,
    /// `username`.
    pub username: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// `text`.
    pub text: Option<String>,
    /// `send_resolved`.
    pub send_resolved: Option<bool>,
    /// `http_config`.
    pub http_config: Option<HttpConfig>,
}

/// `pagerdutyConfigs[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagerDutyConfig {
    /// Events API v2 routing key from a Secret.
    pub routing_key: Option<KeySelector>,
    /// Events API v1 service key from a Secret.
    pub service_key: Option<KeySelector>,
    /// `url`.
    pub url: Option<String>,
    /// `severity`.
    pub severity: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `send_resolved`.
    pub send_resolved: Option<bool>,
    /// `http_config`.
    pub http_config: Option<HttpConfig>,
}

/// `emailConfigs[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailConfig {
    /// `to`.
    pub to: Option<String>,
    /// `from`.
    pub from: Option<String>,
    /// `smarthost`.
    pub smarthost: Option<String>,
    /// `hello`.
    pub hello: Option<String>,
    /// `auth_username`.
    pub auth_username: Option<String>,
    /// `auth_password` from a Secret.
    pub auth_password: Option<KeySelector>,
    /// `auth_identity`.
    pub auth_identity: Option<String>,
    /// `require_tls`.
    #[serde(rename = "requireTLS")]
    pub require_tls: Option<bool>,
    /// `send_resolved`.
    pub send_resolved: Option<bool>,
}

/// `<namespace>/<name>/<s>`, or empty for an empty `s`.
fn prefixed(meta: &ObjectMeta, s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("{}/{}/{s}", meta.namespace, meta.name)
    }
}

fn put<T: serde::Serialize>(m: &mut Map<String, Value>, key: &str, v: Option<&T>) {
    if let Some(v) = v {
        m.insert(key.into(), json!(v));
    }
}

fn convert_route(r: &Route, meta: &ObjectMeta) -> Value {
    let mut m = Map::new();
    if !r.receiver.is_empty() {
        m.insert("receiver".into(), json!(prefixed(meta, &r.receiver)));
    }
    put(&mut m, "group_by", r.group_by.as_ref());
    put(&mut m, "group_wait", r.group_wait.as_ref());
    put(&mut m, "group_interval", r.group_interval.as_ref());
    put(&mut m, "repeat_interval", r.repeat_interval.as_ref());
    if !r.matchers.is_empty() {
        let ms: Vec<String> = r.matchers.iter().map(Matcher::to_text).collect();
        m.insert("matchers".into(), json!(ms));
    }
    if r.continue_ {
        m.insert("continue".into(), json!(true));
    }
    for (key, names) in [
        ("mute_time_intervals", &r.mute_time_intervals),
        ("active_time_intervals", &r.active_time_intervals),
    ] {
        if !names.is_empty() {
            let p: Vec<String> = names.iter().map(|n| prefixed(meta, n)).collect();
            m.insert(key.into(), json!(p));
        }
    }
    if !r.routes.is_empty() {
        let routes: Vec<Value> = r.routes.iter().map(|c| convert_route(c, meta)).collect();
        m.insert("routes".into(), Value::Array(routes));
    }
    Value::Object(m)
}

fn namespace_matcher(ns: &str) -> String {
    format!("namespace={}", quote(ns))
}

pub(crate) fn http_config(
    h: Option<&HttpConfig>,
    ns: &str,
    assets: &Assets,
) -> Result<Option<Value>, OperatorError> {
    let Some(h) = h else { return Ok(None) };
    let opts = crate::endpoint::EndpointOptions {
        basic_auth: h.basic_auth.clone(),
        authorization: h.authorization.clone(),
        bearer_token_secret: h.bearer_token_secret.clone(),
        tls_config: h.tls_config.clone(),
        follow_redirects: h.follow_redirects,
        proxy_url: h.proxy_url.clone(),
        ..Default::default()
    };
    let mut m = Map::new();
    crate::endpoint::client_fields(&mut m, &opts, ns, assets)?;
    // `bearer_token` is not an Alertmanager http_config field: it is `authorization`.
    if let Some(t) = m.remove("bearer_token") {
        m.insert(
            "authorization".into(),
            json!({"type": "Bearer", "credentials": t}),
        );
    }
    Ok(Some(Value::Object(m)))
}

/// A Secret value, if `sel` names one (`what` is the field, for nothing but the reader).
fn required(
    assets: &Assets,
    ns: &str,
    sel: Option<&KeySelector>,
    _what: &str,
) -> Result<Option<String>, OperatorError> {
    sel.map_or(Ok(None), |s| assets.secret(ns, s))
}

fn convert_receiver(
    r: &Receiver,
    meta: &ObjectMeta,
    assets: &Assets,
) -> Result<Value, OperatorError> {
    let ns = &meta.namespace;
    if let Some(kind) = r.other.keys().find(|k| !crate::receivers::is_known(k)) {
        return Err(OperatorError::Invalid(format!(
            "receiver {:?}: {kind} is not supported",
            r.name
        )));
    }
    let mut m = Map::new();
    m.insert("name".into(), json!(prefixed(meta, &r.name)));
    let mut webhooks = Vec::new();
    for w in &r.webhook_configs {
        let mut c = Map::new();
        let url = match &w.url_secret {
            Some(s) => required(assets, ns, Some(s), "urlSecret")?,
            None => w.url.clone(),
        };
        let Some(url) = url.filter(|u| !u.is_empty()) else {
            return Err(OperatorError::Invalid(format!(
                "receiver {:?}: webhook without url",
                r.name
            )));
        };
        c.insert("url".into(), json!(url));
        put(&mut c, "send_resolved", w.send_resolved.as_ref());
        put(&mut c, "max_alerts", w.max_alerts.as_ref());
        put(
            &mut c,
            "http_config",
            http_config(w.http_config.as_ref(), ns, assets)?.as_ref(),
        );
        webhooks.push(Value::Object(c));
    }
    let mut slacks = Vec::new();
    for s in &r.slack_configs {
        let mut c = Map::new();
        put(
            &mut c,
            "api_url",
            required(assets, ns, s.api_url.as_ref(), "apiURL")?.as_ref(),
        );
        put(&mut c, "channel", s.channel.as_ref());
        put(&mut c, "username", s.username.as_ref());
        put(&mut c, "title", s.title.as_ref());
        put(&mut c, "text", s.text.as_ref());
        put(&mut c, "send_resolved", s.send_resolved.as_ref());
        put(
            &mut c,
            "http_config",
            http_config(s.http_config.as_ref(), ns, assets)?.as_ref(),
        );
        slacks.push(Value::Object(c));
    }
    let mut pagerduties = Vec::new();
    for p in &r.pagerduty_configs {
        let mut c = Map::new();
        put(
            &mut c,
            "routing_key",
            required(assets, ns, p.routing_key.as_ref(), "routingKey")?.as_ref(),
        );
        put(
            &mut c,
            "service_key",
            required(assets, ns, p.service_key.as_ref(), "serviceKey")?.as_ref(),
        );
        put(&mut c, "url", p.url.as_ref());
        put(&mut c, "severity", p.severity.as_ref());
        put(&mut c, "description", p.description.as_ref());
        put(&mut c, "send_resolved", p.send_resolved.as_ref());
        put(
            &mut c,
            "http_config",
            http_config(p.http_config.as_ref(), ns, assets)?.as_ref(),
        );
        pagerduties.push(Value::Object(c));
    }
    let mut emails = Vec::new();
    for e in &r.email_configs {
        let mut c = Map::new();
        put(&mut c, "to", e.to.as_ref());
        put(&mut c, "from", e.from.as_ref());
        put(&mut c, "smarthost", e.smarthost.as_ref());
        put(&mut c, "hello", e.hello.as_ref());
        put(&mut c, "auth_username", e.auth_username.as_ref());
        put(
            &mut c,
            "auth_password",
            required(assets, ns, e.auth_password.as_ref(), "authPassword")?.as_ref(),
        );
        put(&mut c, "auth_identity", e.auth_identity.as_ref());
        put(&mut c, "require_tls", e.require_tls.as_ref());
        put(&mut c, "send_resolved", e.send_resolved.as_ref());
        emails.push(Value::Object(c));
    }
    for (key, list) in [
        ("webhook_configs", webhooks),
        ("slack_configs", slacks),
        ("pagerduty_configs", pagerduties),
        ("email_configs", emails),
    ] {
        if !list.is_empty() {
            m.insert(key.into(), Value::Array(list));
        }
    }
    crate::receivers::convert_into(&mut m, &r.other, &r.name, ns, assets)?;
    Ok(Value::Object(m))
}

/// What one object adds to the configuration.
struct Converted {
    route: Option<Value>,
    receivers: Vec<Value>,
    inhibit_rules: Vec<Value>,
    time_intervals: Vec<Value>,
}

fn convert(
    amc: &AlertmanagerConfig,
    assets: &Assets,
    enforce: bool,
) -> Result<Converted, OperatorError> {
    let meta = &amc.metadata;
    let spec = &amc.spec;
    let receivers = spec
        .receivers
        .iter()
        .map(|r| convert_receiver(r, meta, assets))
        .collect::<Result<Vec<_>, _>>()?;
    let names: Vec<&str> = spec.receivers.iter().map(|r| r.name.as_str()).collect();
    let route = match &spec.route {
        Some(r) => {
            if r.receiver.is_empty() {
                return Err(OperatorError::Invalid("route: receiver is empty".into()));
            }
            check_receivers(r, &names)?;
            let mut v = convert_route(r, meta);
            let m = v.as_object_mut().expect("a route is an object");
            let mut matchers: Vec<Value> = m
                .remove("matchers")
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default();
            if enforce {
                matchers.push(json!(namespace_matcher(&meta.namespace)));
            }
            if !matchers.is_empty() {
                m.insert("matchers".into(), Value::Array(matchers));
            }
            m.insert("continue".into(), json!(true));
            Some(v)
        }
        None => None,
    };
    let ns = namespace_matcher(&meta.namespace);
    let inhibit_rules = spec
        .inhibit_rules
        .iter()
        .map(|ir| {
            // The namespace matcher is added once (not when the object already has it); an
            // empty side is left out, as the Operator's omitempty does.
            let side = |ms: &[Matcher]| {
                let mut v: Vec<String> = ms.iter().map(Matcher::to_text).collect();
                if enforce && !v.contains(&ns) {
                    v.push(ns.clone());
                }
                v
            };
            let mut m = Map::new();
            for (key, ms) in [
                ("source_matchers", &ir.source_match),
                ("target_matchers", &ir.target_match),
            ] {
                let v = side(ms);
                if !v.is_empty() {
                    m.insert(key.into(), json!(v));
                }
            }
            if !ir.equal.is_empty() {
                m.insert("equal".into(), json!(ir.equal));
            }
            Value::Object(m)
        })
        .collect();
    let time_intervals = spec
        .mute_time_intervals
        .iter()
        .map(|ti| {
            let name = ti["name"].as_str().unwrap_or_default();
            json!({"name": prefixed(meta, name),
                   "time_intervals": convert_time_intervals(&ti["timeIntervals"])})
        })
        .collect();
    Ok(Converted {
        route,
        receivers,
        inhibit_rules,
        time_intervals,
    })
}

/// `timeIntervals` (camelCase `daysOfMonth`, `startTime`...) in `alertmanager.yml`'s names.
fn convert_time_intervals(v: &Value) -> Value {
    let Some(list) = v.as_array() else {
        return json!([]);
    };
    let conv_range = |r: &Value, start: &str, end: &str| -> Value {
        match (r.get(start), r.get(end)) {
            (Some(s), Some(e)) => json!({"start_time": s, "end_time": e}),
            _ => r.clone(),
        }
    };
    Value::Array(
        list.iter()
            .map(|ti| {
                let mut m = Map::new();
                for (from, to) in [
                    ("weekdays", "weekdays"),
                    ("daysOfMonth", "days_of_month"),
                    ("months", "months"),
                    ("years", "years"),
                ] {
                    if let Some(x) = ti.get(from) {
                        let items: Vec<Value> = x
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|r| match (r.get("start"), r.get("end")) {
                                (Some(s), Some(e)) => json!(format!("{}:{}", text(s), text(e))),
                                _ => r.clone(),
                            })
                            .collect();
                        m.insert(to.into(), Value::Array(items));
                    }
                }
                if let Some(times) = ti.get("times").and_then(Value::as_array) {
                    let t: Vec<Value> = times
                        .iter()
                        .map(|r| conv_range(r, "startTime", "endTime"))
                        .collect();
                    m.insert("times".into(), Value::Array(t));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every route's receiver must be one of the object's receivers.
fn check_receivers(r: &Route, names: &[&str]) -> Result<(), OperatorError> {
    if !r.receiver.is_empty() && !names.contains(&r.receiver.as_str()) {
        return Err(OperatorError::Invalid(format!(
            "route: receiver {:?} not found",
            r.receiver
        )));
    }
    r.routes.iter().try_for_each(|c| check_receivers(c, names))
}

/// The result of merging: the configuration and the objects left out, `<namespace>/<name>`
/// with why.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    /// `alertmanager.yml` as a JSON value.
    pub config: Value,
    /// Objects not merged.
    pub rejected: Vec<(String, String)>,
}

/// Merges `objects` into `base` (an `alertmanager.yml` as a JSON value, with a top-level
/// `route`) as the Operator does; an object that cannot be converted (unknown receiver in a
/// route, an unsupported integration, an unreadable Secret) is left out, logged and reported.
/// Secrets not in `assets` yet are recorded there as wanted ([`Assets::take_wanted`]): load
/// them and merge again.
#[must_use]
pub fn merge_alertmanager_configs(
    base: &Value,
    objects: &[AlertmanagerConfig],
    assets: &Assets,
) -> Merged {
    merge_alertmanager_configs_with(base, objects, assets, &MergeOptions::default())
}

/// How objects are scoped when merged: the `Alertmanager` resource's
/// `alertmanagerConfigMatcherStrategy` and its namespace (amcfg.go's enforcers).
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// The strategy.
    pub strategy: config::operator::MatcherStrategyType,
    /// The Alertmanager's namespace (for `OnNamespaceExceptForAlertmanagerNamespace`).
    pub alertmanager_namespace: String,
}

impl MergeOptions {
    /// Whether an object of `namespace` gets the namespace matcher.
    fn enforces(&self, namespace: &str) -> bool {
        use config::operator::MatcherStrategyType as T;
        match self.strategy {
            T::OnNamespace => true,
            T::OnNamespaceExceptForAlertmanagerNamespace => {
                namespace != self.alertmanager_namespace
            }
            T::None => false,
        }
    }
}

/// [`merge_alertmanager_configs`] with the matcher strategy of `options`: `None` adds no
/// namespace matcher (the objects' top routes still `continue`), `OnNamespaceExceptFor...`
/// adds none for objects in the Alertmanager's own namespace.
#[must_use]
pub fn merge_alertmanager_configs_with(
    base: &Value,
    objects: &[AlertmanagerConfig],
    assets: &Assets,
    options: &MergeOptions,
) -> Merged {
    let mut config = base.clone();
    if !config.is_object() {
        config = json!({});
    }
    let mut sorted: Vec<&AlertmanagerConfig> = objects.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name))
    });
    let mut routes = Vec::new();
    let mut rejected = Vec::new();
    for amc in sorted {
        let key = format!("{}/{}", amc.metadata.namespace, amc.metadata.name);
        let c = match convert(amc, assets, options.enforces(&amc.metadata.namespace)) {
            Ok(c) => c,
            Err(e) => {
                if !assets.is_wanted(&e) {
                    tracing::warn!(kind = "AlertmanagerConfig", object = %key, error = %e, "invalid object skipped");
                }
                rejected.push((key, e.to_string()));
                continue;
            }
        };
        routes.extend(c.route);
        let append = |config: &mut Value, key: &str, items: Vec<Value>| {
            if items.is_empty() {
                return;
            }
            let list = config
                .as_object_mut()
                .expect("an object")
                .entry(key)
                .or_insert_with(|| json!([]));
            if !list.is_array() {
                *list = json!([]);
            }
            list.as_array_mut().expect("an array").extend(items);
        };
        append(&mut config, "receivers", c.receivers);
        append(&mut config, "inhibit_rules", c.inhibit_rules);
        append(&mut config, "time_intervals", c.time_intervals);
    }
    if !routes.is_empty() {
        let route = config
            .as_object_mut()
            .expect("an object")
            .entry("route")
            .or_insert_with(|| json!({}));
        let existing = route
            .get("routes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        routes.extend(existing);
        route["routes"] = Value::Array(routes);
    }
    Merged { config, rejected }
}
