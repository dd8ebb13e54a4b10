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
pub(crate) const MAX_THREADS: usize = 4;
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
        // A little room over the previous series' count: a window one sample longer would
        // otherwise copy the buffer into one twice its size.
        let mut l = LoadedSeries {
            labels: series.labels().clone(),
            floats: Vec::with_capacity(expected + expected / 16 + 2),
            live: None,
            hists: Vec::new(),
            non_counter_name: false,
            starts: Vec::new(),
        };
        let bytes = self.fill(series, &mut l, batch)?;
        if l.floats.is_empty() && l.hists.is_empty() {
            return Ok(None);
        }
        let total = self
            .loaded
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        self.check_bytes(total)?;
        Ok(Some(l))
    }

    /// Decodes one series' samples in range into `l` (its buffers cleared first, their
    /// capacity kept), and returns the bytes it holds. The budget is checked against the
    /// query's bytes plus this series' while decoding.
    fn fill(
        &self,
        series: &dyn StoredSeries,
        l: &mut LoadedSeries,
        batch: &mut FloatBatch,
    ) -> Result<usize, EvalError> {
        l.floats.clear();
        l.hists.clear();
        l.starts.clear();
        l.live = None;
        let (floats, hists, starts) = (&mut l.floats, &mut l.hists, &mut l.starts);
        let mut it = series.iter();
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
                        .saturating_add(loaded_bytes(floats, hists, starts)),
                )?;
            }
        }
        if let Some(e) = it.err() {
            return Err(EvalError::exec(e.to_string()));
        }
        drop(it);
        if self.stats {
            detect_hints(hists);
        }
        l.live = floats.iter().any(|p| is_stale_nan(p.f)).then(|| {
            floats
                .iter()
                .filter(|p| !is_stale_nan(p.f))
                .copied()
                .collect()
        });
        l.labels = series.labels().clone();
        l.non_counter_name = super::functions::non_counter_name(series.labels());
        // The copy without stale markers is held too.
        Ok(loaded_bytes(floats, hists, starts)
            + SERIES_BYTES
            + l.live.as_deref().map_or(0, size_of_val))
    }

    /// `f` of each series with a sample in range, in the order given, each decoded into
    /// buffers reused from one series to the next and dropped after `f` (so a selector's
    /// samples are never all in memory at once, and stay in the cache between decoding and
    /// `f`); on several threads when there are many series, as [`Decode::all`]. `Ok(None)`
    /// as soon as `f` gives `None` for a series (the caller takes another way).
    pub(crate) fn map<R: Send>(
        &self,
        series: &[Box<dyn StoredSeries>],
        f: impl Fn(&LoadedSeries) -> Option<R> + Sync,
    ) -> Result<Option<Vec<R>>, EvalError> {
        let stop = AtomicBool::new(false);
        let share = |share: &[Box<dyn StoredSeries>]| -> Result<Vec<R>, EvalError> {
            let mut out = Vec::with_capacity(share.len());
            self.map_share(share, &f, &stop, &mut Scratch::default(), &mut out)?;
            Ok(out)
        };
        let threads = decode_threads(series.len(), self.maxt.saturating_sub(self.mint));
        let out = if threads <= 1 {
            share(series)?
        } else {
            let per = series.len().div_ceil(threads);
            let shares: Vec<&[Box<dyn StoredSeries>]> = series.chunks(per).collect();
            let share = &share;
            std::thread::scope(|scope| {
                let handles: Vec<_> = shares[1..]
                    .iter()
                    .map(|s| scope.spawn(move || share(s)))
                    .collect();
                let mut out = share(shares[0]);
                for h in handles {
                    let part = h
                        .join()
                        .map_err(|_| EvalError::exec("decoding series panicked"))?;
                    if let Ok(v) = out.as_mut() {
                        v.extend(part?);
                    }
                }
                out
            })?
        };
        Ok((!stop.load(Ordering::Relaxed)).then_some(out))
    }

    /// [`Decode::map`] of `series` on the calling thread, appended to `out`, with buffers
    /// kept in `scratch` from one call to the next. Stops early (`stop` set) when `f` gives
    /// `None`, or when `stop` is set by another thread.
    pub(crate) fn map_share<R>(
        &self,
        series: &[Box<dyn StoredSeries>],
        f: &impl Fn(&LoadedSeries) -> Option<R>,
        stop: &AtomicBool,
        scratch: &mut Scratch,
        out: &mut Vec<R>,
    ) -> Result<(), EvalError> {
        let Scratch { series: l, batch } = scratch;
        for (i, s) in series.iter().enumerate() {
            if i % 256 == 255 {
                self.check()?;
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
            self.fill(s.as_ref(), l, batch)?;
            if l.floats.is_empty() && l.hists.is_empty() {
                continue;
            }
            match f(l) {
                Some(r) => out.push(r),
                None => {
                    stop.store(true, Ordering::Relaxed);
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Buffers one thread decodes series into, one series after the other (their capacity kept).
pub(crate) struct Scratch {
    series: LoadedSeries,
    batch: FloatBatch,
}

impl Default for Scratch {
    fn default() -> Self {
        Self {
            series: LoadedSeries {
                labels: model::Labels::empty(),
                floats: Vec::new(),
                live: None,
                hists: Vec::new(),
                non_counter_name: false,
                starts: Vec::new(),
            },
            batch: FloatBatch::default(),
        }
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
pub(crate) fn parallelism() -> usize {
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
    use std::sync::Arc;

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

    /// A range function over many float series with native histograms among them: the
    /// series decoded one after the other for their windows give way to the step-by-step
    /// evaluation, whose answer it is.
    #[test]
    fn histograms_among_floats_answer_as_step_by_step() {
        let n = 3 * super::PARALLEL_MIN_SERIES + 7;
        let st = storage(n);
        let mut app = st.appender();
        let l = Labels::from_pairs([("__name__", "x".to_owned()), ("i", "0200h".to_owned())]);
        for s in 0..POINTS {
            let h = model::FloatHistogram {
                count: (s * 3) as f64,
                sum: (s * 5) as f64,
                ..model::FloatHistogram::default()
            };
            app.append(0, &l, s * 15_000, Sample::FloatHistogram(Arc::new(h)))
                .unwrap();
        }
        app.commit().unwrap();
        let e = Engine::default();
        let q = "rate(x[1m])";
        let expr = crate::parser::parse(q).unwrap();
        let fast = e.range_query(&st, q, 0, END, 30_000).unwrap();
        let reference = e
            .range_query_step_by_step(&st, &expr, q, 0, END, 30_000, None)
            .unwrap();
        assert_eq!(
            format!("{:?}", fast.value),
            format!("{:?}", reference.value)
        );
        let Value::Matrix(m) = fast.value else {
            panic!("not a matrix")
        };
        assert_eq!(m.len(), n + 1);
        assert!(m.iter().any(|s| !s.histograms.is_empty()));
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
