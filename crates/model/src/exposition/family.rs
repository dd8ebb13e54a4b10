//! Collecting a whole exposition into metric families with owned [`Labels`] series, for
//! scrape tests, linting, federation and encoders.

use std::collections::HashMap;

use super::error::{ParseError, ParseErrorKind};
use super::parser::{Entry, LabelPair, Parser};
use super::{Format, MetricType};
use crate::labels::{Labels, METRIC_NAME};

/// An exemplar with owned labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// The exemplar's labels.
    pub labels: Labels,
    /// Its value.
    pub value: f64,
    /// Its timestamp in milliseconds, if any.
    pub timestamp: Option<i64>,
}

/// One sample of a family: the full label set including `__name__`.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilySample {
    /// Labels including `__name__` (e.g. `foo_bucket` with `le`).
    pub labels: Labels,
    /// The value.
    pub value: f64,
    /// Timestamp in milliseconds, if the exposition gave one.
    pub timestamp: Option<i64>,
    /// The exemplar, if any (OpenMetrics).
    pub exemplar: Option<Exemplar>,
}

/// A metric family: its metadata and samples in exposition order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricFamily {
    /// The family name (for counters from OpenMetrics, without `_total`).
    pub name: String,
    /// The help text, if a `# HELP` line gave one.
    pub help: Option<String>,
    /// The declared type (`Unknown` without `# TYPE`).
    pub metric_type: MetricType,
    /// The unit (OpenMetrics `# UNIT`), if given.
    pub unit: Option<String>,
    /// The samples.
    pub samples: Vec<FamilySample>,
}

impl MetricFamily {
    /// A family with a name and type and no samples.
    #[must_use]
    pub fn new(name: impl Into<String>, metric_type: MetricType) -> Self {
        Self {
            name: name.into(),
            metric_type,
            ..Self::default()
        }
    }

    /// Whether a sample named `sample` belongs to this family.
    #[must_use]
    pub fn owns(&self, sample: &str) -> bool {
        match sample.strip_prefix(self.name.as_str()) {
            Some("") => true,
            Some(suffix) => self.metric_type.suffixes().contains(&suffix),
            None => false,
        }
    }
}

fn to_labels(name: Option<&str>, pairs: &[LabelPair<'_>]) -> Labels {
    let named = name.map(|n| (METRIC_NAME, n));
    Labels::from_pairs(
        named
            .into_iter()
            .chain(pairs.iter().map(|p| (p.name.as_ref(), p.value.as_ref()))),
    )
}

/// Parses a whole exposition into metric families, in order of first appearance.
///
/// Samples join the family their name belongs to by the declared type's suffixes
/// (`foo_bucket` joins histogram `foo`); others start an untyped family. Like client_golang's
/// text parser, a second `# HELP`/`# TYPE` for a family, a `# TYPE` after its samples and a
/// label name given twice on one sample are errors.
///
/// # Errors
/// The first [`ParseError`].
pub fn parse_families(buf: &[u8], format: Format) -> Result<Vec<MetricFamily>, ParseError> {
    let mut p = Parser::new(buf, format);
    let mut c = Collector::default();
    loop {
        let line = p.line();
        let Some(entry) = p.next_entry()? else {
            break;
        };
        let err = |kind| ParseError {
            line,
            column: 1,
            kind,
        };
        match entry {
            Entry::Help { name, help } => {
                let f = c.family(&name);
                if f.help.is_some() {
                    return Err(err(ParseErrorKind::DuplicateHelp(name.into_owned())));
                }
                f.help = Some(help.into_owned());
            }
            Entry::Type { name, metric_type } => {
                let existed = c.index.contains_key(name.as_ref());
                let f = c.family(&name);
                if existed && (f.metric_type != MetricType::Unknown || !f.samples.is_empty()) {
                    return Err(err(ParseErrorKind::DuplicateType(name.into_owned())));
                }
                f.metric_type = metric_type;
            }
            Entry::Unit { name, unit } => {
                let f = c.family(&name);
                if f.unit.is_some() {
                    return Err(err(ParseErrorKind::DuplicateUnit(name.into_owned())));
                }
                f.unit = Some(unit.to_owned());
            }
            // The text formats carry no native histograms.
            Entry::Comment(_) | Entry::Eof | Entry::Histogram(_) => {}
            Entry::Series(s) => {
                for (i, l) in s.labels.iter().enumerate() {
                    if l.name == METRIC_NAME || s.labels[..i].iter().any(|o| o.name == l.name) {
                        return Err(err(ParseErrorKind::DuplicateLabel {
                            metric: s.name.to_owned(),
                            label: l.name.clone().into_owned(),
                        }));
                    }
                }
                let exemplar = s.exemplar.map(|e| Exemplar {
                    labels: to_labels(None, e.labels),
                    value: e.value,
                    timestamp: e.timestamp,
                });
                c.owner(s.name).samples.push(FamilySample {
                    labels: to_labels(Some(s.name), s.labels),
                    value: s.value,
                    timestamp: s.timestamp,
                    exemplar,
                });
            }
        }
    }
    Ok(c.families)
}

#[derive(Default)]
struct Collector {
    families: Vec<MetricFamily>,
    index: HashMap<String, usize>,
    current: Option<usize>,
}

impl Collector {
    /// The family named `name`, created untyped if new; it becomes the current one.
    fn family(&mut self, name: &str) -> &mut MetricFamily {
        let families = &mut self.families;
        let i = *self.index.entry(name.to_owned()).or_insert_with(|| {
            families.push(MetricFamily::new(name, MetricType::Unknown));
            families.len() - 1
        });
        self.current = Some(i);
        &mut self.families[i]
    }

    /// The family a sample named `name` belongs to.
    fn owner(&mut self, name: &str) -> &mut MetricFamily {
        if let Some(c) = self.current.filter(|&c| self.families[c].owns(name)) {
            return &mut self.families[c];
        }
        match find_owner(&self.families, &self.index, name) {
            Some(i) => {
                self.current = Some(i);
                &mut self.families[i]
            }
            None => self.family(name),
        }
    }
}

/// The existing family a sample name belongs to: by exact name, or by a suffix its type owns.
fn find_owner(
    families: &[MetricFamily],
    index: &HashMap<String, usize>,
    name: &str,
) -> Option<usize> {
    if let Some(&i) = index.get(name) {
        return Some(i);
    }
    let cut = name.rfind('_')?;
    let &i = index.get(&name[..cut])?;
    families[i].owns(name).then_some(i)
}
