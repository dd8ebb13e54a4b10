//! [`Out`]: the samples of one scrape, grouped into families by name (client_golang's registry
//! `Gather`), kept as spans of one text buffer, and written straight to the text exposition
//! format — sorted and de-duplicated as `promhttp` writes node_exporter's output — without a
//! label set or family vector per sample.

use std::collections::HashMap;

use model::exposition::{
    FamilySample, MetricFamily, MetricType, write_escaped, write_float, write_name,
    write_series_pairs,
};
use model::labels::{Labels, METRIC_NAME};

/// A byte range of [`Out`]'s text buffer.
type Span = (u32, u32);

/// One family: its name, help text and type (spans of the text buffer).
#[derive(Debug)]
struct Family {
    name: Span,
    help: Option<Span>,
    metric_type: MetricType,
}

/// One sample: its family, its label pairs (a range of [`Out::pairs`], sorted by name with
/// `__name__` among them) and its value.
#[derive(Debug)]
struct Sample {
    family: u32,
    pairs: (u32, u32),
    value: f64,
}

/// Samples of one scrape, grouped into families by name (first help text wins, as in
/// client_golang's registry).
#[derive(Debug, Default)]
pub struct Out {
    families: Vec<Family>,
    index: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    samples: Vec<Sample>,
    /// Label pairs as (name, value) spans, each sample's sorted by name.
    pairs: Vec<(Span, Span)>,
    /// Every name, help text and label of the scrape, one after the other.
    text: String,
}

/// Label pairs a sample has on the stack before they go to the heap.
const INLINE_PAIRS: usize = 12;

impl Out {
    /// Appends a gauge sample.
    pub fn gauge(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.push(name, help, MetricType::Gauge, labels, value);
    }

    /// Appends a counter sample.
    pub fn counter(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.push(name, help, MetricType::Counter, labels, value);
    }

    /// Appends an untyped sample.
    pub fn untyped(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.push(name, help, MetricType::Unknown, labels, value);
    }

    /// Appends a sample of `metric_type` (the family's first type and help text stay).
    pub fn push(
        &mut self,
        name: &str,
        help: &str,
        metric_type: MetricType,
        labels: &[(&str, &str)],
        value: f64,
    ) {
        let family = self.family(name, Some(help), metric_type);
        let n = labels.len() + 1;
        if n <= INLINE_PAIRS {
            let mut buf = [("", ""); INLINE_PAIRS];
            buf[0] = (METRIC_NAME, name);
            buf[1..n].copy_from_slice(labels);
            self.sample(family, &mut buf[..n], value);
        } else {
            let mut v: Vec<(&str, &str)> = Vec::with_capacity(n);
            v.push((METRIC_NAME, name));
            v.extend_from_slice(labels);
            self.sample(family, &mut v, value);
        }
    }

    /// Appends whole families (the textfile collector's): their samples join a family of the
    /// same name, or the family is added with its help text and type.
    pub fn extend(&mut self, families: Vec<MetricFamily>) {
        for f in families {
            let family = self.family(&f.name, f.help.as_deref(), f.metric_type);
            for s in &f.samples {
                let mut v: Vec<(&str, &str)> = s.labels.iter().map(|l| (l.name, l.value)).collect();
                self.sample(family, &mut v, s.value);
            }
        }
    }

    /// Whether a family of that name exists.
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Number of families so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.families.len()
    }

    /// Whether nothing was emitted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.families.is_empty()
    }

    /// The families, sorted by name with samples sorted by label values (client_golang's
    /// order), duplicates of a series dropped.
    #[must_use]
    pub fn into_families(self) -> Vec<MetricFamily> {
        let mut fams: Vec<MetricFamily> = self
            .families
            .iter()
            .map(|f| {
                let mut m = MetricFamily::new(self.str(f.name), f.metric_type);
                m.help = f.help.map(|h| self.str(h).to_owned());
                m
            })
            .collect();
        for s in &self.samples {
            fams[s.family as usize].samples.push(FamilySample {
                labels: Labels::from_sorted(self.labels(s)),
                value: s.value,
                timestamp: None,
                exemplar: None,
            });
        }
        fams.sort_by(|a, b| a.name.cmp(&b.name));
        for f in &mut fams {
            f.samples.sort_by(|a, b| {
                a.labels
                    .iter()
                    .map(|l| (l.name, l.value))
                    .cmp(b.labels.iter().map(|l| (l.name, l.value)))
            });
            f.samples.dedup_by(|a, b| a.labels == b.labels);
        }
        fams
    }

    /// Appends the families in the text exposition format 0.0.4, as
    /// `encode(&self.into_families(), Format::Text)` would write them.
    pub fn write_text(&self, out: &mut String) {
        let mut families: Vec<u32> = (0..self.families.len() as u32).collect();
        families.sort_unstable_by(|&a, &b| self.family_name(a).cmp(self.family_name(b)));
        let mut rank = vec![0u32; families.len()];
        for (r, &f) in families.iter().enumerate() {
            rank[f as usize] = r as u32;
        }
        let mut samples: Vec<u32> = (0..self.samples.len() as u32).collect();
        // Stable: of a series emitted twice, the first stays (as `dedup_by` keeps it).
        samples.sort_by(|&a, &b| {
            let (sa, sb) = (&self.samples[a as usize], &self.samples[b as usize]);
            rank[sa.family as usize]
                .cmp(&rank[sb.family as usize])
                .then_with(|| self.labels(sa).cmp(self.labels(sb)))
        });
        let mut next = samples
            .iter()
            .map(|&i| &self.samples[i as usize])
            .peekable();
        for &fi in &families {
            let f = &self.families[fi as usize];
            let name = self.str(f.name);
            if let Some(help) = f.help {
                out.push_str("# HELP ");
                write_name(out, name);
                out.push(' ');
                write_escaped(out, self.str(help), false);
                out.push('\n');
            }
            out.push_str("# TYPE ");
            write_name(out, name);
            out.push(' ');
            out.push_str(f.metric_type.as_str(model::exposition::Format::Text));
            out.push('\n');
            let mut previous: Option<&Sample> = None;
            while let Some(s) = next.next_if(|s| s.family == fi) {
                if previous.is_some_and(|p| self.labels(p).eq(self.labels(s))) {
                    continue;
                }
                previous = Some(s);
                self.write_sample(out, s);
            }
        }
    }

    /// One sample line: the series as `model`'s encoder writes it, and the value.
    fn write_sample(&self, out: &mut String, s: &Sample) {
        write_series_pairs(out, self.labels(s));
        out.push(' ');
        write_float(out, s.value);
        out.push('\n');
    }

    /// The family of `name`, added with `help` and `metric_type` when new.
    fn family(&mut self, name: &str, help: Option<&str>, metric_type: MetricType) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let name_span = self.put(name);
        let help = help.map(|h| self.put(h));
        let i = self.families.len() as u32;
        self.families.push(Family {
            name: name_span,
            help,
            metric_type,
        });
        self.index.insert(name.into(), i);
        i
    }

    /// Adds a sample of `family` with `pairs` (any order; of equal names the last stays, as
    /// [`Labels::from_pairs`] keeps it).
    fn sample(&mut self, family: u32, pairs: &mut [(&str, &str)], value: f64) {
        // Stable, so that of equal names the later one ends last in its run.
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        let start = self.pairs.len() as u32;
        for (i, &(n, v)) in pairs.iter().enumerate() {
            if pairs.get(i + 1).is_some_and(|next| next.0 == n) {
                continue;
            }
            let pair = (self.put(n), self.put(v));
            self.pairs.push(pair);
        }
        self.samples.push(Sample {
            family,
            pairs: (start, self.pairs.len() as u32),
            value,
        });
    }

    /// Appends `s` to the text buffer and returns where it is.
    fn put(&mut self, s: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        (start, self.text.len() as u32)
    }

    fn str(&self, (a, b): Span) -> &str {
        &self.text[a as usize..b as usize]
    }

    fn family_name(&self, i: u32) -> &str {
        self.str(self.families[i as usize].name)
    }

    /// A sample's label pairs, sorted by name.
    fn labels<'a>(&'a self, s: &Sample) -> impl Iterator<Item = (&'a str, &'a str)> + Clone + 'a {
        self.pairs[s.pairs.0 as usize..s.pairs.1 as usize]
            .iter()
            .map(|&(n, v)| (self.str(n), self.str(v)))
    }
}

#[cfg(test)]
mod tests {
    use model::exposition::{Format, encode, parse_families};

    use super::*;

    /// A scrape with what the collectors emit: families out of order, a family emitted in
    /// pieces, a series twice, many labels, a duplicate label name, escapes, names that are
    /// not legacy ones, and the textfile collector's families (histogram, no help, empty).
    fn sample_out() -> Out {
        let mut out = Out::default();
        out.gauge(
            "node_b",
            "B help \\ with\nnewline",
            &[("device", "sdb")],
            2.5,
        );
        out.counter("node_a_total", "A.", &[("x", "2"), ("a", "q\"uote")], 1e6);
        out.gauge("node_b", "other help", &[("device", "sda")], f64::NAN);
        out.gauge("node_b", "B", &[("device", "sda")], 7.0);
        out.counter("node_a_total", "A.", &[("x", "10"), ("a", "")], -0.0);
        out.untyped("node.dotted", "", &[("la.bel", "v\\\n")], f64::INFINITY);
        out.gauge("node_dup", "dup", &[("l", "1"), ("l", "2")], 1.0);
        let many: Vec<(String, String)> = (0..15)
            .map(|i| (format!("l{i:02}"), format!("v{}", 15 - i)))
            .collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        out.gauge("node_many", "many", &many, 0.125);
        out.gauge(
            "node_Upper",
            "U",
            &[("Z", "z"), ("_a", "a"), ("b", "b")],
            3.0,
        );
        let text = "# HELP tf_h A histogram.\n# TYPE tf_h histogram\n\
                    tf_h_bucket{le=\"1\"} 1\ntf_h_bucket{le=\"+Inf\"} 2\ntf_h_sum 3\ntf_h_count 2\n\
                    # TYPE tf_empty gauge\n\
                    tf_nohelp{a=\"b\"} 4\n\
                    node_b{device=\"sdc\"} 9\n";
        out.extend(parse_families(text.as_bytes(), Format::Text).expect("parse"));
        out
    }

    #[test]
    fn text_is_what_the_model_encoder_writes_of_the_families() {
        let mut direct = String::new();
        sample_out().write_text(&mut direct);
        let encoded = encode(&sample_out().into_families(), Format::Text);
        assert_eq!(direct, encoded);
        assert!(direct.contains("node_b{device=\"sda\"} NaN\n"), "{direct}");
        assert!(!direct.contains("node_b{device=\"sda\"} 7\n"), "{direct}");
        assert!(direct.contains("node_dup{l=\"2\"} 1\n"), "{direct}");
    }

    #[test]
    fn families_keep_the_first_help_and_count() {
        let out = sample_out();
        assert!(out.has("node_b") && !out.has("node_c"));
        let fams = out.into_families();
        let b = fams.iter().find(|f| f.name == "node_b").expect("node_b");
        assert_eq!(b.help.as_deref(), Some("B help \\ with\nnewline"));
        assert_eq!(b.samples.len(), 3);
        let names: Vec<&str> = fams.iter().map(|f| f.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }

    #[test]
    fn empty_out_writes_nothing() {
        let mut s = String::new();
        Out::default().write_text(&mut s);
        assert!(s.is_empty() && Out::default().is_empty());
    }
}
