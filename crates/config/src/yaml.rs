//! YAML decoding with Prometheus's strictness and error texts, and positions for the errors
//! that validation finds after decoding (a path such as `scrape_configs[2].scrape_timeout`
//! is looked up in a located node tree of the same text).

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, Location, Options, Spanned};

use crate::error::ConfigError;

/// Discovery mechanisms Prometheus knows that Firewatch does not run: their sections are
/// refused with "<name>_sd_configs is not supported by Firewatch".
pub const UNSUPPORTED_SD: &[&str] = &[
    "azure",
    "consul",
    "digitalocean",
    "docker",
    "dockerswarm",
    "ec2",
    "eureka",
    "gce",
    "hetzner",
    "ionos",
    "kuma",
    "lightsail",
    "linode",
    "marathon",
    "nerve",
    "nomad",
    "oci",
    "openstack",
    "outscale",
    "ovhcloud",
    "puppetdb",
    "scaleway",
    "serverset",
    "stackit",
    "triton",
    "uyuni",
    "vultr",
];

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A validation failure: Prometheus's message and where in the document it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// From the document root to the offending node.
    pub path: Vec<Seg>,
    /// What is wrong.
    pub msg: String,
}

impl Invalid {
    /// A failure at the node where it is raised (the path is added on the way up).
    pub fn new(msg: impl Into<String>) -> Self {
        Self {
            path: Vec::new(),
            msg: msg.into(),
        }
    }

    /// The same failure one mapping key further from the root.
    #[must_use]
    pub fn key(mut self, k: &str) -> Self {
        self.path.insert(0, Seg::Key(k.to_string()));
        self
    }

    /// The same failure one sequence index further from the root.
    #[must_use]
    pub fn index(mut self, i: usize) -> Self {
        self.path.insert(0, Seg::Index(i));
        self
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

/// Adds path steps to a validation result on its way up.
pub trait At<T> {
    /// Prefixes a mapping key.
    fn key(self, k: &str) -> Result<T, Invalid>;
    /// Prefixes a sequence index.
    fn index(self, i: usize) -> Result<T, Invalid>;
}

impl<T> At<T> for Result<T, Invalid> {
    fn key(self, k: &str) -> Result<T, Invalid> {
        self.map_err(|e| e.key(k))
    }
    fn index(self, i: usize) -> Result<T, Invalid> {
        self.map_err(|e| e.index(i))
    }
}

fn options() -> Options {
    let mut o = Options::default();
    // Structs refuse repeated fields themselves ("field x already set"); maps keep the last.
    o.duplicate_keys = DuplicateKeyPolicy::PassThrough;
    o.with_snippet = false;
    // Go's decoder gives an empty string for an empty value.
    o.null_as_string = true;
    o
}

/// Decodes `text` (the contents of `file`) into `T`, with Prometheus's texts and positions.
///
/// The texts never come from the YAML library's wording: Firewatch's own deserialisation
/// code raises its errors through [`go_error`], which records Go's text (and, where the
/// decoder's position is not the one Prometheus reports, the position); errors serde and the
/// decoder raise are worded from their typed variants ([`go_text`]).
pub fn decode<T: DeserializeOwned>(text: &str, file: &Path) -> Result<T, ConfigError> {
    // An empty document is an empty mapping, as in Go's YAML.
    let text = if text.trim().is_empty() || only_comments(text) {
        "{}"
    } else {
        text
    };
    RAISED.with(|r| r.borrow_mut().take());
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| convert(&e, text, file))
}

fn only_comments(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---"
    })
}

/// An error raised by Firewatch's own deserialisation code: Go's text, and the position to
/// report when it is not the decoder's.
struct Raised {
    message: String,
    at: Option<Location>,
}

thread_local! {
    static RAISED: std::cell::RefCell<Option<Raised>> = const { std::cell::RefCell::new(None) };
}

/// The error a custom `Deserialize` impl or visitor returns: `message` is Go's text exactly as
/// Prometheus prints it; `at` the position Prometheus reports, when not the decoder's.
/// [`decode`] reports this message as it was given, whatever the YAML library makes of it.
pub fn go_error<E: serde::de::Error>(message: impl Into<String>, at: Option<Location>) -> E {
    let message = message.into();
    let e = E::custom(&message);
    RAISED.with(|r| *r.borrow_mut() = Some(Raised { message, at }));
    e
}

/// The decoder's error as the variant that was raised (snippet and alias wrappers removed).
fn innermost(e: &serde_saphyr::Error) -> &serde_saphyr::Error {
    let mut e = e.without_snippet();
    while let serde_saphyr::Error::AliasError { error, .. } = e {
        e = error.without_snippet();
    }
    e
}

fn convert(e: &serde_saphyr::Error, text: &str, file: &Path) -> ConfigError {
    let raised = RAISED.with(|r| r.borrow_mut().take());
    let inner = innermost(e);
    let loc = e.location().unwrap_or(Location::UNKNOWN);
    let file = file.to_path_buf();
    let (line, column) = (loc.line(), loc.column());
    if let (serde_saphyr::Error::Message { .. }, Some(r)) = (inner, raised) {
        let at = r.at.unwrap_or(loc);
        return ConfigError::Unmarshal {
            file,
            line: at.line(),
            column: at.column(),
            message: r.message,
        };
    }
    if let serde_saphyr::Error::BinaryNotUtf8 { .. } = inner
        && let Some(message) = binary_label_message(text, line, column)
    {
        return ConfigError::Invalid {
            file,
            line,
            column,
            message,
        };
    }
    match go_text(inner) {
        Some(message) => {
            // serde's repeated-field error has no position: the repeated key's.
            let (line, column) = match inner {
                serde_saphyr::Error::Message { msg, .. } if line == 0 => duplicate_field(msg)
                    .and_then(|f| repeated_key(text, f))
                    .unwrap_or((line, column)),
                _ => (line, column),
            };
            ConfigError::Unmarshal {
                file,
                line,
                column,
                message,
            }
        }
        None => {
            // No Go text for it (YAML syntax errors word differently in every parser): the
            // decoder's own message, without its position (reported separately).
            let message = serde_saphyr::MessageFormatter::format_message(
                &serde_saphyr::DefaultMessageFormatter,
                inner,
            )
            .into_owned();
            if is_syntax(inner) {
                ConfigError::Syntax {
                    file,
                    line,
                    column,
                    message,
                }
            } else {
                ConfigError::Unmarshal {
                    file,
                    line,
                    column,
                    message,
                }
            }
        }
    }
}

fn is_syntax(e: &serde_saphyr::Error) -> bool {
    use serde_saphyr::Error as E;
    !matches!(
        e,
        E::Message { .. }
            | E::Unexpected { .. }
            | E::SerdeInvalidType { .. }
            | E::SerdeInvalidValue { .. }
            | E::SerdeInvalidLength { .. }
            | E::SerdeUnknownVariant { .. }
            | E::SerdeUnknownField { .. }
            | E::SerdeMissingField { .. }
    )
}

/// Prometheus's message for a `!!binary` label name or value that is not UTF-8: the scalar
/// at `line:column` is decoded and quoted as Go's `%q` does (`"\xff"`).
fn binary_label_message(text: &str, line: u64, column: u64) -> Option<String> {
    let l = text
        .lines()
        .nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
    let rest: String = l
        .chars()
        .skip(usize::try_from(column).ok()?.saturating_sub(1))
        .collect();
    let (scalar, after) = match rest.chars().next()? {
        q @ ('"' | '\'') => {
            let end = rest[1..].find(q)? + 1;
            (&rest[1..end], &rest[end + 1..])
        }
        _ => {
            let end = rest.find(':').unwrap_or(rest.len());
            (rest[..end].trim(), &rest[end..])
        }
    };
    let bytes = base64_decode(scalar)?;
    let quoted = model::gofmt::quote_bytes(&bytes);
    let what = if after.trim_start().starts_with(':') {
        "name"
    } else {
        "value"
    };
    Some(format!("{quoted} is not a valid label {what}"))
}

/// The bytes of a `!!binary` scalar: base64 with white space (line breaks) ignored and the
/// padding optional.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(compact).ok()
}

/// Go's text for an error serde or the decoder raised, from its typed variant: an unknown
/// field (`field x not found in type config.plain`, or refused as not supported), a repeated
/// field, invalid `!!binary` data.
fn go_text(e: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::Error as E;
    match e {
        E::SerdeUnknownField {
            field, expected, ..
        } => Some(unknown_field(field, expected)),
        E::InvalidBinaryBase64 { .. } => {
            Some("!!binary value contains invalid base64 data".to_owned())
        }
        E::Message { msg, .. } => duplicate_field(msg).map(|field| {
            format!(
                "field {field} already set in type {}",
                go_type_of_field(field)
            )
        }),
        _ => None,
    }
}

fn unknown_field(field: &str, expected: &[&str]) -> String {
    let unsupported = field
        .strip_suffix("_sd_configs")
        .is_some_and(|sd| UNSUPPORTED_SD.contains(&sd))
        || matches!(field, "sigv4" | "azuread" | "google_iam");
    if unsupported {
        format!("{field} is not supported by Firewatch")
    } else {
        format!("field {field} not found in type {}", go_type(expected))
    }
}

/// The field serde's derived visitors name in a repeated-field error. serde has no typed
/// form of it (`de::Error::duplicate_field` is a `custom` message written by serde itself,
/// not by the YAML library, and unchanged since serde 1.0); the golden test of
/// `section_key_dup.bad.yml` guards it.
fn duplicate_field(msg: &str) -> Option<&str> {
    msg.strip_prefix("duplicate field `")?.strip_suffix('`')
}

/// The Go type name Prometheus reports for the struct whose field list serde gives.
fn go_type(expected: &[&str]) -> &'static str {
    let has = |f: &str| expected.contains(&f);
    if has("job_name") {
        "config.ScrapeConfig"
    } else if has("kubeconfig_file") || has("own_namespace") || has("deployment") {
        "kubernetes.plain"
    } else if has("source_labels") {
        "relabel.plain"
    } else if has("groups") {
        "rulefmt.RuleGroups"
    } else if has("rules") {
        "rulefmt.RuleGroup"
    } else if has("record") {
        "rulefmt.Rule"
    } else {
        "config.plain"
    }
}

fn go_type_of_field(field: &str) -> &'static str {
    match field {
        "job_name" | "static_configs" | "relabel_configs" | "metric_relabel_configs" => {
            "config.ScrapeConfig"
        }
        _ => "config.plain",
    }
}

/// The position of the second occurrence of key `name` in the first mapping of `text` that
/// holds it twice.
fn repeated_key(text: &str, name: &str) -> Option<(u64, u64)> {
    fn walk(node: &Node, name: &str) -> Option<Location> {
        match node {
            Node::Scalar => None,
            Node::Seq(items) => items.iter().find_map(|i| walk(&i.value, name)),
            Node::Map(entries) => {
                let mut same = entries.iter().filter(|(k, _, _)| k == name);
                match (same.next(), same.next()) {
                    (Some(_), Some((_, at, _))) => Some(*at),
                    _ => entries.iter().find_map(|(_, _, v)| walk(&v.value, name)),
                }
            }
        }
    }
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, options()).ok()?;
    walk(&root.value, name).map(|at| (at.line(), at.column()))
}

/// Turns a validation failure into a positioned error of `file`, whose text is `text`.
pub fn locate(inv: &Invalid, text: &str, file: &Path) -> ConfigError {
    let (line, column) = position(text, &inv.path).unwrap_or((0, 0));
    ConfigError::Invalid {
        file: file.to_path_buf(),
        line,
        column,
        message: inv.msg.clone(),
    }
}

/// The 1-based line and column of the deepest node of `path` that exists in `text` (a
/// mapping entry is located at its key).
pub fn position(text: &str, path: &[Seg]) -> Option<(u64, u64)> {
    find(text, path, false)
}

/// Like [`position`], but a mapping entry found at the end of the path is located at its
/// value (as Prometheus's rule-file errors are).
pub fn value_position(text: &str, path: &[Seg]) -> Option<(u64, u64)> {
    find(text, path, true)
}

fn find(text: &str, path: &[Seg], at_value: bool) -> Option<(u64, u64)> {
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, options()).ok()?;
    let mut best = root.referenced;
    let mut node = &root.value;
    for seg in path {
        match (seg, node) {
            (Seg::Key(k), Node::Map(entries)) => {
                let Some((_, kloc, v)) = entries.iter().rev().find(|(name, _, _)| name == k) else {
                    break;
                };
                best = if at_value { v.referenced } else { *kloc };
                node = &v.value;
            }
            (Seg::Index(i), Node::Seq(items)) => {
                let Some(item) = items.get(*i) else { break };
                best = item.referenced;
                node = &item.value;
            }
            _ => break,
        }
    }
    (best.line() > 0).then(|| (best.line(), best.column()))
}

/// A located YAML node: just enough structure to find positions.
#[derive(Debug)]
pub enum Node {
    /// Any scalar or null.
    Scalar,
    /// A sequence.
    Seq(Vec<Spanned<Node>>),
    /// A mapping: key text, key position, value.
    Map(Vec<(String, Location, Spanned<Node>)>),
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i128<E>(self, _: i128) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u128<E>(self, _: u128) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(x) = a.next_element::<Spanned<Node>>()? {
            items.push(x);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = a.next_key::<Spanned<KeyText>>()? {
            let v = a.next_value::<Spanned<Node>>()?;
            entries.push((k.value.0, k.referenced, v));
        }
        Ok(Node::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

/// A mapping key as text, whatever its scalar type.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<KeyText, E> {
                Ok(KeyText(String::from_utf8_lossy(v).into_owned()))
            }
            fn visit_unit<E>(self) -> Result<KeyText, E> {
                Ok(KeyText(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `T` with every field at its default, as an empty mapping in a file gives it (for
/// sections whose fields all have defaults; constructors of SD sections use it).
pub(crate) fn defaults<T: DeserializeOwned>() -> T {
    let empty = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
        std::iter::empty::<(&str, &str)>(),
    );
    match T::deserialize(empty) {
        Ok(v) => v,
        Err(e) => unreachable!("a section without required fields: {e}"),
    }
}

/// `deserialize_with` for collections where YAML `null` (an empty value) means empty, as in
/// Go's YAML decoder.
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `deserialize_with` for string-keyed maps: `null` is empty and a repeated key is refused
/// as Go's strict decoder does (`key "a" already set in map`).
pub fn unique_map<'de, D, V>(d: D) -> Result<std::collections::BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct MapVisitor<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
        type Value = std::collections::BTreeMap<String, V>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(std::collections::BTreeMap::new())
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(std::collections::BTreeMap::new())
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            let mut m = std::collections::BTreeMap::new();
            while let Some(k) = a.next_key::<Spanned<String>>()? {
                let v = a.next_value()?;
                if m.contains_key(&k.value) {
                    // The decoder locates custom errors at the mapping; Prometheus at the key.
                    return Err(go_error(
                        format!("key {} already set in map", go_quote(&k.value)),
                        Some(k.referenced),
                    ));
                }
                m.insert(k.value, v);
            }
            Ok(m)
        }
    }
    d.deserialize_option(MapVisitor(std::marker::PhantomData))
}

/// Quotes a string the way Go's `%q` does (used in Prometheus's messages).
pub use model::gofmt::quote as go_quote;

#[cfg(test)]
mod tests {
    use super::*;

    /// One golden case per message the decoder reports: Go's text (as Prometheus prints it)
    /// and its line:column, whatever the YAML library's own wording.
    #[test]
    fn go_texts_from_typed_errors() {
        let cases: &[(&str, &str, (u64, u64))] = &[
            (
                "global:\n  nonexistent_field: 1\n",
                "field nonexistent_field not found in type config.plain",
                (2, 3),
            ),
            (
                "scrape_configs:\n  - job_name: a\n    consult_sd_configs: []\n",
                "field consult_sd_configs not found in type config.ScrapeConfig",
                (3, 5),
            ),
            (
                "scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs:\n      - role: pod\n        namespaces:\n          foo: x\n",
                "field foo not found in type kubernetes.plain",
                (6, 11),
            ),
            (
                "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - sourc_labels: [a]\n",
                "field sourc_labels not found in type relabel.plain",
                (4, 9),
            ),
            (
                "scrape_configs:\n  - job_name: a\n    ec2_sd_configs: []\n",
                "ec2_sd_configs is not supported by Firewatch",
                (3, 5),
            ),
            (
                "scrape_configs: []\nscrape_configs: []\n",
                "field scrape_configs already set in type config.plain",
                (2, 1),
            ),
            (
                "global:\n  external_labels:\n    a: x\n    a: y\n",
                "key \"a\" already set in map",
                (4, 5),
            ),
            (
                "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: labelmap\n        replacement: !!binary \"/w==$1\"\n",
                "!!binary value contains invalid base64 data",
                (5, 31),
            ),
            (
                "global:\n  external_labels:\n    a: !!binary /w==\n",
                "\"\\xff\" is not a valid label value",
                (3, 17),
            ),
            (
                "global:\n  scrape_interval: 1x\n",
                "not a valid duration string: \"1x\"",
                (2, 20),
            ),
            (
                "scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs:\n      - role: pods\n",
                "unknown Kubernetes SD role \"pods\"",
                (4, 15),
            ),
            (
                "global:\n  metric_name_validation_scheme: ascii\n",
                "unrecognized ValidationScheme: \"ascii\"",
                (2, 34),
            ),
        ];
        for (text, message, at) in cases {
            let e = decode::<crate::Config>(text, Path::new("p.yml")).unwrap_err();
            assert_eq!(e.message(), *message, "{text}");
            let pos = e.position().unwrap_or((0, 0));
            assert_eq!(pos, *at, "position of {message:?} in {text}");
        }
    }

    #[test]
    fn positions_follow_paths() {
        let text = "a:\n  - x: 1\n  - y: 2\n    z: 3\n";
        let p = |path: Vec<Seg>| position(text, &path);
        assert_eq!(p(vec![Seg::Key("a".into())]), Some((1, 1)));
        assert_eq!(
            p(vec![
                Seg::Key("a".into()),
                Seg::Index(1),
                Seg::Key("z".into())
            ]),
            Some((4, 5))
        );
        // A missing key stops at the deepest node found.
        assert_eq!(
            p(vec![
                Seg::Key("a".into()),
                Seg::Index(0),
                Seg::Key("q".into())
            ]),
            Some((2, 5))
        );
    }
}
