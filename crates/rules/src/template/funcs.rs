//! Prometheus's template functions over gotmpl values.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::{FuncMap, TemplateError, Value};

use super::QueryFn;
use super::format::{go_g4, humanize_timestamp};
use model::gofmt::humanize_duration;

/// What the functions need from the expansion: time, query function and external URL.
pub(super) struct Context {
    pub ts: i64,
    pub query: Option<QueryFn>,
    pub external_url: String,
}

type R = gotmpl::Result<Value>;

fn err(func: &str, msg: impl std::fmt::Display) -> TemplateError {
    TemplateError::Exec(format!("error calling {func}: {msg}"))
}

fn s(v: impl Into<Arc<str>>) -> Value {
    Value::String(v.into())
}

fn arg<'a>(func: &str, args: &'a [Value], i: usize, want: usize) -> gotmpl::Result<&'a Value> {
    if args.len() == want {
        Ok(&args[i])
    } else {
        Err(TemplateError::ArgCount {
            name: func.to_owned(),
            expected: want,
            got: args.len(),
        })
    }
}

fn str_arg<'a>(func: &str, args: &'a [Value], i: usize, want: usize) -> gotmpl::Result<&'a str> {
    match arg(func, args, i, want)? {
        Value::String(v) => Ok(v),
        other => Err(err(
            func,
            format!(
                "wrong type for value; expected string; got {}",
                other.type_name()
            ),
        )),
    }
}

/// Prometheus's `ConvertToFloat`: numbers as they are, strings parsed as Go's `ParseFloat`.
fn to_float(func: &str, v: &Value) -> gotmpl::Result<f64> {
    #[allow(clippy::cast_precision_loss)]
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Uint(u) => Ok(*u as f64),
        Value::String(t) => parse_go_float(t).ok_or_else(|| {
            err(
                func,
                format!("strconv.ParseFloat: parsing {t:?}: invalid syntax"),
            )
        }),
        other => Err(err(
            func,
            format!("can't convert {} to float", other.type_name()),
        )),
    }
}

fn parse_go_float(t: &str) -> Option<f64> {
    let lower = t.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if matches!(unsigned, "inf" | "infinity" | "nan") {
        let neg = lower.starts_with('-');
        return Some(match unsigned {
            "nan" => f64::NAN,
            _ if neg => f64::NEG_INFINITY,
            _ => f64::INFINITY,
        });
    }
    if t.chars()
        .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
    {
        return None;
    }
    t.parse().ok()
}

fn float_arg(func: &str, args: &[Value]) -> gotmpl::Result<f64> {
    to_float(func, arg(func, args, 0, 1)?)
}

fn sample_field<'a>(v: &'a Value, field: &str) -> Option<&'a Value> {
    match v {
        Value::Map(m) => m.get(field),
        _ => None,
    }
}

fn sample_label(v: &Value, label: &str) -> String {
    match sample_field(v, "Labels") {
        Some(Value::Map(m)) => m
            .get(label)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

/// The UI link that graphs `expr` (`/graph?g0.expr=...&g0.tab=0`).
#[must_use]
pub fn graph_link(expr: &str) -> String {
    format!(
        "/graph?g0.expr={}&g0.tab=0",
        model::gofmt::query_escape(expr)
    )
}

/// The UI link that tabulates `expr` (`/graph?g0.expr=...&g0.tab=1`).
#[must_use]
pub fn table_link(expr: &str) -> String {
    format!(
        "/graph?g0.expr={}&g0.tab=1",
        model::gofmt::query_escape(expr)
    )
}

/// An unanchored Go regular expression.
fn go_regex(func: &str, pattern: &str) -> gotmpl::Result<regex::Regex> {
    let anchored = model::regex::translate(pattern).map_err(|e| err(func, e))?;
    let inner = anchored
        .strip_prefix("^(?s:")
        .and_then(|r| r.strip_suffix(")$"))
        .unwrap_or(&anchored);
    regex::Regex::new(&format!("(?:{inner})")).map_err(|e| err(func, e))
}

fn humanize(v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return go_g4(v);
    }
    let mut v = v;
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", go_g4(v))
}

fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return go_g4(v);
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", go_g4(v))
}

/// Go's `net.SplitHostPort`: `None` when `hp` is not `host:port`.
fn split_host_port(hp: &str) -> Option<(&str, &str)> {
    if let Some(rest) = hp.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = &rest[..end];
        let port = rest[end + 1..].strip_prefix(':')?;
        if port.contains(':') {
            return None;
        }
        return Some((host, port));
    }
    let (host, port) = hp.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some((host, port))
}

fn strip_domain(hp: &str) -> String {
    let (host, port) = split_host_port(hp).unwrap_or((hp, ""));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return hp.to_owned();
    }
    let host = host.split('.').next().unwrap_or_default();
    if port.is_empty() {
        host.to_owned()
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `strings.Title`-like: the first letter of each word upper-cased, the rest kept.
fn title(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut prev_letter = false;
    for c in v.chars() {
        if prev_letter {
            out.push(c);
        } else {
            out.extend(c.to_uppercase());
        }
        prev_letter = c.is_alphanumeric() || c == '\'' || c == '_';
    }
    out
}

/// The path part of a URL (`http://host:9090/prefix` → `/prefix`, `http://host` → ``).
fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    match after_scheme.find('/') {
        Some(i) => {
            let p = &after_scheme[i..];
            p.split(['?', '#']).next().unwrap_or(p)
        }
        None => "",
    }
}

fn query_result(func: &str, ctx_query: Option<&QueryFn>, q: &str, ts: i64) -> R {
    let Some(query) = ctx_query else {
        return Err(err(func, "no query engine available"));
    };
    let samples = query(q, ts).map_err(|e| err(func, e))?;
    let list: Vec<Value> = samples
        .into_iter()
        .map(|smp| {
            let labels: BTreeMap<Arc<str>, Value> = smp
                .labels
                .iter()
                .map(|l| (Arc::from(l.name), s(l.value)))
                .collect();
            Value::Map(Arc::new(BTreeMap::from([
                (Arc::from("Labels"), Value::Map(Arc::new(labels))),
                (Arc::from("Value"), Value::Float(smp.value)),
            ])))
        })
        .collect();
    Ok(Value::List(list.into()))
}

fn insert(m: &mut FuncMap, name: &str, f: impl Fn(&[Value]) -> R + Send + Sync + 'static) {
    m.insert(name.to_owned(), Arc::new(f));
}

fn float_fn(m: &mut FuncMap, name: &'static str, f: fn(f64) -> String) {
    insert(m, name, move |a| Ok(s(f(float_arg(name, a)?))));
}

fn str_fn(m: &mut FuncMap, name: &'static str, f: fn(&str) -> String) {
    insert(m, name, move |a| Ok(s(f(str_arg(name, a, 0, 1)?))));
}

/// Every function Prometheus offers to alert and console templates.
pub(super) fn func_map(ctx: &Context) -> FuncMap {
    let mut m = FuncMap::new();
    let (ts, query) = (ctx.ts, ctx.query.clone());
    insert(&mut m, "query", move |a| {
        query_result("query", query.as_ref(), str_arg("query", a, 0, 1)?, ts)
    });
    insert(&mut m, "first", |a| match arg("first", a, 0, 1)? {
        Value::List(l) => l
            .first()
            .cloned()
            .ok_or_else(|| err("first", "first() called on vector with no elements")),
        other => Err(err(
            "first",
            format!(
                "wrong type for value; expected queryResult; got {}",
                other.type_name()
            ),
        )),
    });
    insert(&mut m, "label", |a| {
        let name = str_arg("label", a, 0, 2)?;
        Ok(s(sample_label(&a[1], name)))
    });
    insert(&mut m, "value", |a| {
        Ok(sample_field(arg("value", a, 0, 1)?, "Value")
            .cloned()
            .unwrap_or(Value::Nil))
    });
    insert(&mut m, "strvalue", |a| {
        Ok(s(sample_label(arg("strvalue", a, 0, 1)?, "__value__")))
    });
    insert(&mut m, "args", |a| {
        let map: BTreeMap<Arc<str>, Value> = a
            .iter()
            .enumerate()
            .map(|(i, v)| (Arc::from(format!("arg{i}").as_str()), v.clone()))
            .collect();
        Ok(Value::Map(Arc::new(map)))
    });
    insert(&mut m, "reReplaceAll", |a| {
        let pattern = str_arg("reReplaceAll", a, 0, 3)?;
        let repl = str_arg("reReplaceAll", a, 1, 3)?;
        let text = str_arg("reReplaceAll", a, 2, 3)?;
        let re = go_regex("reReplaceAll", pattern)?;
        let mut out = String::new();
        let mut last = 0;
        for caps in re.captures_iter(text) {
            let Some(m0) = caps.get(0) else { continue };
            out.push_str(&text[last..m0.start()]);
            out.push_str(&model::regex::expand(repl, &caps));
            last = m0.end();
        }
        out.push_str(&text[last..]);
        Ok(s(out))
    });
    insert(&mut m, "match", |a| {
        let pattern = str_arg("match", a, 0, 2)?;
        let text = str_arg("match", a, 1, 2)?;
        Ok(Value::Bool(go_regex("match", pattern)?.is_match(text)))
    });
    insert(&mut m, "safeHtml", |a| Ok(s(str_arg("safeHtml", a, 0, 1)?)));
    str_fn(&mut m, "title", title);
    str_fn(&mut m, "toUpper", str::to_uppercase);
    str_fn(&mut m, "toLower", str::to_lowercase);
    str_fn(&mut m, "graphLink", graph_link);
    str_fn(&mut m, "tableLink", table_link);
    str_fn(&mut m, "urlQueryEscape", model::gofmt::query_escape);
    str_fn(&mut m, "stripPort", |hp| {
        split_host_port(hp).map_or(hp, |(h, _)| h).to_owned()
    });
    str_fn(&mut m, "stripDomain", strip_domain);
    insert(&mut m, "sortByLabel", |a| {
        let label = str_arg("sortByLabel", a, 0, 2)?;
        match &a[1] {
            Value::List(l) => {
                let mut v: Vec<Value> = l.to_vec();
                v.sort_by_key(|x| sample_label(x, label));
                Ok(Value::List(v.into()))
            }
            other => Err(err(
                "sortByLabel",
                format!(
                    "wrong type for value; expected queryResult; got {}",
                    other.type_name()
                ),
            )),
        }
    });
    float_fn(&mut m, "humanize", humanize);
    float_fn(&mut m, "humanize1024", humanize1024);
    float_fn(&mut m, "humanizeDuration", humanize_duration);
    float_fn(&mut m, "humanizePercentage", |v| {
        format!("{}%", go_g4(v * 100.0))
    });
    insert(&mut m, "humanizeTimestamp", |a| {
        let v = float_arg("humanizeTimestamp", a)?;
        if v.is_nan() || v.is_infinite() {
            return Ok(s(go_g4(v)));
        }
        humanize_timestamp(v)
            .map(s)
            .map_err(|e| err("humanizeTimestamp", e))
    });
    insert(&mut m, "toTime", |a| {
        let v = float_arg("toTime", a)?;
        if v.is_nan() || v.is_infinite() {
            return Err(err("toTime", "value is NaN or Inf"));
        }
        humanize_timestamp(v).map(s).map_err(|e| err("toTime", e))
    });
    insert(&mut m, "parseDuration", |a| {
        let d = str_arg("parseDuration", a, 0, 1)?;
        let (neg, body) = d.strip_prefix('-').map_or((false, d), |b| (true, b));
        let ms = promql::parser::parse_duration(body).map_err(|e| err("parseDuration", e))?;
        #[allow(clippy::cast_precision_loss)]
        let secs = ms as f64 / 1000.0;
        Ok(Value::Float(if neg { -secs } else { secs }))
    });
    #[allow(clippy::cast_precision_loss)]
    let now = ts as f64 / 1000.0;
    insert(&mut m, "now", move |_| Ok(Value::Float(now)));
    let url = ctx.external_url.clone();
    insert(&mut m, "externalURL", move |_| Ok(s(url.as_str())));
    let path = url_path(&ctx.external_url).to_owned();
    insert(&mut m, "pathPrefix", move |_| Ok(s(path.as_str())));
    m
}
