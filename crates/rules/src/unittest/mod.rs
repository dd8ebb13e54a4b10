//! `tool test rules`: promtool's rule unit tests (input series in expanding notation, expected
//! alerts at evaluation times, expected results of expressions), with promtool's output and
//! outcome.

mod file;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::{Labels, Sample};
use promql::promqltest::series_desc::{SeqValue, parse_series_desc};
use storage::memory::MemoryStorage;
use storage::{Appendable, Queryable};

use crate::alerting::AlertState;
use crate::manager::{Manager, ManagerOptions, UpdateOptions};
use file::{AlertTest, TestFile, TestGroup};

/// Runs the test files as `promtool test rules` does: the report to `out`, each failing file's
/// `FAILED:` and errors to `err` (with the blank line after each error on `out`, as promtool
/// prints them); true when every test passed.
pub fn run(paths: &[PathBuf], out: &mut impl Write, err: &mut impl Write) -> bool {
    let mut ok = true;
    for p in paths {
        let _ = writeln!(out, "Unit Testing:  {}", p.display());
        let errs = run_file(p, out);
        if errs.is_empty() {
            let _ = writeln!(out, "  SUCCESS");
        } else {
            ok = false;
            let _ = writeln!(err, "  FAILED:");
            for e in errs {
                let _ = writeln!(err, "{e}");
                let _ = writeln!(out);
            }
        }
        let _ = writeln!(out);
    }
    ok
}

fn ms(d: config::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn run_file(path: &Path, out: &mut impl Write) -> Vec<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return vec![format!("open {}: {e}", path.display())],
    };
    let mut tf: TestFile = match serde_saphyr::from_str(&text) {
        Ok(t) => t,
        Err(e) => return vec![e.to_string()],
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut files = Vec::new();
    for rf in &tf.rule_files {
        let full = if rf.is_empty() || Path::new(rf).is_absolute() {
            PathBuf::from(rf)
        } else {
            base.join(rf)
        };
        match config::glob::glob(&full.to_string_lossy()) {
            Ok(m) if m.is_empty() => {
                let _ = writeln!(out, "  WARNING: no file match pattern {}", full.display());
            }
            Ok(m) => files.extend(m),
            Err(e) => return vec![e],
        }
    }
    if tf.evaluation_interval.is_zero() {
        tf.evaluation_interval = config::Duration::from_secs(60);
    }
    let mut order = std::collections::HashMap::new();
    for (i, g) in tf.group_eval_order.iter().enumerate() {
        if order.insert(g.clone(), i).is_some() {
            return vec![format!("group name repeated in evaluation order: {g}")];
        }
    }
    let mut errs = Vec::new();
    for tg in &mut tf.tests {
        if tg.interval.is_zero() {
            tg.interval = tf.evaluation_interval;
        }
        errs.extend(run_group(
            tg,
            &files,
            ms(tf.evaluation_interval),
            &order,
            tf.fuzzy_compare,
        ));
    }
    errs
}

fn load_series(tg: &TestGroup, storage: &MemoryStorage, start: i64) -> Result<(), String> {
    let step = ms(tg.interval);
    let mut app = storage.appender();
    for s in &tg.input_series {
        let (labels, values) = parse_series_desc(&format!("{} {}", s.series, s.values))?;
        for (i, v) in values.into_iter().enumerate() {
            let t = start + i64::try_from(i).unwrap_or(i64::MAX) * step;
            let sample = match v {
                SeqValue::Omitted => continue,
                SeqValue::Float(f) => Sample::Float(f),
                SeqValue::Histogram(h, _) => Sample::FloatHistogram(Arc::new(*h)),
            };
            app.append(0, &labels, t, sample)
                .map_err(|e| e.to_string())?;
        }
    }
    app.commit().map_err(|e| e.to_string())
}

fn indent(lines: &str, prefix: &str) -> String {
    lines
        .split('\n')
        .collect::<Vec<_>>()
        .join(&format!("\n{prefix}"))
}

type LabelsAndAnnotations = Vec<(Labels, Labels)>;

fn alerts_string(v: &LabelsAndAnnotations) -> String {
    if v.is_empty() {
        return "[]".into();
    }
    let mut s = String::from("[");
    for (i, (l, a)) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "\n{i}:{}",
            indent(&format!("\nLabels:{l}\nAnnotations:{a}"), "  ")
        ));
    }
    s.push_str("\n]");
    s
}

fn float_eq(a: f64, b: f64, fuzzy: bool) -> bool {
    a == b || (fuzzy && (a.next_down() == b || a.next_up() == b))
}

#[allow(clippy::too_many_lines)]
fn run_group(
    tg: &TestGroup,
    files: &[PathBuf],
    eval_interval: i64,
    order: &std::collections::HashMap<String, usize>,
    fuzzy: bool,
) -> Vec<String> {
    let mint = match tg
        .start_timestamp
        .as_ref()
        .map(file::StartTimestamp::millis)
    {
        None => 0,
        Some(Ok(t)) => t,
        Some(Err(e)) => return vec![e],
    };
    let storage = MemoryStorage::new();
    if let Err(e) = load_series(tg, &storage, mint) {
        return vec![e];
    }
    let engine = promql::Engine::new(promql::EngineOptions {
        default_subquery_step: std::time::Duration::from_millis(
            u64::try_from(eval_interval).unwrap_or(60_000),
        ),
        ..promql::EngineOptions::default()
    });
    let mut opts = ManagerOptions::new(
        engine.clone(),
        Arc::new(storage.clone()),
        Arc::new(storage.clone()),
    );
    opts.external_url.clone_from(&tg.external_url);
    let manager = Manager::new(opts);
    let update = UpdateOptions {
        interval: tg.interval.to_std(),
        query_offset: std::time::Duration::ZERO,
        external_labels: Labels::from_pairs(tg.external_labels.iter()),
    };
    if let Err(e) = manager.update(files, &update) {
        return vec![e.to_string()];
    }
    manager.mark_restored();
    let mut groups = manager.group_handles();
    groups.sort_by_key(|g| order.get(&g.settings.name).copied().unwrap_or(0));

    let mut alert_times: Vec<i64> = Vec::new();
    for a in &tg.alert_rule_test {
        if a.alertname.is_empty() {
            let in_group = if tg.name.is_empty() {
                String::new()
            } else {
                format!(" (in TestGroup {})", tg.name)
            };
            return vec![format!(
                "an item under alert_rule_test misses required attribute alertname at eval_time {}{in_group}",
                a.eval_time
            )];
        }
        alert_times.push(mint + ms(a.eval_time));
    }
    alert_times.sort_unstable();
    alert_times.dedup();
    let maxt = mint
        + tg.alert_rule_test
            .iter()
            .map(|a| ms(a.eval_time))
            .chain(tg.promql_expr_test.iter().map(|p| ms(p.eval_time)))
            .max()
            .unwrap_or(0);

    let mut errs = Vec::new();
    let mut curr = 0;
    let mut ts = mint;
    while ts <= maxt {
        let mut eval_errs = Vec::new();
        for g in &groups {
            manager.eval_group(g, ts);
            for r in &crate::view::group_view(g).rules {
                if let Some(e) = &r.last_error {
                    eval_errs.push(format!(
                        "    rule: {}, time: {}, err: {e}",
                        r.name,
                        model::gofmt::time_duration(ts.saturating_mul(1_000_000))
                    ));
                }
            }
        }
        if !eval_errs.is_empty() {
            errs.extend(eval_errs);
            return errs;
        }
        while curr < alert_times.len()
            && ts <= alert_times[curr]
            && alert_times[curr] < ts + eval_interval
        {
            let t = alert_times[curr];
            let views: Vec<_> = groups.iter().map(|g| crate::view::group_view(g)).collect();
            for test in tg
                .alert_rule_test
                .iter()
                .filter(|a| mint + ms(a.eval_time) == t)
            {
                if let Some(e) = check_alerts(tg, test, &views, fuzzy) {
                    errs.push(e);
                }
            }
            curr += 1;
        }
        ts += eval_interval;
    }

    for pt in &tg.promql_expr_test {
        let at = mint + ms(pt.eval_time);
        let quoted = promql::printer::go_quote_str(&pt.expr);
        let got = promql::parser::parse(&pt.expr)
            .map_err(|e| e.to_string())
            .and_then(|expr| {
                let res = engine
                    .instant_query_expr(&storage as &dyn Queryable, &expr, &pt.expr, at, None)
                    .map_err(|e| e.to_string())?;
                match res.value {
                    promql::Value::Vector(v) => Ok(v),
                    promql::Value::Scalar { t, v } => {
                        Ok(vec![promql::Sample::float(Labels::empty(), t, v)])
                    }
                    _ => Err("rule result is not a vector or scalar".to_owned()),
                }
            });
        let got = match got {
            Ok(g) => g,
            Err(e) => {
                errs.push(format!(
                    "    expr: {quoted}, time: {}, err: {e}",
                    pt.eval_time
                ));
                continue;
            }
        };
        let mut exp = Vec::new();
        let mut bad = None;
        for s in &pt.exp_samples {
            let parsed = if s.labels.trim().is_empty() || s.labels.trim() == "{}" {
                Ok(Labels::empty())
            } else {
                parse_series_desc(&s.labels).map(|(l, _)| l)
            };
            match parsed {
                Ok(l) => exp.push((l, s.value, s.histogram.clone())),
                Err(e) => {
                    bad = Some(format!(
                        "    expr: {quoted}, time: {}, err: labels {}: {e}",
                        pt.eval_time,
                        promql::printer::go_quote_str(&s.labels)
                    ));
                    break;
                }
            }
        }
        if let Some(b) = bad {
            errs.push(b);
            continue;
        }
        let mut got: Vec<(Labels, f64, String)> = got
            .into_iter()
            .map(|s| {
                let h =
                    s.h.as_ref()
                        .map(|h| promql::promqltest::histo::test_expression(h))
                        .unwrap_or_default();
                (s.labels, s.f, h)
            })
            .collect();
        exp.sort_by(|a, b| a.0.cmp(&b.0));
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let equal = exp.len() == got.len()
            && exp.iter().zip(&got).all(|(e, g)| {
                e.0 == g.0
                    && if e.2.is_empty() {
                        g.2.is_empty() && float_eq(e.1, g.1, fuzzy)
                    } else {
                        e.2 == g.2
                    }
            });
        if !equal {
            let show = |v: &[(Labels, f64, String)]| {
                if v.is_empty() {
                    return "nil".to_owned();
                }
                v.iter()
                    .map(|(l, f, h)| {
                        if h.is_empty() {
                            format!("{l} {}", model::gofmt::format_float(*f, 'E', -1))
                        } else {
                            format!("{l} {h}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            errs.push(format!(
                "    expr: {quoted}, time: {},\n        exp: {}\n        got: {}",
                pt.eval_time,
                show(&exp),
                show(&got)
            ));
        }
    }
    errs
}

fn check_alerts(
    tg: &TestGroup,
    test: &AlertTest,
    views: &[crate::view::GroupView],
    fuzzy: bool,
) -> Option<String> {
    let _ = fuzzy;
    let mut got: LabelsAndAnnotations = views
        .iter()
        .flat_map(|g| &g.rules)
        .filter(|r| r.name == test.alertname && r.kind == crate::view::RuleKind::Alerting)
        .flat_map(|r| &r.alerts)
        .filter(|a| a.state == AlertState::Firing)
        .map(|a| (a.labels.clone(), a.annotations.clone()))
        .collect();
    let mut exp: LabelsAndAnnotations = test
        .exp_alerts
        .iter()
        .map(|a| {
            let mut l = a.exp_labels.clone();
            l.insert("alertname".into(), test.alertname.clone());
            (
                Labels::from_pairs(l.iter()),
                Labels::from_pairs(a.exp_annotations.iter()),
            )
        })
        .collect();
    got.sort();
    exp.sort();
    if got == exp {
        return None;
    }
    let name = if tg.name.is_empty() {
        String::new()
    } else {
        format!("    name: {},\n", tg.name)
    };
    Some(format!(
        "{name}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
        test.alertname,
        test.eval_time,
        indent(&alerts_string(&exp), "            "),
        indent(&alerts_string(&got), "            ")
    ))
}
