//! A targeted-quantile stream (Cormode, Korn, Muthukrishnan, Srivastava: "Effective
//! Computation of Biased Quantiles over Data Streams"), the algorithm behind client_golang's
//! summaries: each objective `(q, ε)` is answered within rank error `ε·n`, in memory that grows
//! with `log(εn)/ε`, not with `n`.
//!
//! Values are buffered and merged in sorted batches; until the first merge a query reads the
//! exact sorted buffer, as client_golang's stream does.

/// Values buffered before a merge.
const BUFFER: usize = 500;

/// One kept value: `width` observations are represented by it, `delta` is its rank slack.
#[derive(Debug, Clone, Copy)]
struct Tuple {
    value: f64,
    width: f64,
    delta: f64,
}

/// A stream answering a fixed set of quantiles.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    /// `(quantile, allowed error)`.
    targets: Vec<(f64, f64)>,
    /// Observations merged so far.
    n: f64,
    kept: Vec<Tuple>,
    buffer: Vec<f64>,
    sorted: bool,
}

impl Stream {
    pub(crate) fn new(targets: &[(f64, f64)]) -> Self {
        Self {
            targets: targets.to_vec(),
            n: 0.0,
            kept: Vec::new(),
            buffer: Vec::with_capacity(BUFFER),
            sorted: true,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.n = 0.0;
        self.kept.clear();
        self.buffer.clear();
        self.sorted = true;
    }

    pub(crate) fn insert(&mut self, v: f64) {
        self.buffer.push(v);
        self.sorted = false;
        if self.buffer.len() == BUFFER {
            self.flush();
        }
    }

    /// The allowed rank error at rank `r` (the minimum over the targets).
    fn allowed(&self, r: f64) -> f64 {
        let mut m = f64::MAX;
        for &(q, eps) in &self.targets {
            let f = if q * self.n <= r {
                2.0 * eps * r / q
            } else {
                2.0 * eps * (self.n - r) / (1.0 - q)
            };
            m = m.min(f);
        }
        m
    }

    fn sort_buffer(&mut self) {
        if !self.sorted {
            self.buffer.sort_by(f64::total_cmp);
            self.sorted = true;
        }
    }

    fn flush(&mut self) {
        self.sort_buffer();
        let batch = std::mem::take(&mut self.buffer);
        self.merge(&batch);
        self.buffer = batch;
        self.buffer.clear();
    }

    /// Merges sorted values, then compresses.
    fn merge(&mut self, values: &[f64]) {
        let mut r = 0.0;
        let mut i = 0;
        let mut merged = Vec::with_capacity(self.kept.len() + values.len());
        for &v in values {
            while i < self.kept.len() && self.kept[i].value <= v {
                r += self.kept[i].width;
                merged.push(self.kept[i]);
                i += 1;
            }
            let delta = if i < self.kept.len() {
                (self.allowed(r).floor() - 1.0).max(0.0)
            } else {
                0.0
            };
            merged.push(Tuple {
                value: v,
                width: 1.0,
                delta,
            });
            self.n += 1.0;
            r += 1.0;
        }
        merged.extend_from_slice(&self.kept[i..]);
        self.kept = merged;
        self.compress();
    }

    /// Folds each tuple into its successor where the error bound allows.
    fn compress(&mut self) {
        if self.kept.len() < 2 {
            return;
        }
        let mut out: Vec<Tuple> = Vec::with_capacity(self.kept.len());
        let mut x = self.kept[self.kept.len() - 1];
        let mut r = self.n - 1.0 - x.width;
        for i in (0..self.kept.len() - 1).rev() {
            let c = self.kept[i];
            if c.width + x.width + x.delta <= self.allowed(r) {
                x.width += c.width;
            } else {
                out.push(x);
                x = c;
            }
            r -= c.width;
        }
        out.push(x);
        out.reverse();
        self.kept = out;
    }

    /// The value at quantile `q` (NaN when empty).
    pub(crate) fn query(&mut self, q: f64) -> f64 {
        if self.kept.is_empty() {
            if self.buffer.is_empty() {
                return f64::NAN;
            }
            // Exact over the few values seen so far.
            self.sort_buffer();
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let i = ((self.buffer.len() as f64 * q).ceil() as usize).saturating_sub(1);
            return self.buffer[i.min(self.buffer.len() - 1)];
        }
        self.flush();
        let mut t = (q * self.n).ceil();
        t += (self.allowed(t) / 2.0).ceil();
        let mut prev = self.kept[0];
        let mut r = 0.0;
        for &c in &self.kept[1..] {
            r += prev.width;
            if r + c.width + c.delta > t {
                return prev.value;
            }
            prev = c;
        }
        prev.value
    }

    #[cfg(test)]
    fn kept_len(&self) -> usize {
        self.kept.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic permutation of 0..n.
    fn shuffled(n: u64) -> Vec<f64> {
        // Multiplying by a number coprime with n permutes the residues.
        #[allow(clippy::cast_precision_loss)]
        (0..n).map(|i| ((i * 7_919) % n) as f64).collect()
    }

    #[test]
    fn answers_within_the_objectives_errors() {
        let targets = [(0.5, 0.05), (0.9, 0.01), (0.99, 0.001)];
        let mut s = Stream::new(&targets);
        let n = 100_000;
        for v in shuffled(n) {
            s.insert(v);
        }
        #[allow(clippy::cast_precision_loss)]
        for (q, eps) in targets {
            let got = s.query(q);
            let want = q * n as f64;
            assert!(
                (got - want).abs() <= eps * n as f64 + 1.0,
                "q={q}: got {got}, want {want} ± {}",
                eps * n as f64
            );
        }
        assert!(s.kept_len() < 5_000, "kept {} tuples", s.kept_len());
    }

    #[test]
    fn few_values_are_exact_and_empty_is_nan() {
        let mut s = Stream::new(&[(0.5, 0.05)]);
        assert!(s.query(0.5).is_nan());
        for v in [3.0, 1.0, 2.0, 4.0] {
            s.insert(v);
        }
        assert!((s.query(0.5) - 2.0).abs() < f64::EPSILON);
        assert!((s.query(0.99) - 4.0).abs() < f64::EPSILON);
        s.reset();
        assert!(s.query(0.5).is_nan());
    }
}
