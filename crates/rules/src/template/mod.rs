//! Go text/template expansion for alert labels and annotations, with Prometheus's data
//! (`$labels`, `$value`, `$externalLabels`, `$externalURL`) and functions (`humanize`,
//! `query`, `reReplaceAll`...). The template engine (gotmpl) stays behind this module.

mod format;
mod funcs;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gotmpl::Value;
use model::Labels;

pub use crate::error::TemplateError;
pub use format::{go_float, go_g4, humanize_timestamp};
pub use funcs::{graph_link, table_link};

/// One element of a query's result as templates see it (`.Labels`, `.Value`).
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    /// The series labels.
    pub labels: Labels,
    /// The value.
    pub value: f64,
}

/// Runs an instant query (`query` template function) at a timestamp in milliseconds.
pub type QueryFn = Arc<dyn Fn(&str, i64) -> Result<Vec<QuerySample>, String> + Send + Sync>;

/// Template data, Go's `any` in the template's eyes.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    Uint(u64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    List(Vec<Data>),
    /// A map with string keys (fields are read as `.Key`).
    Map(BTreeMap<String, Data>),
}

impl Data {
    /// The data of an alert template: `.Labels`, `.ExternalLabels`, `.ExternalURL`, `.Value`.
    #[must_use]
    pub fn alert(
        labels: &Labels,
        external_labels: &Labels,
        external_url: &str,
        value: f64,
    ) -> Data {
        let map = |l: &Labels| {
            Data::Map(
                l.iter()
                    .map(|l| (l.name.to_owned(), Data::Str(l.value.to_owned())))
                    .collect(),
            )
        };
        Data::Map(BTreeMap::from([
            ("Labels".to_owned(), map(labels)),
            ("ExternalLabels".to_owned(), map(external_labels)),
            ("ExternalURL".to_owned(), Data::Str(external_url.to_owned())),
            ("Value".to_owned(), Data::Float(value)),
        ]))
    }

    fn to_value(&self) -> Value {
        match self {
            Data::Nil => Value::Nil,
            Data::Bool(b) => Value::Bool(*b),
            Data::Int(i) => Value::Int(*i),
            Data::Uint(u) => Value::Uint(*u),
            Data::Float(f) => Value::Float(*f),
            Data::Str(s) => Value::String(s.as_str().into()),
            Data::List(l) => Value::List(l.iter().map(Data::to_value).collect()),
            Data::Map(m) => Value::Map(Arc::new(
                m.iter()
                    .map(|(k, v)| (Arc::from(k.as_str()), v.to_value()))
                    .collect(),
            )),
        }
    }
}

/// The definitions Prometheus puts in front of every alert template so that `$labels`,
/// `$externalLabels`, `$externalURL` and `$value` exist.
pub const ALERT_PREAMBLE: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// Expands one template text with Prometheus's functions.
#[derive(Clone)]
pub struct Expander {
    name: String,
    text: String,
    data: Data,
    ts: i64,
    query: Option<QueryFn>,
    external_url: String,
    missing_as_empty: bool,
}

impl std::fmt::Debug for Expander {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expander")
            .field("name", &self.name)
            .field("text", &self.text)
            .finish_non_exhaustive()
    }
}

impl Expander {
    /// An expander of `text` named `name` over `data`; `ts` (milliseconds) is the time of the
    /// `query` and `now` functions.
    #[must_use]
    pub fn new(name: &str, text: &str, data: Data, ts: i64) -> Self {
        Self {
            name: name.to_owned(),
            text: text.to_owned(),
            data,
            ts,
            query: None,
            external_url: String::new(),
            missing_as_empty: false,
        }
    }

    /// An expander of an alert's label or annotation template (named `__alert_<alertname>`,
    /// with `$labels`, `$value`... defined). A missing label prints as an empty string, as
    /// Go prints a missing key of a `map[string]string`.
    #[must_use]
    pub fn alert(alertname: &str, text: &str, data: Data, ts: i64) -> Self {
        let mut e = Self::new(
            &format!("__alert_{alertname}"),
            &format!("{ALERT_PREAMBLE}{text}"),
            data,
            ts,
        );
        e.missing_as_empty = true;
        e
    }

    /// Sets the function behind `query`.
    #[must_use]
    pub fn with_query(mut self, query: QueryFn) -> Self {
        self.query = Some(query);
        self
    }

    /// Sets the external URL (`externalURL`, `pathPrefix`).
    #[must_use]
    pub fn with_external_url(mut self, url: &str) -> Self {
        url.clone_into(&mut self.external_url);
        self
    }

    /// Expands the template.
    ///
    /// # Errors
    /// Parse errors and execution errors (including a function's error), with Prometheus's
    /// `error parsing template NAME: ...` / `error executing template NAME: ...` prefixes.
    pub fn expand(&self) -> Result<String, TemplateError> {
        EXPANSIONS.fetch_add(1, Ordering::Relaxed);
        let out = self.expand_counted();
        if out.is_err() {
            EXPANSION_FAILURES.fetch_add(1, Ordering::Relaxed);
        }
        out
    }

    fn expand_counted(&self) -> Result<String, TemplateError> {
        let ctx = funcs::Context {
            ts: self.ts,
            query: self.query.clone(),
            external_url: self.external_url.clone(),
        };
        let funcs = funcs::func_map(&ctx);
        let parsed = gotmpl::Template::new(&self.name)
            .funcs(funcs.clone())
            .parse(&self.text)
            .map_err(|e| TemplateError::Parse {
                name: self.name.clone(),
                message: go_template_message(&e.to_string()),
            })?;
        let exec_err = |e: gotmpl::TemplateError| TemplateError::Exec {
            name: self.name.clone(),
            message: go_template_message(&e.to_string()),
        };
        let data = self.data.to_value();
        if parsed.lookup(&self.name).is_none() {
            // An empty (or whitespace-only) body: nothing to rewrite.
            return parsed.execute_to_string(&data).map_err(exec_err);
        }
        // Print values as Go does: every printing action ends in `__fw_print`, which formats
        // floats as Go's `%v` (`1.234567e+06`) and, in alert templates, a missing label as "".
        let missing_as_empty = self.missing_as_empty;
        let mut outer = gotmpl::Template::new("__fw_outer").funcs(funcs).func(
            PRINT_FUNC,
            move |args: &[Value]| {
                Ok(match args.last() {
                    Some(Value::Float(f)) => Value::String(go_float(*f).into()),
                    Some(Value::Nil) | None if missing_as_empty => Value::String("".into()),
                    Some(v) => v.clone(),
                    None => Value::Nil,
                })
            },
        );
        for name in parsed.templates() {
            if let Some(tree) = parsed.lookup(name) {
                let mut tree = tree.clone();
                print_like_go(&mut tree);
                outer = outer.add_parse_tree(name, tree);
            }
        }
        let outer = outer
            .parse(&format!("{{{{template {:?} .}}}}", self.name))
            .map_err(exec_err)?;
        outer.execute_to_string(&data).map_err(exec_err)
    }
}

/// The function appended to every printing action.
const PRINT_FUNC: &str = "__fw_print";

/// Appends `| __fw_print` to every action that prints, in `list` and the bodies it holds.
fn print_like_go(list: &mut gotmpl::parse::ListNode) {
    use gotmpl::parse::{CommandNode, Expr, Node};
    for node in &mut list.nodes {
        match node {
            Node::List(l) => print_like_go(l),
            Node::Action(a) if a.pipe.decl.is_empty() => {
                a.pipe.commands.push(CommandNode {
                    pos: a.pos,
                    args: vec![Expr::Identifier(a.pos, PRINT_FUNC.into())],
                });
            }
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                print_like_go(&mut b.body);
                if let Some(e) = &mut b.else_body {
                    print_like_go(e);
                }
            }
            Node::Define(d) => print_like_go(&mut d.body),
            _ => {}
        }
    }
}

/// Template expansions since the process started (`prometheus_template_text_expansions_total`,
/// process-wide as in Prometheus).
static EXPANSIONS: AtomicU64 = AtomicU64::new(0);
/// Expansions that failed (`prometheus_template_text_expansion_failures_total`).
static EXPANSION_FAILURES: AtomicU64 = AtomicU64::new(0);

/// `(expansions, failures)` since the process started.
pub(crate) fn expansion_counts() -> (u64, u64) {
    (
        EXPANSIONS.load(Ordering::Relaxed),
        EXPANSION_FAILURES.load(Ordering::Relaxed),
    )
}

/// Checks that an alert's label or annotation template parses with Prometheus's functions
/// (what `promtool check rules` verifies), without executing it.
///
/// # Errors
/// The parse error, named `__alert_<alertname>`.
pub fn check_alert_template(alertname: &str, text: &str) -> Result<(), TemplateError> {
    let e = Expander::alert(alertname, text, Data::Nil, 0);
    let ctx = funcs::Context {
        ts: 0,
        query: None,
        external_url: String::new(),
    };
    let fm = funcs::func_map(&ctx);
    let parsed = gotmpl::Template::new(&e.name)
        .funcs(fm.clone())
        .parse(&e.text)
        .map_err(|err| TemplateError::Parse {
            name: e.name.clone(),
            message: go_template_message(&err.to_string()),
        })?;
    // Go refuses unknown functions when parsing; gotmpl only when executing.
    let mut unknown = None;
    for name in parsed.templates() {
        if let Some(tree) = parsed.lookup(name) {
            undefined_funcs(
                tree,
                &|f| fm.contains_key(f) || BUILTINS.contains(&f),
                &mut unknown,
            );
        }
    }
    match unknown {
        Some((line, f)) => Err(TemplateError::Parse {
            name: e.name.clone(),
            message: format!("template: {}:{line}: function {f:?} not defined", e.name),
        }),
        None => Ok(()),
    }
}

/// Go's predefined template functions.
const BUILTINS: [&str; 19] = [
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "html", "js",
    "urlquery", "eq", "ne", "lt", "le", "gt", "ge", "call",
];

/// The first function called in `list` that `known` does not know, with its line.
fn undefined_funcs(
    list: &gotmpl::parse::ListNode,
    known: &dyn Fn(&str) -> bool,
    out: &mut Option<(usize, String)>,
) {
    use gotmpl::parse::{Expr, Node, PipeNode};
    fn pipe(p: &PipeNode, known: &dyn Fn(&str) -> bool, out: &mut Option<(usize, String)>) {
        for c in &p.commands {
            for (i, a) in c.args.iter().enumerate() {
                match a {
                    Expr::Identifier(pos, name) if i == 0 && !known(name) => {
                        out.get_or_insert((pos.line, name.to_string()));
                    }
                    Expr::Chain(_, inner, _) => {
                        if let Expr::Identifier(pos, name) = inner.as_ref()
                            && !known(name)
                        {
                            out.get_or_insert((pos.line, name.to_string()));
                        }
                        if let Expr::Pipe(_, p) = inner.as_ref() {
                            pipe(p, known, out);
                        }
                    }
                    Expr::Pipe(_, p) => pipe(p, known, out),
                    _ => {}
                }
            }
        }
    }
    for node in &list.nodes {
        match node {
            Node::List(l) => undefined_funcs(l, known, out),
            Node::Action(a) => pipe(&a.pipe, known, out),
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                pipe(&b.pipe, known, out);
                undefined_funcs(&b.body, known, out);
                if let Some(e) = &b.else_body {
                    undefined_funcs(e, known, out);
                }
            }
            Node::Template(t) => {
                if let Some(p) = &t.pipe {
                    pipe(p, known, out);
                }
            }
            Node::Define(d) => undefined_funcs(&d.body, known, out),
            _ => {}
        }
    }
}

/// gotmpl's messages, with its `execution error: ` wrapper dropped.
fn go_template_message(m: &str) -> String {
    m.replace("execution error: ", "")
}

#[cfg(test)]
mod tests;
