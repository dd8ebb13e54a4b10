//! The time functions of Alertmanager's templates (`template/template.go`): `date` and `tz`
//! (0.28), `since` and `humanizeDuration` (0.28), `now` (0.33), `toDate` and `mustToDate`
//! (0.34). Times are Go's `time.Time` texts (see `gotime`); a duration (`since`) is Go's
//! `time.Duration` text (`1h2m3.5s`), which `humanizeDuration` reads as seconds.

use std::sync::Arc;

use gotmpl::{FuncMap, TemplateError, Value};
use jiff::Timestamp;

use super::gotime::{GoTime, parse_layout};

type R = gotmpl::Result<Value>;

fn err(func: &str, msg: impl std::fmt::Display) -> TemplateError {
    TemplateError::Exec(format!("error calling {func}: {msg}"))
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

fn string<'a>(func: &str, v: &'a Value) -> gotmpl::Result<&'a str> {
    match v {
        Value::String(t) | Value::Safe { s: t, .. } => Ok(t),
        other => Err(err(
            func,
            format!(
                "wrong type for value; expected string; got {}",
                other.type_name()
            ),
        )),
    }
}

fn time(func: &str, v: &Value) -> gotmpl::Result<GoTime> {
    let t = string(func, v).map_err(|_| {
        err(
            func,
            format!(
                "wrong type for value; expected time.Time; got {}",
                v.type_name()
            ),
        )
    })?;
    GoTime::parse(t).ok_or_else(|| {
        err(
            func,
            format!("wrong type for value; expected time.Time; got string {t:?}"),
        )
    })
}

fn text(t: &GoTime) -> Value {
    Value::String(Arc::from(t.to_string()))
}

/// Go's `time.ParseDuration` of what `time.Duration.String` prints, in seconds.
fn parse_go_duration(s: &str) -> Option<f64> {
    let (sign, mut rest) = match s.strip_prefix('-') {
        Some(r) => (-1.0, r),
        None => (1.0, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|n| *n > 0)?;
        let v: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += v * scale;
        rest = &rest[u..];
    }
    Some(sign * total)
}

/// Prometheus's `ConvertToFloat` (numbers; strings as floats), and Go durations as seconds.
fn seconds(func: &str, v: &Value) -> gotmpl::Result<f64> {
    #[allow(clippy::cast_precision_loss)]
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Uint(u) => Ok(*u as f64),
        Value::String(t) => {
            let t = t.trim();
            let lower = t.to_ascii_lowercase();
            match lower.trim_start_matches(['+', '-']) {
                "inf" | "infinity" => {
                    return Ok(if lower.starts_with('-') {
                        f64::NEG_INFINITY
                    } else {
                        f64::INFINITY
                    });
                }
                "nan" => return Ok(f64::NAN),
                _ => {}
            }
            t.parse::<f64>()
                .ok()
                .or_else(|| parse_go_duration(t))
                .ok_or_else(|| {
                    err(
                        func,
                        format!("strconv.ParseFloat: parsing {t:?}: invalid syntax"),
                    )
                })
        }
        other => Err(err(
            func,
            format!("can't convert {} to float", other.type_name()),
        )),
    }
}

/// Adds the time functions to `f`.
pub(super) fn add(f: &mut FuncMap) {
    f.insert(
        "date".into(),
        Arc::new(|args: &[Value]| -> R {
            want("date", args, 2)?;
            let layout = string("date", &args[0])?;
            let t = time("date", &args[1])?;
            Ok(Value::String(Arc::from(t.format(layout))))
        }),
    );
    f.insert(
        "tz".into(),
        Arc::new(|args: &[Value]| -> R {
            want("tz", args, 2)?;
            let name = string("tz", &args[0])?;
            let t = time("tz", &args[1])?;
            Ok(text(&t.in_zone(name).map_err(|e| err("tz", e))?))
        }),
    );
    f.insert(
        "now".into(),
        Arc::new(|args: &[Value]| -> R {
            want("now", args, 0)?;
            Ok(text(&GoTime::local(Timestamp::now())))
        }),
    );
    f.insert(
        "since".into(),
        Arc::new(|args: &[Value]| -> R {
            want("since", args, 1)?;
            let t = time("since", &args[0])?;
            let d = Timestamp::now().as_nanosecond() - t.ts.as_nanosecond();
            let d = i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX });
            Ok(Value::String(Arc::from(model::gofmt::time_duration(d))))
        }),
    );
    f.insert(
        "humanizeDuration".into(),
        Arc::new(|args: &[Value]| -> R {
            want("humanizeDuration", args, 1)?;
            let v = seconds("humanizeDuration", &args[0])?;
            Ok(Value::String(Arc::from(model::gofmt::humanize_duration(v))))
        }),
    );
    f.insert(
        "toDate".into(),
        Arc::new(|args: &[Value]| -> R {
            want("toDate", args, 2)?;
            let layout = string("toDate", &args[0])?;
            let v = string("toDate", &args[1])?;
            Ok(text(&parse_layout(layout, v).unwrap_or_else(|_| {
                GoTime::utc(GO_ZERO.parse().unwrap_or(Timestamp::UNIX_EPOCH))
            })))
        }),
    );
    f.insert(
        "mustToDate".into(),
        Arc::new(|args: &[Value]| -> R {
            want("mustToDate", args, 2)?;
            let layout = string("mustToDate", &args[0])?;
            let v = string("mustToDate", &args[1])?;
            Ok(text(
                &parse_layout(layout, v).map_err(|e| err("mustToDate", e))?,
            ))
        }),
    );
}

/// Go's zero `time.Time`.
const GO_ZERO: &str = "0001-01-01T00:00:00Z";
