//! AlertmanagerConfig (v1alpha1) integrations beyond webhook/Slack/PagerDuty/email, converted
//! as the Operator converts them (prometheus-operator's `pkg/alertmanager/amcfg.go`,
//! `convertOpsgenieConfig`, `convertVictorOpsConfig`, `convertPushoverConfig`,
//! `convertSnsConfig`, `convertTelegramConfig`, `convertWeChatConfig`, `convertWebexConfig`,
//! `convertDiscordConfig`, `convertMSTeamsConfig`, `convertMSTeamsV2Config`; required fields
//! as its `validation/v1alpha1` checks them). Each integration is a table: the object's
//! camelCase field, the `alertmanager.yml` field, and how the value is carried (as written,
//! from a Secret, as a key/value map, ...). A field the table does not know is refused by
//! name rather than dropped.

use serde_json::{Map, Value, json};

use crate::alertmanagerconfig::http_config;
use crate::assets::{Assets, KeySelector};
use crate::error::OperatorError;

/// How one field's value is carried into `alertmanager.yml`.
#[derive(Clone, Copy)]
enum Carry {
    /// As written.
    Plain,
    /// A `SecretKeySelector`, replaced by the Secret's value (trimmed, as the Operator trims
    /// URLs it reads).
    Secret,
    /// `httpConfig`.
    Http,
    /// `[{key, value}]` -> `{key: value}`.
    KeyValues,
    /// OpsGenie `responders` (`id`, `name`, `username`, `type`).
    Responders,
    /// SNS `sigv4` (`accessKey`/`secretKey` from Secrets, `roleArn` -> `role_arn`).
    Sigv4,
    /// Read for an Alertmanager newer than Firewatch's reference (0.25): left out, as the
    /// Operator leaves it out for older versions.
    Dropped,
}

use Carry::{Dropped, Http, KeyValues, Plain, Responders, Secret, Sigv4};

/// One integration: the object's list, the file's list, its fields, and the groups of which
/// one field must be set (`[a, b]`: `a` or `b`).
struct Integration {
    from: &'static str,
    to: &'static str,
    fields: &'static [(&'static str, &'static str, Carry)],
    one_of: &'static [&'static [&'static str]],
}

const SEND_RESOLVED: (&str, &str, Carry) = ("sendResolved", "send_resolved", Plain);
const HTTP: (&str, &str, Carry) = ("httpConfig", "http_config", Http);

/// The integrations, in the order the Operator's receiver type lists them.
const INTEGRATIONS: &[Integration] = &[
    Integration {
        from: "opsgenieConfigs",
        to: "opsgenie_configs",
        fields: &[
            SEND_RESOLVED,
            ("apiKey", "api_key", Secret),
            ("apiURL", "api_url", Plain),
            ("message", "message", Plain),
            ("description", "description", Plain),
            ("source", "source", Plain),
            ("tags", "tags", Plain),
            ("note", "note", Plain),
            ("priority", "priority", Plain),
            ("updateAlerts", "update_alerts", Plain),
            ("details", "details", KeyValues),
            ("responders", "responders", Responders),
            ("entity", "entity", Plain),
            ("actions", "actions", Plain),
            HTTP,
        ],
        one_of: &[],
    },
    Integration {
        from: "wechatConfigs",
        to: "wechat_configs",
        fields: &[
            SEND_RESOLVED,
            ("apiSecret", "api_secret", Secret),
            ("apiURL", "api_url", Plain),
            ("corpID", "corp_id", Plain),
            ("agentID", "agent_id", Plain),
            ("toUser", "to_user", Plain),
            ("toParty", "to_party", Plain),
            ("toTag", "to_tag", Plain),
            ("message", "message", Plain),
            ("messageType", "message_type", Plain),
            HTTP,
        ],
        one_of: &[],
    },
    Integration {
        from: "victoropsConfigs",
        to: "victorops_configs",
        fields: &[
            SEND_RESOLVED,
            ("apiKey", "api_key", Secret),
            ("apiUrl", "api_url", Plain),
            ("routingKey", "routing_key", Plain),
            ("messageType", "message_type", Plain),
            ("entityDisplayName", "entity_display_name", Plain),
            ("stateMessage", "state_message", Plain),
            ("monitoringTool", "monitoring_tool", Plain),
            ("customFields", "custom_fields", KeyValues),
            HTTP,
        ],
        one_of: &[&["routingKey"]],
    },
    Integration {
        from: "pushoverConfigs",
        to: "pushover_configs",
        fields: &[
            SEND_RESOLVED,
            ("userKey", "user_key", Secret),
            ("userKeyFile", "user_key_file", Plain),
            ("token", "token", Secret),
            ("tokenFile", "token_file", Plain),
            ("title", "title", Plain),
            ("message", "message", Plain),
            ("url", "url", Plain),
            ("urlTitle", "url_title", Plain),
            ("ttl", "ttl", Plain),
            ("device", "device", Plain),
            ("sound", "sound", Plain),
            ("priority", "priority", Plain),
            ("retry", "retry", Plain),
            ("expire", "expire", Plain),
            ("html", "html", Plain),
            ("monospace", "monospace", Plain),
            HTTP,
        ],
        one_of: &[&["userKey", "userKeyFile"], &["token", "tokenFile"]],
    },
    Integration {
        from: "snsConfigs",
        to: "sns_configs",
        fields: &[
            SEND_RESOLVED,
            ("apiURL", "api_url", Plain),
            ("sigv4", "sigv4", Sigv4),
            ("topicARN", "topic_arn", Plain),
            ("subject", "subject", Plain),
            ("phoneNumber", "phone_number", Plain),
            ("targetARN", "target_arn", Plain),
            ("message", "message", Plain),
            ("attributes", "attributes", Plain),
            ("useAWSHTTPClient", "", Dropped),
            HTTP,
        ],
        one_of: &[&["topicARN", "phoneNumber", "targetARN"]],
    },
    Integration {
        from: "telegramConfigs",
        to: "telegram_configs",
        fields: &[
            SEND_RESOLVED,
            ("apiURL", "api_url", Plain),
            ("botToken", "bot_token", Secret),
            ("botTokenFile", "bot_token_file", Plain),
            ("chatID", "chat_id", Plain),
            ("messageThreadID", "message_thread_id", Plain),
            ("message", "message", Plain),
            ("disableNotifications", "disable_notifications", Plain),
            ("parseMode", "parse_mode", Plain),
            HTTP,
        ],
        one_of: &[&["botToken", "botTokenFile"], &["chatID"]],
    },
    Integration {
        from: "webexConfigs",
        to: "webex_configs",
        fields: &[
            SEND_RESOLVED,
            ("apiURL", "api_url", Plain),
            ("roomID", "room_id", Plain),
            ("message", "message", Plain),
            HTTP,
        ],
        one_of: &[&["roomID"]],
    },
    Integration {
        from: "discordConfigs",
        to: "discord_configs",
        fields: &[
            SEND_RESOLVED,
            ("apiURL", "webhook_url", Secret),
            ("title", "title", Plain),
            ("message", "message", Plain),
            ("content", "content", Plain),
            ("username", "username", Plain),
            ("avatarURL", "avatar_url", Plain),
            HTTP,
        ],
        one_of: &[&["apiURL"]],
    },
    Integration {
        from: "msteamsConfigs",
        to: "msteams_configs",
        fields: &[
            SEND_RESOLVED,
            ("webhookUrl", "webhook_url", Secret),
            ("title", "title", Plain),
            ("summary", "summary", Plain),
            ("text", "text", Plain),
            HTTP,
        ],
        one_of: &[&["webhookUrl"]],
    },
    Integration {
        from: "msteamsv2Configs",
        to: "msteamsv2_configs",
        fields: &[
            SEND_RESOLVED,
            ("webhookURL", "webhook_url", Secret),
            ("title", "title", Plain),
            ("text", "text", Plain),
            HTTP,
        ],
        one_of: &[],
    },
];

/// VictorOps fields a custom field may not override (Alertmanager's reserved names).
const VICTOROPS_RESERVED: &[&str] = &[
    "routing_key",
    "message_type",
    "state_message",
    "entity_display_name",
    "monitoring_tool",
    "entity_id",
    "entity_state",
];

/// Whether `kind` (a receiver's camelCase list name) is one of these integrations.
pub(crate) fn is_known(kind: &str) -> bool {
    INTEGRATIONS.iter().any(|i| i.from == kind)
}

/// Converts the receiver's lists of these integrations (`lists`: camelCase name -> value)
/// into `out` (`opsgenie_configs: [...]`, ...); `receiver` names it in errors.
pub(crate) fn convert_into(
    out: &mut Map<String, Value>,
    lists: &std::collections::BTreeMap<String, Value>,
    receiver: &str,
    ns: &str,
    assets: &Assets,
) -> Result<(), OperatorError> {
    let invalid = |m: String| OperatorError::Invalid(format!("receiver {receiver:?}: {m}"));
    for integration in INTEGRATIONS {
        let Some(list) = lists.get(integration.from) else {
            continue;
        };
        let Some(items) = list.as_array() else {
            return Err(invalid(format!("{} is not a list", integration.from)));
        };
        let mut converted = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let place = format!("{}[{i}]", integration.from);
            let c = convert_one(integration, item, ns, assets).map_err(|e| match e {
                OperatorError::Invalid(m) => invalid(format!("{place}: {m}")),
                other => other,
            })?;
            converted.push(Value::Object(c));
        }
        if !converted.is_empty() {
            out.insert(integration.to.into(), Value::Array(converted));
        }
    }
    Ok(())
}

fn convert_one(
    integration: &Integration,
    item: &Value,
    ns: &str,
    assets: &Assets,
) -> Result<Map<String, Value>, OperatorError> {
    let invalid = |m: String| OperatorError::Invalid(m);
    let Some(obj) = item.as_object() else {
        return Err(invalid("not an object".into()));
    };
    if let Some(unknown) = obj
        .keys()
        .find(|k| !integration.fields.iter().any(|(from, _, _)| from == k))
    {
        return Err(invalid(format!("unknown field {unknown:?}")));
    }
    for group in integration.one_of {
        let set = group.iter().any(|f| match obj.get(*f) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Number(n)) => n.as_i64() != Some(0),
            Some(_) => true,
        });
        if !set {
            return Err(invalid(format!("one of {} is required", group.join(", "))));
        }
    }
    let mut out = Map::new();
    for &(from, to, carry) in integration.fields {
        let Some(v) = obj.get(from).filter(|v| !v.is_null()) else {
            continue;
        };
        let converted = match carry {
            Plain => Some(v.clone()),
            Dropped => None,
            Secret => {
                let sel = selector(v, from)?;
                match assets.secret(ns, &sel)? {
                    Some(s) => {
                        let s = s.trim().to_owned();
                        if s.is_empty() {
                            return Err(invalid(format!("mandatory field {from:?} is empty")));
                        }
                        Some(json!(s))
                    }
                    None => None,
                }
            }
            Http => {
                let h = serde_json::from_value(v.clone())
                    .map_err(|e| invalid(format!("{from}: {e}")))?;
                http_config(Some(&h), ns, assets)?
            }
            KeyValues => Some(key_values(v, from, integration)?),
            Responders => Some(responders(v)?),
            Sigv4 => Some(sigv4(v, ns, assets)?),
        };
        if let Some(c) = converted {
            out.insert(to.into(), c);
        }
    }
    Ok(out)
}

fn selector(v: &Value, field: &str) -> Result<KeySelector, OperatorError> {
    serde_json::from_value(v.clone())
        .map_err(|e| OperatorError::Invalid(format!("{field}: not a Secret key selector: {e}")))
}

fn key_values(v: &Value, field: &str, integration: &Integration) -> Result<Value, OperatorError> {
    let mut m = Map::new();
    for kv in v.as_array().into_iter().flatten() {
        let (Some(k), Some(val)) = (
            kv.get("key").and_then(Value::as_str),
            kv.get("value").and_then(Value::as_str),
        ) else {
            return Err(OperatorError::Invalid(format!(
                "{field}: each entry needs a key and a value"
            )));
        };
        if integration.from == "victoropsConfigs" && VICTOROPS_RESERVED.contains(&k) {
            return Err(OperatorError::Invalid(format!(
                "{field}: custom field {k} conflicts with a fixed field"
            )));
        }
        m.insert(k.into(), json!(val));
    }
    Ok(Value::Object(m))
}

fn responders(v: &Value) -> Result<Value, OperatorError> {
    let mut out = Vec::new();
    for (i, r) in v.as_array().into_iter().flatten().enumerate() {
        let mut m = Map::new();
        for key in ["id", "name", "username"] {
            if let Some(s) = r.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                m.insert(key.into(), json!(s));
            }
        }
        if m.is_empty() {
            return Err(OperatorError::Invalid(format!(
                "responders[{i}]: one of id, name, username is required"
            )));
        }
        match r.get("type").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => m.insert("type".into(), json!(t)),
            _ => {
                return Err(OperatorError::Invalid(format!(
                    "responders[{i}]: type is required"
                )));
            }
        };
        out.push(Value::Object(m));
    }
    Ok(Value::Array(out))
}

fn sigv4(v: &Value, ns: &str, assets: &Assets) -> Result<Value, OperatorError> {
    let mut m = Map::new();
    for (from, to) in [
        ("region", "region"),
        ("profile", "profile"),
        ("roleArn", "role_arn"),
    ] {
        if let Some(s) = v
            .get(from)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            m.insert(to.into(), json!(s));
        }
    }
    // Both keys or neither, as the Operator reads them.
    if let (Some(a), Some(s)) = (v.get("accessKey"), v.get("secretKey")) {
        for (sel, to) in [(a, "access_key"), (s, "secret_key")] {
            let sel = selector(sel, to)?;
            if let Some(val) = assets.secret(ns, &sel)? {
                m.insert(to.into(), json!(val));
            }
        }
    }
    Ok(Value::Object(m))
}
