//! Notification templates: Go `text/template` and `html/template` (the gotmpl crate, kept
//! behind this module) with Alertmanager's functions and data, over Firewatch's default
//! templates (`default.tmpl`, which gives the texts of Alertmanager's `template/default.tmpl`)
//! and the user's template files (`templates:` globs). Mirrors `template/template.go`.

mod funcs;
mod gotime;
mod rewrite;
mod timefuncs;

use std::sync::Arc;

use gotmpl::parse::ListNode;

use crate::alert::Data;
use crate::error::TemplateError;

/// Firewatch's default notification templates.
pub const DEFAULT_TEMPLATES: &str = include_str!("default.tmpl");

/// Firewatch's default e-mail templates (`email.default.subject`, `email.default.html`), whose
/// HTML equals Alertmanager's default e-mail.
pub const EMAIL_TEMPLATES: &str = include_str!("email.tmpl");

/// A set of named templates (defaults first, then the user's files in glob order; a later
/// `define` replaces an earlier one), ready to expand receivers' fields.
#[derive(Clone)]
pub struct Template {
    defines: Arc<Vec<(String, ListNode)>>,
    /// The text template set, built once; each expansion clones it (its definitions are
    /// shared) and adds the text being expanded.
    text_base: Arc<gotmpl::Template>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field(
                "defines",
                &self.defines.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn parse_error(name: &str, e: &gotmpl::TemplateError) -> TemplateError {
    TemplateError::Parse {
        name: name.to_owned(),
        message: e.to_string(),
    }
}

impl Template {
    /// The default templates only.
    ///
    /// # Errors
    /// Never in practice (the defaults are tested); a parse error otherwise.
    pub fn defaults() -> Result<Self, TemplateError> {
        Self::from_texts(&[])
    }

    /// The defaults, then every file matching `globs` (each glob's files sorted by name, as
    /// Go's `filepath.Glob`).
    ///
    /// # Errors
    /// A bad glob, an unreadable file, or a parse error naming the file.
    pub fn from_globs(globs: &[String]) -> Result<Self, TemplateError> {
        let mut texts = Vec::new();
        for g in globs {
            let paths = glob::glob(g).map_err(|e| TemplateError::Glob {
                pattern: g.clone(),
                message: e.to_string(),
            })?;
            let mut files: Vec<_> = paths.filter_map(Result::ok).collect();
            files.sort();
            for p in files {
                let text = std::fs::read_to_string(&p).map_err(|e| TemplateError::Read {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })?;
                texts.push((p.display().to_string(), text));
            }
        }
        let refs: Vec<(&str, &str)> = texts
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        Self::from_texts(&refs)
    }

    /// The defaults, then each `(name, text)` in order.
    ///
    /// # Errors
    /// A parse error naming the text.
    pub fn from_texts(texts: &[(&str, &str)]) -> Result<Self, TemplateError> {
        let mut defines: Vec<(String, ListNode)> = Vec::new();
        let defaults = [
            ("default.tmpl", DEFAULT_TEMPLATES),
            ("email.tmpl", EMAIL_TEMPLATES),
        ];
        for (name, text) in defaults.into_iter().chain(texts.iter().copied()) {
            let parsed = gotmpl::Template::new(name)
                .funcs(funcs::func_map())
                .parse(text)
                .map_err(|e| parse_error(name, &e))?;
            for n in parsed.templates() {
                if n == name {
                    continue;
                }
                if let Some(tree) = parsed.lookup(n) {
                    let mut tree = tree.clone();
                    rewrite::list(&mut tree);
                    defines.retain(|(d, _)| d != n);
                    defines.push((n.to_owned(), tree));
                }
            }
        }
        let mut base = gotmpl::Template::new(OUTER)
            .funcs(funcs::func_map())
            .missing_key(gotmpl::MissingKey::ZeroValue);
        for (n, tree) in &defines {
            base = base.add_parse_tree(n, tree.clone());
        }
        let base = base
            .parse(&format!("{{{{template \"{BODY}\" .}}}}"))
            .map_err(|e| parse_error(OUTER, &e))?;
        Ok(Self {
            defines: Arc::new(defines),
            text_base: Arc::new(base),
        })
    }

    /// The names of all defined templates.
    #[must_use]
    pub fn names(&self) -> Vec<&str> {
        self.defines.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn body(text: &str) -> Result<ListNode, TemplateError> {
        let parsed = gotmpl::Template::new(BODY)
            .funcs(funcs::func_map())
            .parse(text)
            .map_err(|e| parse_error(BODY, &e))?;
        let mut tree = parsed.lookup(BODY).cloned().unwrap_or(ListNode {
            pos: gotmpl::parse::Pos::new(0, 1),
            nodes: Vec::new(),
        });
        rewrite::list(&mut tree);
        Ok(tree)
    }

    /// Expands `text` with `text/template` (Alertmanager's `ExecuteTextString`); an empty
    /// text gives "".
    ///
    /// # Errors
    /// Parse and execution errors.
    pub fn execute_text(&self, text: &str, data: &Data) -> Result<String, TemplateError> {
        if text.is_empty() {
            return Ok(String::new());
        }
        let body = Self::body(text)?;
        let t = self.text_base.as_ref().clone().add_parse_tree(BODY, body);
        t.execute_to_string(&data.to_value())
            .map_err(|e| exec_error(&e))
    }

    /// Expands `text` with `html/template`, escaping by context (Alertmanager's
    /// `ExecuteHTMLString`); an empty text gives "".
    ///
    /// # Errors
    /// Parse, escaping and execution errors.
    pub fn execute_html(&self, text: &str, data: &Data) -> Result<String, TemplateError> {
        if text.is_empty() {
            return Ok(String::new());
        }
        let body = Self::body(text)?;
        let mut t = gotmpl::html::Template::new(OUTER)
            .funcs(funcs::func_map())
            .missing_key(gotmpl::MissingKey::ZeroValue);
        for (n, tree) in self.defines.iter() {
            t = t
                .add_parse_tree(n, tree.clone())
                .map_err(|e| exec_error(&e))?;
        }
        t = t.add_parse_tree(BODY, body).map_err(|e| exec_error(&e))?;
        let t = t
            .parse(&format!("{{{{template \"{BODY}\" .}}}}"))
            .map_err(|e| exec_error(&e))?;
        t.execute_to_string(&data.to_value())
            .map_err(|e| exec_error(&e))
    }
}

/// The name under which the text being expanded is defined.
const BODY: &str = "__text";
/// The name of the template that calls it.
const OUTER: &str = "__outer";

fn exec_error(e: &gotmpl::TemplateError) -> TemplateError {
    TemplateError::Exec {
        message: e.to_string().replace("execution error: ", ""),
    }
}

#[cfg(test)]
mod tests;
