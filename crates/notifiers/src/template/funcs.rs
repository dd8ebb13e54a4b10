//! Alertmanager's template functions (`DefaultFuncs` in `template/template.go`) and the
//! functions standing for its data types' methods, over gotmpl values.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::{FuncMap, TemplateError, Value};

use super::rewrite::{PRINT_FUNC, method_func};

type R = gotmpl::Result<Value>;

fn err(func: &str, msg: impl std::fmt::Display) -> TemplateError {
    TemplateError::Exec(format!("error calling {func}: {msg}"))
}

fn s(v: impl Into<Arc<str>>) -> Value {
    Value::String(v.into())
}

fn want(func: &str, args: &[Value], n: usize) -> gotmpl::Result<()> {
    if args.len() == n {
        Ok(())
    } else {
        Err(TemplateError::ArgCount {
            name: func.to_owned(),
            expected: n,
            got: args.len(),
        })
    }
}

fn text<'a>(func: &str, v: &'a Value) -> gotmpl::Result<&'a str> {
    match v {
        Value::String(t) => Ok(t),
        Value::Safe { s, .. } => Ok(s),
        other => Err(err(
            func,
            format!(
                "wrong type for value; expected string; got {}",
                other.type_name()
            ),
        )),
    }
}

fn strings(func: &str, v: &Value) -> gotmpl::Result<Vec<Arc<str>>> {
    match v {
        Value::List(l) => l.iter().map(|x| text(func, x).map(Arc::from)).collect(),
        Value::Nil => Ok(Vec::new()),
        other => Err(err(
            func,
            format!(
                "wrong type for value; expected []string; got {}",
                other.type_name()
            ),
        )),
    }
}

fn one_str(name: &'static str, f: fn(&str) -> String) -> (String, gotmpl::ValueFunc) {
    (
        name.to_owned(),
        Arc::new(move |args: &[Value]| -> R {
            want(name, args, 1)?;
            Ok(s(f(text(name, &args[0])?)))
        }),
    )
}

/// Alertmanager's `title` (`cases.Title(language.AmericanEnglish)` of golang.org/x/text):
/// the first cased letter of each word in title case, the word's other letters lower-cased.
/// A word ends at a character that is neither a letter, a digit, `_` nor a mid-word
/// punctuation (`'`, `.`, `:`, `·`, `’`); two mid-word punctuations in a row end it too.
pub(crate) fn go_title(t: &str) -> String {
    let is_mid = |c: char| matches!(c, '\'' | '.' | ':' | '\u{b7}' | '\u{2019}');
    let mut out = String::with_capacity(t.len());
    let mut mid_word = false;
    let mut prev_mid = false;
    for c in t.chars() {
        if prev_mid && is_mid(c) {
            mid_word = false;
        }
        if c.is_lowercase() || c.is_uppercase() {
            if mid_word {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
                mid_word = true;
            }
        } else {
            out.push(c);
            if !(c.is_alphanumeric() || c == '_' || is_mid(c)) {
                mid_word = false;
            }
        }
        prev_mid = is_mid(c);
    }
    out
}

/// Go regular expressions in Rust's syntax (Perl classes are ASCII in RE2).
pub(crate) fn go_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .unicode(true)
        .build()
        .map_err(|e| format!("error parsing regexp: {e}"))
}

/// A label set's pairs in Alertmanager's order: `alertname` first, then by name.
fn sorted_pairs(m: &BTreeMap<Arc<str>, Value>) -> Vec<(Arc<str>, Value)> {
    let mut out: Vec<(Arc<str>, Value)> = Vec::with_capacity(m.len());
    if let Some(v) = m.get("alertname") {
        out.push((Arc::from("alertname"), v.clone()));
    }
    out.extend(
        m.iter()
            .filter(|(k, _)| k.as_ref() != "alertname")
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    out
}

fn pair(k: Arc<str>, v: Value) -> Value {
    let mut m = BTreeMap::new();
    m.insert(Arc::from("Name"), Value::String(k));
    m.insert(Arc::from("Value"), v);
    Value::Map(Arc::new(m))
}

fn method(name: &'static str, args: &[Value]) -> R {
    let m = method_func(name);
    let Some(recv) = args.first() else {
        return Err(TemplateError::ArgCount {
            name: m,
            expected: 1,
            got: 0,
        });
    };
    let no_method = || {
        Err(TemplateError::Exec(format!(
            "can't evaluate field {name} in type {}",
            recv.type_name()
        )))
    };
    match (name, recv) {
        ("SortedPairs", Value::Map(kv)) => {
            want(&m, args, 1)?;
            Ok(Value::List(
                sorted_pairs(kv)
                    .into_iter()
                    .map(|(k, v)| pair(k, v))
                    .collect(),
            ))
        }
        ("Names" | "Values", Value::Map(kv)) => {
            want(&m, args, 1)?;
            let names = name == "Names";
            Ok(Value::List(
                sorted_pairs(kv)
                    .into_iter()
                    .map(|(k, v)| if names { Value::String(k) } else { v })
                    .collect(),
            ))
        }
        ("Names" | "Values", Value::List(pairs)) => {
            want(&m, args, 1)?;
            let field = if name == "Names" { "Name" } else { "Value" };
            Ok(Value::List(
                pairs
                    .iter()
                    .map(|p| p.field(field).cloned().unwrap_or(Value::Nil))
                    .collect(),
            ))
        }
        ("Remove", Value::Map(kv)) => {
            want(&m, args, 2)?;
            let drop = strings("Remove", &args[1])?;
            let mut out = kv.as_ref().clone();
            for k in drop {
                out.remove(&k);
            }
            Ok(Value::Map(Arc::new(out)))
        }
        ("Firing" | "Resolved", Value::List(alerts)) => {
            want(&m, args, 1)?;
            let status = name.to_lowercase();
            Ok(Value::List(
                alerts
                    .iter()
                    .filter(|a| {
                        matches!(a.field("Status"), Some(Value::String(st)) if st.as_ref() == status)
                    })
                    .cloned()
                    .collect(),
            ))
        }
        // A map without such a method: the key of that name (Go's map index).
        (_, Value::Map(kv)) if args.len() == 1 => Ok(kv.get(name).cloned().unwrap_or(Value::Nil)),
        (_, Value::Nil) => Ok(Value::Nil),
        _ => no_method(),
    }
}

/// Alertmanager's functions, the method stand-ins and the printing function.
pub(super) fn func_map() -> FuncMap {
    let mut f = FuncMap::new();
    for (k, v) in [
        one_str("toUpper", str::to_uppercase),
        one_str("toLower", str::to_lowercase),
        one_str("title", go_title),
        one_str("trimSpace", |t| t.trim().to_owned()),
    ] {
        f.insert(k, v);
    }
    f.insert(
        "join".into(),
        Arc::new(|args: &[Value]| -> R {
            want("join", args, 2)?;
            let sep = text("join", &args[0])?;
            let parts = strings("join", &args[1])?;
            let parts: Vec<&str> = parts.iter().map(AsRef::as_ref).collect();
            Ok(s(parts.join(sep)))
        }),
    );
    f.insert(
        "match".into(),
        Arc::new(|args: &[Value]| -> R {
            want("match", args, 2)?;
            let re = go_regex(text("match", &args[0])?).map_err(|e| err("match", e))?;
            Ok(Value::Bool(re.is_match(text("match", &args[1])?)))
        }),
    );
    f.insert(
        "reReplaceAll".into(),
        Arc::new(|args: &[Value]| -> R {
            want("reReplaceAll", args, 3)?;
            let re =
                go_regex(text("reReplaceAll", &args[0])?).map_err(|e| err("reReplaceAll", e))?;
            let repl = text("reReplaceAll", &args[1])?;
            let t = text("reReplaceAll", &args[2])?;
            Ok(s(re.replace_all(t, repl).into_owned()))
        }),
    );
    f.insert(
        "safeHtml".into(),
        Arc::new(|args: &[Value]| -> R {
            want("safeHtml", args, 1)?;
            Ok(gotmpl::html::HTML::from(text("safeHtml", &args[0])?).into())
        }),
    );
    f.insert(
        "safeUrl".into(),
        Arc::new(|args: &[Value]| -> R {
            want("safeUrl", args, 1)?;
            Ok(gotmpl::html::URL::from(text("safeUrl", &args[0])?).into())
        }),
    );
    f.insert(
        "urlUnescape".into(),
        Arc::new(|args: &[Value]| -> R {
            want("urlUnescape", args, 1)?;
            let t = text("urlUnescape", &args[0])?;
            Ok(s(url_unescape(t).map_err(|e| err("urlUnescape", e))?))
        }),
    );
    f.insert(
        "stringSlice".into(),
        Arc::new(|args: &[Value]| -> R {
            let v: gotmpl::Result<Vec<Value>> =
                args.iter().map(|a| text("stringSlice", a).map(s)).collect();
            Ok(Value::List(v?.into()))
        }),
    );
    f.insert(
        "toJson".into(),
        Arc::new(|args: &[Value]| -> R {
            want("toJson", args, 1)?;
            Ok(s(to_json(&args[0]).to_string()))
        }),
    );
    super::timefuncs::add(&mut f);
    add_data_funcs(&mut f);
    for m in super::rewrite::METHODS {
        f.insert(
            method_func(m),
            Arc::new(move |args: &[Value]| method(m, args)),
        );
    }
    f.insert(
        PRINT_FUNC.into(),
        Arc::new(|args: &[Value]| -> R {
            Ok(match args.last() {
                Some(Value::Nil) | None => s(""),
                Some(v) => v.clone(),
            })
        }),
    );
    f
}

/// `base64encode`/`base64decode` (URL-safe alphabet with padding) and `list`, `append`,
/// `dict` (Alertmanager 0.32 and 0.34).
fn add_data_funcs(f: &mut FuncMap) {
    use base64::Engine;
    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE;
    f.insert(
        "base64encode".into(),
        Arc::new(|args: &[Value]| -> R {
            want("base64encode", args, 1)?;
            Ok(s(B64.encode(text("base64encode", &args[0])?)))
        }),
    );
    f.insert(
        "base64decode".into(),
        Arc::new(|args: &[Value]| -> R {
            want("base64decode", args, 1)?;
            let bytes = B64
                .decode(text("base64decode", &args[0])?)
                .map_err(|e| err("base64decode", go_base64_error(&e)))?;
            Ok(s(String::from_utf8_lossy(&bytes).into_owned()))
        }),
    );
    f.insert(
        "list".into(),
        Arc::new(|args: &[Value]| -> R { Ok(Value::List(args.to_vec().into())) }),
    );
    f.insert(
        "append".into(),
        Arc::new(|args: &[Value]| -> R {
            let Some((first, rest)) = args.split_first() else {
                return Err(TemplateError::ArgCount {
                    name: "append".into(),
                    expected: 1,
                    got: 0,
                });
            };
            let mut out: Vec<Value> = match first {
                Value::List(l) => l.to_vec(),
                Value::Nil => Vec::new(),
                other => {
                    return Err(err(
                        "append",
                        format!(
                            "wrong type for value; expected []interface {{}}; got {}",
                            other.type_name()
                        ),
                    ));
                }
            };
            out.extend(rest.iter().cloned());
            Ok(Value::List(out.into()))
        }),
    );
    f.insert(
        "dict".into(),
        Arc::new(|args: &[Value]| -> R {
            if !args.len().is_multiple_of(2) {
                return Err(err("dict", "dict requires an even number of arguments"));
            }
            let mut m = BTreeMap::new();
            for kv in args.chunks(2) {
                let Value::String(k) = &kv[0] else {
                    return Err(err("dict", "dict keys must be strings"));
                };
                m.insert(k.clone(), kv[1].clone());
            }
            Ok(Value::Map(Arc::new(m)))
        }),
    );
}

/// Go's `base64.CorruptInputError` text.
fn go_base64_error(e: &base64::DecodeError) -> String {
    let at = match e {
        base64::DecodeError::InvalidByte(i, _) | base64::DecodeError::InvalidLastSymbol(i, _) => *i,
        base64::DecodeError::InvalidLength(n) => *n,
        base64::DecodeError::InvalidPadding => 0,
    };
    format!("illegal base64 data at input byte {at}")
}

fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Uint(u) => J::from(*u),
        Value::Float(f) => J::from(*f),
        Value::String(t) | Value::Safe { s: t, .. } => J::String(t.to_string()),
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
        Value::Function(_) => J::Null,
    }
}

/// Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte.
fn url_unescape(t: &str) -> Result<String, String> {
    let b = t.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = t
                    .get(i + 1..i + 3)
                    .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
                let Some(h) = hex else {
                    let bad: String = t[i..].chars().take(3).collect();
                    return Err(format!("invalid URL escape {bad:?}"));
                };
                out.push(u8::from_str_radix(h, 16).map_err(|e| e.to_string())?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
