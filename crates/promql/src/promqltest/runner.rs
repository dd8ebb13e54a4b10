//! Executes parsed scripts: loads series, runs every eval (plus the `@` and range-mode
//! re-runs of instant evals) and compares results with the expectations.

use std::sync::Arc;
use std::time::Duration;

use model::histogram::CounterResetHint;
use model::{FloatHistogram, Labels, Sample as ModelSample};
use storage::memory::MemoryStorage;
use storage::{Appendable, Queryable};

use super::histo::{histograms_match, test_expression};
use super::script::{Command, EvalCmd, EvalKind, ExpectKind, LoadCmd, parse_script};
use super::series_desc::SeqValue;
use super::{Failure, Report};
use crate::ast::Expr;
use crate::engine::histo::detect_reset;
use crate::engine::{Engine, EngineOptions, EvalError, QueryResult};
use crate::functions::{ClockFn, Func, InstantFn, RangeFn};
use crate::kernels::quantile::almost_equal;
use crate::value::{Sample, Value, format_value};

const EPSILON: f64 = 1e-6;

/// Whether a function's value depends on the evaluation time itself: no `@` re-runs for
/// calls of it.
fn at_unsafe(f: Func) -> bool {
    matches!(
        f,
        Func::Instant(InstantFn::Date(_))
            | Func::Range(RangeFn::PredictLinear)
            | Func::Clock(
                ClockFn::Time | ClockFn::Start | ClockFn::End | ClockFn::Range | ClockFn::Step
            )
            | Func::Timestamp
    )
}

/// The engine settings the conformance scripts assume.
fn test_engine() -> Engine {
    Engine::new(EngineOptions {
        lookback_delta: Duration::from_secs(300),
        timeout: Duration::from_secs(30),
        max_samples: 10_000,
        max_memory_bytes: 0,
        default_subquery_step: Duration::from_secs(60),
        max_concurrency: 0,
    })
}

/// A storage scripts load into and query: the in-memory one, or a real TSDB in tests.
pub trait ScriptStorage: Appendable + Queryable {}

impl<T: Appendable + Queryable> ScriptStorage for T {}

/// Runs script text over the in-memory storage; `name` labels the report.
#[must_use]
pub fn run_script(name: &str, text: &str) -> Report {
    run_script_with(name, text, &|| Box::new(MemoryStorage::new()))
}

/// Runs script text over storages made by `new_storage` (a fresh one at the start and at
/// each `clear`); `name` labels the report.
#[must_use]
pub fn run_script_with(
    name: &str,
    text: &str,
    new_storage: &dyn Fn() -> Box<dyn ScriptStorage>,
) -> Report {
    let mut report = Report {
        file: name.to_owned(),
        ..Report::default()
    };
    let cmds = match parse_script(text) {
        Ok(c) => c,
        Err(e) => {
            report.failed = 1;
            report.failures.push(Failure {
                line: e.line,
                expr: String::new(),
                message: format!("invalid script: {}", e.message),
            });
            return report;
        }
    };
    let engine = test_engine();
    let mut storage = new_storage();
    for cmd in cmds {
        match cmd {
            Command::Clear => storage = new_storage(),
            Command::Load(l) => {
                if let Err(e) = load(storage.as_ref(), &l) {
                    report.failures.push(Failure {
                        line: l.line,
                        expr: "load".to_owned(),
                        message: e,
                    });
                }
            }
            Command::Eval(ev) => {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_eval(&engine, storage.as_ref(), &ev)
                }))
                .unwrap_or_else(|_| Err("panic during evaluation".to_owned()));
                match outcome {
                    Ok(()) => report.passed += 1,
                    Err(message) => {
                        report.failed += 1;
                        report.failures.push(Failure {
                            line: ev.line,
                            expr: ev.expr.clone(),
                            message,
                        });
                    }
                }
            }
        }
    }
    report
}

fn load(storage: &dyn ScriptStorage, l: &LoadCmd) -> Result<(), String> {
    let mut app = storage.appender();
    for (labels, values) in &l.series {
        let starts = l
            .starts
            .iter()
            .find(|(s, _)| s == labels)
            .map(|(_, o)| o.as_slice());
        let mut prev: Option<FloatHistogram> = None;
        for (i, v) in values.iter().enumerate() {
            let t = i as i64 * l.step_ms;
            let st = starts
                .and_then(|o| o.get(i).copied().flatten())
                .map_or(0, |o| t + o);
            let sample = match v {
                SeqValue::Omitted => continue,
                SeqValue::Float(f) => {
                    prev = None;
                    ModelSample::Float(*f)
                }
                SeqValue::Histogram(h, _) => {
                    let h = with_reset_hint(prev.as_ref(), (**h).clone());
                    prev = Some(h.clone());
                    ModelSample::FloatHistogram(Arc::new(h))
                }
            };
            app.append_with_start(0, labels, st, t, sample)
                .map_err(|e| e.to_string())?;
        }
    }
    if l.with_nhcb {
        for (labels, samples) in super::nhcb::convert(&l.series, l.step_ms) {
            let mut prev: Option<FloatHistogram> = None;
            for (t, h) in samples {
                let h = with_reset_hint(prev.as_ref(), h);
                prev = Some(h.clone());
                app.append(0, &labels, t, ModelSample::FloatHistogram(Arc::new(h)))
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    app.commit().map_err(|e| e.to_string())
}

/// As the TSDB reports them: a histogram following another one without a counter reset in
/// between says so (unless it came with an explicit hint); after a reset the hint stays
/// unknown, as at the start of a chunk.
fn with_reset_hint(prev: Option<&FloatHistogram>, mut h: FloatHistogram) -> FloatHistogram {
    if let (Some(p), CounterResetHint::Unknown) = (prev, h.counter_reset_hint)
        && !detect_reset(&h, p)
    {
        h.counter_reset_hint = CounterResetHint::NotCounterReset;
    }
    h
}

fn run_eval(engine: &Engine, storage: &dyn ScriptStorage, cmd: &EvalCmd) -> Result<(), String> {
    let expr = match crate::parser::parse(&cmd.expr) {
        Ok(e) => e,
        Err(e) => return Err(format!("parse error: {e}")),
    };
    match cmd.kind {
        EvalKind::Range { start, end, step } => {
            let res = engine.range_query_expr(storage, &expr, &cmd.expr, start, end, step, None);
            check_outcome(cmd, res, start, end, step)
        }
        EvalKind::Instant { at } => {
            run_instant(engine, storage, cmd, &expr, at)?;
            for (e, t) in at_modifier_cases(&expr, at) {
                run_instant(engine, storage, cmd, &e, t)
                    .map_err(|m| format!("with @ {at} at {t}: {m}"))?;
            }
            Ok(())
        }
    }
}

fn run_instant(
    engine: &Engine,
    storage: &dyn ScriptStorage,
    cmd: &EvalCmd,
    expr: &Expr,
    at: i64,
) -> Result<(), String> {
    let res = engine.instant_query_expr(storage, expr, &cmd.expr, at, None);
    let (start, end, step) = cmd.range_vector.unwrap_or((at, at, 0));
    let instant_value = match &res {
        Ok(r) => Some(r.value.clone()),
        Err(_) => None,
    };
    check_outcome(cmd, res, start, end, step)?;
    let Some(instant_value) = instant_value else {
        return Ok(());
    };
    if cmd.exclude_from_range || cmd.is_fail() {
        return Ok(());
    }
    let text = &cmd.expr;
    if ["start()", "end()", "range()", "step()"]
        .iter()
        .any(|f| text.contains(f))
    {
        return Ok(());
    }
    let rr = engine
        .range_query_expr(
            storage,
            expr,
            &cmd.expr,
            at - 60_000,
            at + 60_000,
            60_000,
            None,
        )
        .map_err(|e| format!("error evaluating in range mode: {e}"))?;
    if cmd.is_ordered() {
        return Ok(());
    }
    let Value::Matrix(m) = rr.value else {
        return Err("range mode did not return a matrix".to_owned());
    };
    check_sorted(&m)?;
    let mut vec = Vec::new();
    for s in &m {
        if let Some(p) = s.floats.iter().find(|p| p.t == at) {
            vec.push(Sample::float(s.labels.clone(), at, p.f));
        } else if let Some(p) = s.histograms.iter().find(|p| p.t == at) {
            vec.push(Sample {
                h: Some(p.h.clone()),
                ..Sample::float(s.labels.clone(), at, 0.0)
            });
        }
    }
    let v = if matches!(instant_value, Value::Scalar { .. }) {
        Value::Scalar {
            t: at,
            v: vec.first().map_or(f64::NAN, |s| s.f),
        }
    } else {
        Value::Vector(vec)
    };
    compare(cmd, &v, start, end, step).map_err(|e| format!("range mode: {e}"))
}

/// The `@` re-runs: every selector and subquery without `@` (outside subqueries with `@`)
/// gets `@ at`, evaluated at several other times.
fn at_modifier_cases(expr: &Expr, at: i64) -> Vec<(Expr, i64)> {
    let mut unsafe_fn = false;
    expr.walk(&mut |e| {
        if let Expr::Call(c) = e {
            unsafe_fn |= at_unsafe(c.func.id);
        }
    });
    if unsafe_fn {
        return Vec::new();
    }
    let mut e = expr.clone();
    set_at(&mut e, at);
    let times = if at == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * at, 0, at / 5, at, 10 * at]
    };
    times.into_iter().map(|t| (e.clone(), t)).collect()
}

fn set_at(e: &mut Expr, at: i64) {
    match e {
        Expr::VectorSelector(vs) => {
            if vs.timestamp.is_none() && vs.start_or_end.is_none() {
                vs.timestamp = Some(at);
            }
        }
        Expr::MatrixSelector(ms) => {
            let vs = &mut ms.vector_selector;
            if vs.timestamp.is_none() && vs.start_or_end.is_none() {
                vs.timestamp = Some(at);
            }
        }
        Expr::Subquery(sq) => {
            // Selectors inside a subquery with `@` keep their own timing.
            if sq.timestamp.is_none() && sq.start_or_end.is_none() {
                sq.timestamp = Some(at);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
        Expr::Paren(p) => set_at(&mut p.expr, at),
        Expr::Unary(u) => set_at(&mut u.expr, at),
        Expr::StepInvariant(s) => set_at(&mut s.expr, at),
        Expr::Binary(b) => {
            set_at(&mut b.lhs, at);
            set_at(&mut b.rhs, at);
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &mut a.param {
                set_at(p, at);
            }
            set_at(&mut a.expr, at);
        }
        Expr::Call(c) => c.args.iter_mut().for_each(|a| set_at(a, at)),
    }
}

fn check_outcome(
    cmd: &EvalCmd,
    res: Result<QueryResult, EvalError>,
    start: i64,
    end: i64,
    step: i64,
) -> Result<(), String> {
    match res {
        Err(e) => {
            if cmd.is_fail() {
                check_expected_failure(cmd, &e.to_string())
            } else {
                Err(format!("error evaluating query: {e}"))
            }
        }
        Ok(r) => {
            if cmd.is_fail() {
                return Err("expected error evaluating query but got none".to_owned());
            }
            check_annotations(cmd, &r)?;
            compare(cmd, &r.value, start, end, step)
        }
    }
}

fn check_expected_failure(cmd: &EvalCmd, actual: &str) -> Result<(), String> {
    if let Some(m) = &cmd.expected_fail_message
        && m != actual
    {
        return Err(format!("expected error {m:?}, but got: {actual}"));
    }
    if let Some(re) = &cmd.expected_fail_regexp
        && !re.matches(actual)
    {
        return Err(format!(
            "expected error matching {:?}, but got: {actual}",
            re.text()
        ));
    }
    if let Some(m) = cmd.expects_of(ExpectKind::Fail).next()
        && !m.matches(actual)
    {
        return Err(format!(
            "expected error matching {:?}, but got: {actual}",
            m.text()
        ));
    }
    Ok(())
}

fn check_annotations(cmd: &EvalCmd, r: &QueryResult) -> Result<(), String> {
    let (warnings, infos) = (r.warnings(), r.infos());
    if cmd.warn && warnings.is_empty() {
        return Err("expected warnings but got none".to_owned());
    }
    if cmd.info && infos.is_empty() {
        return Err("expected info annotations but got none".to_owned());
    }
    for (kind, no_kind, actual, what) in [
        (ExpectKind::Warn, ExpectKind::NoWarn, &warnings, "warn"),
        (ExpectKind::Info, ExpectKind::NoInfo, &infos, "info"),
    ] {
        let expected: Vec<_> = cmd.expects_of(kind).collect();
        if !expected.is_empty() {
            if actual.is_empty() {
                return Err(format!("expected {what} annotations but none were found"));
            }
            for e in &expected {
                if !actual.iter().any(|a| e.matches(a)) {
                    return Err(format!(
                        "expected {what} annotation matching {:?} but found {actual:?}",
                        e.text()
                    ));
                }
            }
            for a in actual {
                if !expected.iter().any(|e| e.matches(a)) {
                    return Err(format!("unexpected {what} annotation {a:?}"));
                }
            }
        }
        if cmd.expects_of(no_kind).next().is_some() && !actual.is_empty() {
            return Err(format!("unexpected {what} annotations: {actual:?}"));
        }
    }
    Ok(())
}

fn check_sorted(m: &[crate::value::Series]) -> Result<(), String> {
    if m.windows(2).any(|w| w[0].labels > w[1].labels) {
        return Err("matrix results should always be sorted by labels".to_owned());
    }
    Ok(())
}

fn value_text(f: f64, h: Option<&FloatHistogram>) -> String {
    h.map_or_else(|| format_value(f), test_expression)
}

fn compare(cmd: &EvalCmd, v: &Value, start: i64, end: i64, step: i64) -> Result<(), String> {
    let find = |l: &Labels| cmd.expected.iter().find(|e| &e.labels == l);
    match v {
        Value::Matrix(m) => {
            if cmd.is_ordered() {
                return Err("expected ordered result, but query returned a matrix".to_owned());
            }
            if let Some(s) = cmd.expect_scalar {
                return Err(format!("expected scalar result {s}, but got matrix"));
            }
            check_sorted(m)?;
            for s in m {
                let Some(exp) = find(&s.labels) else {
                    return Err(format!("unexpected metric {} in result", s.labels));
                };
                let mut floats = Vec::new();
                let mut hists = Vec::new();
                for (i, e) in exp.values.iter().enumerate() {
                    let t = start + i as i64 * step;
                    if t > end || (step == 0 && i > 0) {
                        return Err(format!(
                            "expected {} points for {}, but query time range cannot return this many points",
                            exp.values.len(),
                            exp.labels
                        ));
                    }
                    match e {
                        SeqValue::Omitted => {}
                        SeqValue::Float(f) => floats.push((t, *f)),
                        SeqValue::Histogram(h, hint) => hists.push((t, h, *hint)),
                    }
                }
                if floats.len() != s.floats.len() || hists.len() != s.histograms.len() {
                    return Err(format!(
                        "expected {} float points and {} histogram points for {}, but got {} and {}: {:?}",
                        floats.len(),
                        hists.len(),
                        exp.labels,
                        s.floats.len(),
                        s.histograms.len(),
                        s.floats
                            .iter()
                            .map(|p| (p.t, format_value(p.f)))
                            .collect::<Vec<_>>()
                    ));
                }
                for ((t, f), p) in floats.iter().zip(&s.floats) {
                    if *t != p.t {
                        return Err(format!(
                            "expected float at t={t} for {}, got t={}",
                            exp.labels, p.t
                        ));
                    }
                    if !almost_equal(*f, p.f, EPSILON) {
                        return Err(format!(
                            "expected {} at t={t} for {}, got {}",
                            format_value(*f),
                            exp.labels,
                            format_value(p.f)
                        ));
                    }
                }
                for ((t, h, hint), p) in hists.iter().zip(&s.histograms) {
                    if *t != p.t || !histograms_match(h, &p.h, *hint) {
                        return Err(format!(
                            "expected {} at t={t} for {}, got {} at {}",
                            test_expression(h),
                            exp.labels,
                            test_expression(&p.h),
                            p.t
                        ));
                    }
                }
            }
            for e in &cmd.expected {
                if !m.iter().any(|s| s.labels == e.labels) {
                    return Err(format!("expected metric {} not found", e.labels));
                }
            }
            Ok(())
        }
        Value::Vector(vec) => {
            if let Some(s) = cmd.expect_scalar {
                return Err(format!(
                    "expected scalar result {s}, but got vector of {} samples",
                    vec.len()
                ));
            }
            for (pos, s) in vec.iter().enumerate() {
                let Some(exp) = find(&s.labels) else {
                    return Err(format!(
                        "unexpected metric {} in result, has value {}",
                        s.labels,
                        value_text(s.f, s.h.as_deref())
                    ));
                };
                if cmd.is_ordered() && exp.pos != pos + 1 {
                    return Err(format!(
                        "expected metric {} at position {} but was at {}",
                        s.labels,
                        exp.pos,
                        pos + 1
                    ));
                }
                match (exp.values.first(), &s.h) {
                    (Some(SeqValue::Histogram(h, hint)), Some(act)) => {
                        if !histograms_match(h, act, *hint) {
                            return Err(format!(
                                "expected {} for {} but got {}",
                                test_expression(h),
                                s.labels,
                                test_expression(act)
                            ));
                        }
                    }
                    (Some(SeqValue::Histogram(h, _)), None) => {
                        return Err(format!(
                            "expected histogram {} for {} but got float {}",
                            test_expression(h),
                            s.labels,
                            format_value(s.f)
                        ));
                    }
                    (Some(SeqValue::Float(f)), None) => {
                        if !almost_equal(*f, s.f, EPSILON) {
                            return Err(format!(
                                "expected {} for {} but got {}",
                                format_value(*f),
                                s.labels,
                                format_value(s.f)
                            ));
                        }
                    }
                    (_, Some(act)) => {
                        return Err(format!(
                            "expected float value for {} but got histogram {}",
                            s.labels,
                            test_expression(act)
                        ));
                    }
                    (_, None) => return Err(format!("no expected value for {}", s.labels)),
                }
            }
            for e in &cmd.expected {
                if !vec.iter().any(|s| s.labels == e.labels) {
                    return Err(format!("expected metric {} not found", e.labels));
                }
            }
            Ok(())
        }
        Value::Scalar { v, .. } => {
            let Some(exp) = cmd.expect_scalar else {
                return Err(format!(
                    "expected vector or matrix result, but got scalar {}",
                    format_value(*v)
                ));
            };
            if !almost_equal(exp, *v, EPSILON) {
                return Err(format!(
                    "expected scalar {} but got {}",
                    format_value(exp),
                    format_value(*v)
                ));
            }
            Ok(())
        }
        Value::String { v, .. } => {
            if cmd.expected_string.as_deref() != Some(v.as_str()) {
                return Err(format!(
                    "expected string {:?} but got {v:?}",
                    cmd.expected_string.as_deref().unwrap_or("")
                ));
            }
            Ok(())
        }
    }
}
