//! Decoding a selector's series from storage into memory, on several threads when there are
//! many: the series are taken from the set first (labels and chunk references), then their
//! samples are decoded in contiguous shares, one per thread, under one shared byte count
//! checked against the query's budget while decoding. [`par_map`] shares other per-series
//! work (range functions' windows) the same way.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use model::is_stale_nan;
use storage::{FloatBatch, Series as StoredSeries, ValueType};

use super::error::EvalError;
use super::selectors::LoadedSeries;
use crate::kernels::FPoint;
use crate::value::HPoint;

/// Fewest series decoded on more than one thread (below, a thread costs more than it saves).
const PARALLEL_MIN_SERIES: usize = 128;
/// Shortest time span (ms) from which [`PARALLEL_MIN_SERIES`] applies. A shorter selector
/// (an instant query's, a rule's) decodes about one chunk per series, so it needs
/// [`PARALLEL_MIN_SERIES_SHORT`] series before threads pay for their start.
const PARALLEL_MIN_SPAN: i64 = 3_600_000;
/// Fewest series of a short selector decoded on more than one thread.
const PARALLEL_MIN_SERIES_SHORT: usize = 4096;
/// Most threads one selector is decoded on.
const MAX_THREADS: usize = 4;
/// Points loaded between checks of the memory budget.
const BUDGET_CHECK_POINTS: usize = 4096;
/// Estimated bytes of a loaded series besides its points (labels, bookkeeping).
pub(crate) const SERIES_BYTES: usize = 256;
/// Estimated bytes of a loaded native histogram (struct, spans and buckets).
const HISTOGRAM_BYTES: usize = 256;

/// What decoding needs from the query.
pub(crate) struct Decode<'a> {
    /// Samples with `mint <= t <= maxt` are kept.
    pub(crate) mint: i64,
    pub(crate) maxt: i64,
    /// Whether counter-reset hints are detected (see `collect_stats_selectors`).
    pub(crate) stats: bool,
    /// The query's byte budget (0: none).
    pub(crate) limit: usize,
    /// Bytes the query holds, this selector's series included as they are decoded.
    pub(crate) loaded: AtomicUsize,
    pub(crate) cancel: Option<&'a AtomicBool>,
    pub(crate) deadline: Option<Instant>,
}

impl Decode<'_> {
    fn check_bytes(&self, bytes: usize) -> Result<(), EvalError> {
        if self.limit > 0 && bytes > self.limit {
            return Err(EvalError::TooMuchMemory(self.limit));
        }
        Ok(())
    }

    fn check(&self) -> Result<(), EvalError> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(EvalError::Canceled("expression evaluation"));
        }
        if self.deadline.is_some_and(|d| Instant::now() > d) {
            return Err(EvalError::Timeout("expression evaluation"));
        }
        Ok(())
    }

    /// The series with a sample in range, decoded, in the order given.
    pub(crate) fn all(
        &self,
        series: &[Box<dyn StoredSeries>],
    ) -> Result<Vec<LoadedSeries>, EvalError> {
        let threads = decode_threads(series.len(), self.maxt.saturating_sub(self.mint));
        if threads <= 1 {
            return self.share(series);
        }
        let per = series.len().div_ceil(threads);
        let shares: Vec<&[Box<dyn StoredSeries>]> = series.chunks(per).collect();
        std::thread::scope(|scope| {
            let handles: Vec<_> = shares[1..]
                .iter()
                .map(|share| scope.spawn(|| self.share(share)))
                .collect();
            let mut out = self.share(shares[0])?;
            for h in handles {
                let part = h
                    .join()
                    .map_err(|_| EvalError::exec("decoding series panicked"))??;
                out.extend(part);
            }
            Ok(out)
        })
    }

    /// Decodes `series` one after the other.
    fn share(&self, series: &[Box<dyn StoredSeries>]) -> Result<Vec<LoadedSeries>, EvalError> {
        let mut out = Vec::with_capacity(series.len());
        // Series of one selector usually have as many points as each other: the previous
        // one's count sizes the next one's buffer, which then grows without copies.
        let mut expected = 0;
        let mut batch = FloatBatch::default();
        for (i, s) in series.iter().enumerate() {
            if i % 256 == 255 {
                self.check()?;
            }
            if let Some(l) = self.one(s.as_ref(), expected, &mut batch)? {
                expected = l.floats.len();
                out.push(l);
            }
        }
        Ok(out)
    }

    /// One series' samples in range; `None` when it has none. Runs of floats are read in
    /// bulk through `batch` (one call decodes a chunk's samples).
    fn one(
        &self,
        series: &dyn StoredSeries,
        expected: usize,
        batch: &mut FloatBatch,
    ) -> Result<Option<LoadedSeries>, EvalError> {
        let mut it = series.iter();
        let mut floats = Vec::with_capacity(expected);
        let mut hists = Vec::new();
        let mut starts = Vec::new();
        let mut next_check = BUDGET_CHECK_POINTS;
        let mut vt = it.seek(self.mint);
        while vt != ValueType::None {
            let t = it.at_t();
            if t > self.maxt {
                break;
            }
            let st = it.at_st();
            if st != 0 {
                starts.push((t, st));
            }
            if vt == ValueType::Float {
                floats.push(FPoint::new(t, it.at().1));
                batch.clear();
                vt = it.read_floats(self.maxt, batch);
                floats.extend(batch.samples.iter().map(|&(t, f)| FPoint::new(t, f)));
                starts.extend_from_slice(&batch.starts);
            } else {
                hists.push(HPoint {
                    t,
                    h: Arc::new(it.at_float_histogram().1),
                });
                vt = it.next();
            }
            // The budget is checked while loading, before a long series is all in memory.
            if floats.len() + hists.len() >= next_check {
                next_check = floats.len() + hists.len() + BUDGET_CHECK_POINTS;
                self.check_bytes(
                    self.loaded
                        .load(Ordering::Relaxed)
                        .saturating_add(loaded_bytes(&floats, &hists, &starts)),
                )?;
            }
        }
        if let Some(e) = it.err() {
            return Err(EvalError::exec(e.to_string()));
        }
        drop(it);
        if self.stats {
            detect_hints(&mut hists);
        }
        if floats.is_empty() && hists.is_empty() {
            return Ok(None);
        }
        let live: Option<Vec<FPoint>> = floats.iter().any(|p| is_stale_nan(p.f)).then(|| {
            floats
                .iter()
                .filter(|p| !is_stale_nan(p.f))
                .copied()
                .collect()
        });
        // The copy without stale markers is held too.
        let bytes = loaded_bytes(&floats, &hists, &starts)
            + SERIES_BYTES
            + live.as_deref().map_or(0, size_of_val);
        let total = self
            .loaded
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        self.check_bytes(total)?;
        Ok(Some(LoadedSeries {
            non_counter_name: super::functions::non_counter_name(series.labels()),
            labels: series.labels().clone(),
            floats,
            live,
            hists,
            starts,
        }))
    }
}

/// Threads to decode `series` series over a span of `span` ms on.
fn decode_threads(series: usize, span: i64) -> usize {
    let min_series = if span >= PARALLEL_MIN_SPAN {
        PARALLEL_MIN_SERIES
    } else {
        PARALLEL_MIN_SERIES_SHORT
    };
    if series >= min_series {
        parallelism().min(MAX_THREADS)
    } else {
        1
    }
}

/// `f` of every item, in order, computed on several threads when there are many items (as
/// many as decoding would use).
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = if items.len() >= PARALLEL_MIN_SERIES {
        parallelism().min(MAX_THREADS)
    } else {
        1
    };
    if threads <= 1 {
        return items.iter().map(&f).collect();
    }
    let per = items.len().div_ceil(threads);
    let shares: Vec<&[T]> = items.chunks(per).collect();
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = shares[1..]
            .iter()
            .map(|share| scope.spawn(move || share.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out: Vec<R> = shares[0].iter().map(f).collect();
        for h in handles {
            match h.join() {
                Ok(part) => out.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// The threads available to this process, read once.
fn parallelism() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// Estimated bytes held by a loaded series' points.
fn loaded_bytes(floats: &[FPoint], hists: &[HPoint], starts: &[(i64, i64)]) -> usize {
    size_of_val(floats)
        + hists.len() * (size_of::<HPoint>() + HISTOGRAM_BYTES)
        + size_of_val(starts)
}

/// Sets unknown counter-reset hints from the previous histogram, as Prometheus's
/// statistics iterator does.
fn detect_hints(hists: &mut [HPoint]) {
    use model::histogram::CounterResetHint as H;
    for i in 1..hists.len() {
        if hists[i].h.counter_reset_hint != H::Unknown {
            continue;
        }
        let reset = super::histo::detect_reset(&hists[i].h, &hists[i - 1].h);
        Arc::make_mut(&mut hists[i].h).counter_reset_hint = if reset {
            H::CounterReset
        } else {
            H::NotCounterReset
        };
    }
}

#[cfg(test)]
mod tests {
    use model::{Labels, Sample};
    use storage::Appendable;
    use storage::memory::MemoryStorage;

    use crate::engine::{Engine, EngineOptions, EvalError};
    use crate::value::Value;

    /// Samples per series: over an hour at 15 s, so that selectors span enough for threads.
    const POINTS: i64 = 250;
    /// The time of the last sample.
    const END: i64 = (POINTS - 1) * 15_000;

    /// More series than are decoded on one thread, each with its own values.
    fn storage(series: usize) -> MemoryStorage {
        let st = MemoryStorage::new();
        let mut app = st.appender();
        for i in 0..series {
            let l = Labels::from_pairs([("__name__", "x".to_owned()), ("i", format!("{i:04}"))]);
            for s in 0..POINTS {
                app.append(
                    0,
                    &l,
                    s * 15_000,
                    Sample::Float((s * (i as i64 + 1)) as f64),
                )
                .unwrap();
            }
        }
        app.commit().unwrap();
        st
    }

    #[test]
    fn many_series_are_decoded_in_order_on_several_threads() {
        let n = 3 * super::PARALLEL_MIN_SERIES + 7;
        let st = storage(n);
        let r = Engine::default()
            .range_query(&st, "x", 0, END, 15_000)
            .unwrap();
        let Value::Matrix(m) = r.value else {
            panic!("{:?}", r.value)
        };
        assert_eq!(m.len(), n);
        for (i, s) in m.iter().enumerate() {
            assert_eq!(s.labels.get("i"), Some(format!("{i:04}").as_str()));
            let want: Vec<f64> = (0..POINTS as usize).map(|k| (k * (i + 1)) as f64).collect();
            let got: Vec<f64> = s.floats.iter().map(|p| p.f).collect();
            assert_eq!(got, want, "series {i}");
        }
    }

    /// Range functions over many series (computed on several threads) answer as step by
    /// step does.
    #[test]
    fn range_functions_over_many_series_match_step_by_step() {
        let st = storage(3 * super::PARALLEL_MIN_SERIES + 7);
        let e = Engine::default();
        for q in [
            "rate(x[1m])",
            "sum_over_time(x[2m])",
            "quantile_over_time(0.5, x[2m])",
            "deriv(x[3m])",
        ] {
            let expr = crate::parser::parse(q).unwrap();
            let fast = e.range_query(&st, q, 0, END, 30_000).unwrap();
            let reference = e
                .range_query_step_by_step(&st, &expr, q, 0, END, 30_000, None)
                .unwrap();
            let (Value::Matrix(a), Value::Matrix(b)) = (fast.value, reference.value) else {
                panic!("{q}: not matrices")
            };
            assert_eq!(a.len(), b.len(), "{q}");
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x.labels, y.labels, "{q}");
                let bits = |s: &crate::value::Series| -> Vec<(i64, u64)> {
                    s.floats.iter().map(|p| (p.t, p.f.to_bits())).collect()
                };
                assert_eq!(bits(x), bits(y), "{q} {}", x.labels);
            }
            assert_eq!(fast.annotations, reference.annotations, "{q}");
        }
    }

    /// A rule's selector (minutes of samples) over a few thousand series stays on one
    /// thread; a range query's uses several from 128 series.
    #[test]
    fn short_selectors_need_many_series_for_threads() {
        let many = super::parallelism().min(super::MAX_THREADS);
        assert_eq!(super::decode_threads(4000, 120_000), 1);
        assert_eq!(super::decode_threads(5000, 120_000), many);
        assert_eq!(super::decode_threads(127, 6 * 3_600_000), 1);
        assert_eq!(super::decode_threads(128, 6 * 3_600_000), many);
    }

    #[test]
    fn the_byte_budget_holds_across_threads() {
        let st = storage(2 * super::PARALLEL_MIN_SERIES);
        let e = Engine::new(EngineOptions {
            max_memory_bytes: 64 * super::SERIES_BYTES,
            ..EngineOptions::default()
        });
        let err = e.range_query(&st, "x", 0, END, 15_000).unwrap_err();
        assert!(matches!(err, EvalError::TooMuchMemory(_)), "{err}");
    }
}
